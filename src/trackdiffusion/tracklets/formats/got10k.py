"""GOT-10k: single-object sequences, one folder (and one instance) per sequence.

A sequence folder holds ``groundtruth.txt`` (``x,y,w,h`` per frame), ``absence.label`` (1: target
absent), ``cover.label`` (0-8, the visible eighths), ``cut_by_image.label`` (1: cut by the frame
border) and ``meta_info.ini`` (``[METAINFO]`` then ``key: value`` lines, among them
``resolution: (1920, 1080)``, ``object_class`` and ``anno_fps: 10Hz``). A split folder lists its
sequences in ``list.txt`` (without one, every sub-folder with a ``groundtruth.txt`` is read). A
LaSOT root (``<category>/<sequence>/groundtruth.txt``, frames in ``<sequence>/img/``) reads too:
the category folder names the class, ``full_occlusion.txt`` / ``out_of_view.txt`` give visibility 0.

Reading: the instance has id 1 and the category named by ``object_class`` ("object" without one);
category ids number the names in order of appearance. Absent frames are not present (their box
line is ignored). ``visibility = cover / 8``; ``cut_by_image`` is kept as an attribute, and
every meta key in ``dataset.info["got10k_meta"][<seq>]`` so the writer restores the ones the data
model has no place for. Without ``resolution`` the size comes from
``width=``/``height=``, or the reader names the missing field. Frame names are
``<seq>/00000001.jpg``, relative to the split folder.

Writing: a clip with one instance becomes the sequence ``<clip>``; with several, one sequence
``<clip>_<instance id>`` each (the format tracks one object); with none, one all-absent sequence.
Absent frames are written as ``0,0,0,0``; ``cover.label`` and ``cut_by_image.label`` only when
the data has them.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import numpy as np

from ..builder import ClipBuilder, ProblemLog
from ..clip import Clip, Instance
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import (dir_name, finish_dataset, format_number, parse_numbers, read_lines, read_text, write_text,
                     xywh_to_xyxy, xyxy_to_xywh)

COVER_LEVELS = 8
DEFAULT_CLASS = "object"
_LABELS = {"absence": (0, 1), "cover": (0, COVER_LEVELS), "cut_by_image": (0, 1)}
_LASOT_FLAGS = ("full_occlusion", "out_of_view")


def read(path: str | Path, *, width: int | None = None, height: int | None = None) -> TrackletDataset:
    """Read a GOT-10k sequence or split folder; ``width``/``height`` fill in a missing resolution."""
    path = Path(path)
    if path.is_file():  # groundtruth.txt or list.txt: read the folder that holds it
        path = path.parent
    root, sequences = _sequences(path)
    log = ProblemLog(str(path))
    categories: dict[int, str] = {}
    category_ids: dict[str, int] = {}
    meta_info: dict[str, dict[str, str]] = {}
    clips = []
    for seq in sequences:
        if not (seq / "groundtruth.txt").is_file():
            log.add(str(root / "list.txt"), f"lists {seq.name!r} but {seq}/groundtruth.txt does not exist")
            continue
        ini = seq / "meta_info.ini"
        meta = meta_info[seq.name] = _meta(ini)
        size = _resolution(meta, ini) or (width, height)
        if None in size:
            log.add(f"{ini}: [METAINFO]: resolution",
                    "missing; pass width= and height= to the reader (--width and --height on the command line)")
            continue
        lasot = seq.parent != root  # <root>/<category>/<sequence>: the folder names the class
        name = meta.get("object_class", seq.parent.name if lasot else DEFAULT_CLASS)
        category = category_ids.setdefault(name, len(category_ids) + 1)
        categories[category] = name
        prefix = f"{seq.parent.name}/{seq.name}/img" if lasot else seq.name
        clips.append(_read_sequence(seq, size, category, categories, _fps(meta, ini), log, prefix))
    return finish_dataset(log, clips, categories, image_root=root, info={"got10k_meta": meta_info})


def write(dataset: TrackletDataset, path: str | Path) -> None:
    """Write one sequence folder per instance under ``path`` and a ``list.txt``."""
    root = Path(path)
    stored = dataset.info.get("got10k_meta", {})
    names = []
    for clip in dataset.clips:
        for seq_name, inst in _split(clip):
            names.append(seq_name)
            seq = root / seq_name
            seq.mkdir(parents=True, exist_ok=True)
            meta = dict(stored.get(clip.name, {}))
            if inst is not None:
                meta["object_class"] = dataset.categories[inst.category_id]
            meta["resolution"] = f"({clip.width}, {clip.height})"
            if clip.fps is not None:
                meta["anno_fps"] = f"{format_number(clip.fps)}Hz"
            _write_sequence(seq, clip.num_frames, inst, meta)
    write_text(root / "list.txt", "".join(f"{n}\n" for n in names))


def _sequences(path: Path) -> tuple[Path, list[Path]]:
    """(split folder, sequence folders)."""
    if (path / "groundtruth.txt").is_file():
        return path.parent, [path]
    if (path / "list.txt").is_file():
        return path, [path / line for _, line in read_lines(path / "list.txt")]
    seqs = sorted(p for p in path.iterdir() if (p / "groundtruth.txt").is_file()) if path.is_dir() else []
    if not seqs and path.is_dir():  # a LaSOT root: <category>/<sequence>/groundtruth.txt
        seqs = sorted(gt.parent for gt in path.glob("*/*/groundtruth.txt"))
    if not seqs:
        raise FormatError(str(path), "not a GOT-10k sequence (groundtruth.txt), split folder (list.txt) or LaSOT "
                                     "root (<category>/<sequence>/groundtruth.txt)")
    return path, seqs


def _read_sequence(seq: Path, size: tuple[int, int], category: int, categories: dict[int, str],
                   fps: float | None, log: ProblemLog, frame_prefix: str) -> Clip:
    """One sequence folder as a clip whose single instance (id 1) is present where not absent.

    LaSOT's ``full_occlusion.txt`` / ``out_of_view.txt`` keep the box (LaSOT annotates it) with
    visibility 0, and are kept as attributes.
    """
    gt = seq / "groundtruth.txt"
    lines = read_lines(gt)
    T = len(lines)
    labels = {key: _labels(seq / f"{key}.label", T, log) for key in _LABELS}
    flags = {key: _lasot_flags(seq / f"{key}.txt", T, log) for key in _LASOT_FLAGS}
    flags = {key: values for key, values in flags.items() if values is not None}
    builder = ClipBuilder(log, seq.name, size[0], size[1], T, categories, str(seq), fps=fps,
                          frame_names=[f"{frame_prefix}/{t + 1:08d}.jpg" for t in range(T)])
    for t, (n, line) in enumerate(lines):
        if labels["absence"] is not None and labels["absence"][t]:
            continue
        where = f"{gt}: line {n}"
        xywh = parse_numbers(line, where)
        if len(xywh) == 8:
            raise FormatError(where, "a VOT polygon (x1,y1,...,x4,y4): rotated boxes are not supported; convert "
                                     "them to axis-aligned x,y,w,h first")
        if len(xywh) != 4:
            raise FormatError(where, f"expected 4 numbers x,y,w,h, got {len(xywh)}")
        cover, cut = labels["cover"], labels["cut_by_image"]
        attributes = {} if cut is None else {"cut_by_image": float(cut[t])}
        attributes |= {key: float(values[t]) for key, values in flags.items()}
        visibility = None if cover is None else cover[t] / COVER_LEVELS
        if flags:
            visibility = 0.0 if any(values[t] for values in flags.values()) else 1.0 if visibility is None \
                else visibility
        builder.add_box(1, t, xywh_to_xyxy(xywh), category, where, fields={"box": "x,y,w,h"},
                        visibility=visibility, attributes=attributes)
    return builder.build()


def _lasot_flags(file: Path, T: int, log: ProblemLog) -> list[int] | None:
    """LaSOT's per-frame 0/1 flags: one comma-separated line (or one value per line); None when absent."""
    if not file.is_file():
        return None
    tokens = [(n, token.strip()) for n, line in read_lines(file) for token in line.split(",")]
    bad = [(n, token) for n, token in tokens if token not in ("0", "1")]
    if bad:
        log.add(f"{file}: line {bad[0][0]}", f"{bad[0][1]!r} is not 0 or 1")
        return None
    if len(tokens) != T:
        log.add(str(file), f"{len(tokens)} flags for the {T} frames of groundtruth.txt")
        return None
    return [int(token) for _, token in tokens]


