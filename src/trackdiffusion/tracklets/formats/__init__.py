"""Data set formats: read any of them into a :class:`TrackletDataset`, write it back out.

Each module has ``read(path, **options)`` and ``write(dataset, path)``; a read followed by a
write and a second read gives an equal data set (see :func:`compare_datasets`) for everything the
format carries. Readers validate through :class:`~trackdiffusion.tracklets.builder.ClipBuilder`,
so bad input raises one :class:`~trackdiffusion.tracklets.errors.TrackletError` listing every
problem as ``file: record: field: message``.

The project's own split layout (written by the synthetic world and by generation)::

    D/cocovid.json          file_name = frames/<clip>/000000.png, relative to D
    D/ytvis.json
    D/mot/<clip>/gt/gt.txt, D/mot/<clip>/seqinfo.ini
    D/frames/<clip>/000000.png ...

``read_tracklets(D)`` reads ``D/cocovid.json`` with ``D`` as image root; :func:`write_split`
writes the three annotation files (the frames are the caller's).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..dataset import TrackletDataset
from . import bdd, cocovid, got10k, mot, tao, ytvis
from .compare import compare_datasets
from .detect import detect_format

#: Format name -> module with ``read(path, **options)`` and ``write(dataset, path)``.
FORMATS: dict[str, ModuleType] = {"cocovid": cocovid, "ytvis": ytvis, "mot": mot, "got10k": got10k, "bdd": bdd}

read_ytvis_results = ytvis.read_results
write_ytvis_results = ytvis.write_results
read_tao_results = tao.read_results
write_tao_results = tao.write_results
read_mot_results = mot.read_results
write_mot_results = mot.write_results


def _module(format: str) -> ModuleType:
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    return FORMATS[format]


def read_tracklets(path: str | Path, format: str | None = None, *, image_root: str | Path | None = None,
                   **options) -> TrackletDataset:
    """Read ``path`` as ``format`` (detected when None); ``options`` go to the format's reader.

    ``image_root`` sets the folder frame names are relative to, for formats whose files do not
    imply it (a plain CocoVID, YouTube-VIS or BDD100K json).
    """
    dataset = _module(format or detect_format(path)).read(path, **options)
    if image_root is not None:
        dataset.image_root = str(image_root)
    return dataset


def write_tracklets(dataset: TrackletDataset, path: str | Path, format: str) -> None:
    """Write ``dataset`` to ``path`` in ``format``."""
    _module(format).write(dataset, path)


def write_split(dataset: TrackletDataset, directory: str | Path) -> None:
    """Write the annotation files of the project's split layout into ``directory``.

    ``cocovid.json``, ``ytvis.json`` and ``mot/<clip>/``; the clips' frame names should be
    ``frames/<clip>/000000.png`` (relative to ``directory``), where the caller writes the frames.
    """
    directory = Path(directory)
    cocovid.write(dataset, directory / cocovid.DEFAULT_NAME)
    ytvis.write(dataset, directory / ytvis.DEFAULT_NAME)
    mot.write(dataset, directory / "mot")


__all__ = [
    "FORMATS", "compare_datasets", "detect_format", "read_mot_results", "read_tao_results", "read_tracklets",
    "read_ytvis_results", "write_mot_results", "write_split", "write_tao_results", "write_tracklets",
    "write_ytvis_results",
]
