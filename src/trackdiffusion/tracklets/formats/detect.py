"""Which format a path holds, from its name, its folder layout or its JSON content."""

from __future__ import annotations

from pathlib import Path

from ..errors import FormatError
from .common import load_json


def detect_format(path: str | Path) -> str:
    """The name of the format (a key of :data:`~trackdiffusion.tracklets.formats.FORMATS`) at ``path``.

    Files: ``.json`` by content (``images``: cocovid, ``videos``: ytvis, a list of frames: bdd),
    ``groundtruth.txt``/``list.txt``: got10k, other ``.txt``: mot. Folders: ``cocovid.json`` (the
    project's split layout) or ``ytvis.json``, ``gt/gt.txt`` or sequences holding one (mot),
    ``groundtruth.txt``, ``list.txt`` or sequences holding one (got10k), ``*.json`` frame lists
    (bdd). A synthetic world folder (``world.json``) is refused with the split folders to pass.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(str(path), "no such file or folder")
    if path.is_dir():
        return _folder_format(path)
    if path.name in ("groundtruth.txt", "list.txt"):
        return "got10k"
    if path.suffix == ".txt":
        return "mot"
    if path.suffix == ".json":
        return _json_format(path)
    raise FormatError(str(path), "unknown format: expected a .json or .txt file or a data set folder")


def _json_format(path: Path) -> str:
    data = load_json(path)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        first = data[0]
        if first.keys() & {"videoName", "video_name", "frameIndex", "labels"}:
            return "bdd"
        if {"video_id", "score"} <= first.keys():
            raise FormatError(str(path), "a YouTube-VIS results file: read it with "
                                         "read_ytvis_results(path, reference)")
    if isinstance(data, list) and data and all(isinstance(item, list) for item in data):
        return "bdd"  # the older BDD100K release: one list of frames per video
    if isinstance(data, dict):
        if "frames" in data:
            return "bdd"  # Scalabel's {"frames", "config"}
        if "images" in data:
            return "cocovid"
        if "videos" in data:
            first = next(iter(data.get("annotations") or []), {})
            # CocoVID annotations point at images; without "images" the reader says so.
            return "cocovid" if isinstance(first, dict) and "image_id" in first else "ytvis"
        if "track_bboxes" in data:
            raise FormatError(str(path), "mmtracking's raw results (track_bboxes) are not a tracklet format")
    raise FormatError(str(path), "JSON with neither 'images' (CocoVID), 'videos' (YouTube-VIS) nor a "
                                 "list of frames (BDD100K); pass the format explicitly")


def _folder_format(path: Path) -> str:
    if (path / "world.json").is_file():
        splits = sorted(p.name for p in path.iterdir() if p.is_dir())
        raise FormatError(str(path), "a synthetic world folder, not a split: pass one of its split folders "
                                     + (", ".join(f"{path / s}/" for s in splits) or "(none found)"))
    if (path / "cocovid.json").is_file():
        return "cocovid"
    if (path / "ytvis.json").is_file():
        return "ytvis"
    sub = sorted(p for p in path.iterdir() if p.is_dir())
    if (path / "gt" / "gt.txt").is_file() or any((p / "gt" / "gt.txt").is_file() for p in sub):
        return "mot"
    if (path / "groundtruth.txt").is_file() or (path / "list.txt").is_file() \
            or any((p / "groundtruth.txt").is_file() for p in sub) or any(path.glob("*/*/groundtruth.txt")):
        return "got10k"
    jsons = sorted(path.glob("*.json"))
    if jsons and _json_format(jsons[0]) == "bdd":
        return "bdd"
    raise FormatError(str(path), "cannot tell the format of this folder: expected cocovid.json, ytvis.json, "
                                 "<seq>/gt/gt.txt, groundtruth.txt, list.txt or BDD100K *.json files")
