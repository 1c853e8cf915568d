"""``train-tracker`` and ``trainability``: the grounding tracker from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .app import app

console = Console(stderr=True)


def _threads(threads: Optional[int]) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _say(message: str) -> None:
    console.print(escape(message), highlight=False, soft_wrap=True)


def _fractions(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, e.g. 0.1,0.5,1.0; got {value!r}") from None


_THREADS = typer.Option(None, "--threads", help="torch CPU threads (default: torch's choice).")


@app.command("train-tracker")
def train_tracker(
    data: Path = typer.Option(..., "--data", help="Real training split (a split folder with frames).", exists=True),
    out: Path = typer.Option(..., "--out", help="Output folder (checkpoints, final/, loss.png, report.json)."),
    val_data: Optional[Path] = typer.Option(None, "--val-data", exists=True,
                                            help="Validation split: TrackAP and SOT are reported at the end."),
    extra_data: List[Path] = typer.Option([], "--extra-data", exists=True,
                                          help="More training splits, e.g. generated clips (repeatable)."),
    train_fraction: float = typer.Option(1.0, "--train-fraction", help="Use a seeded random fraction of --data."),
    clip_list: Optional[Path] = typer.Option(None, "--clip-list", exists=True,
                                             help="Use only these clips of --data (a file, one name per line)."),
    steps: int = typer.Option(3000, "--steps", help="Gradient steps."),
    clips_per_batch: int = typer.Option(8, "--clips-per-batch"),
    frames_per_clip: int = typer.Option(4, "--frames-per-clip"),
    learning_rate: float = typer.Option(3e-3, "--lr"),
    min_visibility: float = typer.Option(0.25, "--min-visibility",
                                         help="Objects less visible than this are ignored by the losses."),
    seed: int = typer.Option(0, "--seed"),
    threads: Optional[int] = _THREADS,
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train (or resume) the grounding tracker that scores generated clips."""
    from ..evaluation.tracker.train import REPORT_FILE, TrackerTrainConfig
    from ..evaluation.tracker.train import train_tracker as run

    _threads(threads)
    cfg = TrackerTrainConfig(data=str(data), output_dir=str(out), val_data=str(val_data) if val_data else None,
                             extra_data=[str(p) for p in extra_data], train_fraction=train_fraction,
                             clip_list=str(clip_list) if clip_list else None, max_steps=steps,
                             clips_per_batch=clips_per_batch, frames_per_clip=frames_per_clip,
                             learning_rate=learning_rate, min_visibility=min_visibility, seed=seed)
    try:
        final = run(cfg, progress=not quiet, log=_say)
    except (ValueError, KeyError, OSError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    _say(f"tracker: {final}")
    if val_data:
        report = json.loads((out / REPORT_FILE).read_text())
        typer.echo(f"val TrackAP {report['AP']:.2f}  AP50 {report['AP50']:.2f}  AP75 {report['AP75']:.2f}  "
                   f"Success {report['success']:.2f}  NormPrecision {report['norm_precision']:.2f}  "
                   f"({report['clips']} clips of {val_data})")


@app.command()
def trainability(
    real: Path = typer.Option(..., "--real", help="Real training split.", exists=True),
    generated: Path = typer.Option(..., "--generated", help="Clips generated from the real split's tracklets.",
                                   exists=True),
    val: Path = typer.Option(..., "--val", help="Real validation split.", exists=True),
    out: Path = typer.Option(..., "--out", help="Output folder (runs/, trainability.json/.md/.png)."),
    fractions: str = typer.Option("0.1,0.5,0.75,1.0", "--fractions", callback=_fractions,
                                  help="Comma-separated fractions of the real training clips."),
    steps: int = typer.Option(1500, "--steps", help="Gradient steps of every run."),
    seed: int = typer.Option(0, "--seed"),
    threads: Optional[int] = _THREADS,
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Train the grounding tracker on fractions of the real clips with and without generated clips (Tables 2-3)."""
    from ..evaluation.trainability import TrainabilityConfig, run_trainability

    _threads(threads)
    cfg = TrainabilityConfig(real=str(real), generated=str(generated), val=str(val), output_dir=str(out),
                             fractions=fractions, steps=steps, seed=seed)
    try:
        result = run_trainability(cfg, progress=not quiet, log=_say)
    except (ValueError, KeyError, OSError) as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    typer.echo(result.report.to_markdown())
    _say(f"wrote {out / 'trainability.json'}, {out / 'trainability.md'} and {result.plot}")
