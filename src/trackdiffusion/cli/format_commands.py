"""``convert`` and ``validate``: data set formats from the command line."""

from __future__ import annotations

import inspect
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..tracklets.dataset import TrackletDataset
from ..tracklets.errors import TrackletError
from ..tracklets.formats import FORMATS, detect_format, read_tracklets, write_tracklets
from .app import app

FormatName = Enum("FormatName", {name: name for name in FORMATS}, type=str)

_FROM = typer.Option(None, "--from", help="Format of SRC (detected when omitted).")
_FORMAT = typer.Option(None, "--format", help="Format of PATH (detected when omitted).")
_WIDTH = typer.Option(None, help="Frame width for files that do not record it (MOT15, GOT-10k, BDD100K).")
_HEIGHT = typer.Option(None, help="Frame height for files that do not record it.")


def summary(dataset: TrackletDataset) -> str:
    """``N clips, M instances, K boxes``."""
    instances = [inst for clip in dataset.clips for inst in clip.instances]
    boxes = sum(int(inst.present.sum()) for inst in instances)
    return f"{len(dataset.clips)} clips, {len(instances)} instances, {boxes} boxes"


def _read(path: Path, format: Optional[FormatName], width: Optional[int],
          height: Optional[int]) -> tuple[TrackletDataset, str]:
    """Read ``path``; the size options go to the readers that take them."""
    name = format.value if format else detect_format(path)
    options = {key: value for key, value in (("width", width), ("height", height)) if value is not None}
    unused = sorted(set(options) - set(inspect.signature(FORMATS[name].read).parameters))
    if unused:
        raise typer.BadParameter(f"--{'/--'.join(unused)} does not apply to {name} (its files record the size)")
    return read_tracklets(path, name, **options), name


def _report(error: TrackletError, err: bool) -> None:
    for problem in error.problems:
        typer.echo(str(problem), err=err)


@app.command()
def convert(src: Path = typer.Argument(..., help="Data set to read (file or folder)."),
            dst: Path = typer.Argument(..., help="Where to write (a .json file or a folder, per format)."),
            to: FormatName = typer.Option(..., "--to", help="Format to write."),
            from_: Optional[FormatName] = _FROM,
            width: Optional[int] = _WIDTH, height: Optional[int] = _HEIGHT) -> None:
    """Convert tracklets from one format to another (exit 1 and list the problems on bad input)."""
    try:
        dataset, name = _read(src, from_, width, height)
    except TrackletError as error:
        _report(error, err=True)
        raise typer.Exit(1) from None
    write_tracklets(dataset, dst, to.value)
    typer.echo(f"converted {name} -> {to.value}: {summary(dataset)} written to {dst}")


@app.command()
def validate(path: Path = typer.Argument(..., help="Data set to check (file or folder)."),
             format: Optional[FormatName] = _FORMAT,
             width: Optional[int] = _WIDTH, height: Optional[int] = _HEIGHT) -> None:
    """Check a data set: one line per problem (``file: record: field: message``) and exit 1, or a summary."""
    try:
        dataset, name = _read(path, format, width, height)
    except TrackletError as error:
        _report(error, err=False)
        raise typer.Exit(1) from None
    typer.echo(f"valid {name}: {summary(dataset)}")