def _labels(file: Path, T: int, log: ProblemLog) -> list[int] | None:
    """The per-frame integers of a ``.label`` file; None when absent or wrong (problems logged)."""
    if not file.is_file():
        return None
    low, high = _LABELS[file.stem]
    values = []
    for n, line in read_lines(file):
        if not (line.isdigit() and low <= int(line) <= high):
            log.add(f"{file}: line {n}", f"{line!r} is not an integer in {low}..{high}")
            return None
        values.append(int(line))
    if len(values) != T:
        log.add(str(file), f"{len(values)} labels for the {T} frames of groundtruth.txt")
        return None
    return values


def _meta(ini: Path) -> dict[str, str]:
    if not ini.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(read_text(ini), source=str(ini))
    except configparser.Error as err:
        raise FormatError(str(ini), f"malformed ini: {err.message}") from None
    if not parser.has_section("METAINFO"):
        raise FormatError(str(ini), "no [METAINFO] section")
    return dict(parser["METAINFO"])


def _resolution(meta: dict[str, str], ini: Path) -> tuple[int, int] | None:
    if "resolution" not in meta:
        return None
    found = re.fullmatch(r"\(?\s*(\d+)\s*,\s*(\d+)\s*\)?", meta["resolution"])
    if not found:
        raise FormatError(f"{ini}: [METAINFO]: resolution", f"{meta['resolution']!r} is not (width, height)")
    return int(found[1]), int(found[2])


def _fps(meta: dict[str, str], ini: Path) -> float | None:
    if "anno_fps" not in meta:
        return None
    found = re.fullmatch(r"\s*([0-9.]+)\s*(Hz)?\s*", meta["anno_fps"], flags=re.IGNORECASE)
    if not found:
        raise FormatError(f"{ini}: [METAINFO]: anno_fps", f"{meta['anno_fps']!r} is not a rate like 10Hz")
    return float(found[1])


def _split(clip: Clip) -> list[tuple[str, Instance | None]]:
    """(sequence name, instance) pairs for one clip."""
    name = dir_name(clip.name)
    if len(clip.instances) <= 1:
        return [(name, clip.instances[0] if clip.instances else None)]
    return [(f"{name}_{inst.id}", inst) for inst in clip.instances]


def _write_sequence(seq: Path, T: int, inst: Instance | None, meta: dict[str, str]) -> None:
    present = inst.present if inst is not None else np.zeros(T, dtype=bool)
    boxes = [xyxy_to_xywh(inst.boxes[t]) if p else [0, 0, 0, 0] for t, p in enumerate(present)]
    files = {"groundtruth.txt": [",".join(map(format_number, b)) for b in boxes],
             "absence.label": [str(int(not p)) for p in present]}
    if inst is not None and inst.visibility is not None:
        cover = np.round(inst.visibility * COVER_LEVELS)  # exact for visibilities read as cover / 8
        files["cover.label"] = [str(int(c)) if p else "0" for c, p in zip(cover, present)]
    if inst is not None and "cut_by_image" in inst.attributes:
        cut = np.nan_to_num(inst.attributes["cut_by_image"])
        files["cut_by_image.label"] = [str(int(c)) if p else "0" for c, p in zip(cut, present)]
    for file, lines in files.items():
        write_text(seq / file, "".join(f"{line}\n" for line in lines))
    write_text(seq / "meta_info.ini", "[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()))
