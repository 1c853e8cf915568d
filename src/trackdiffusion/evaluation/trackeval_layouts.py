"""The folder layouts TrackEval's dataset classes read, written from tracklets.

Each writer lays out ground truth and one tracker (named :data:`TRACKER`) under ``root`` and
returns the sequence names in ground-truth order; :mod:`trackdiffusion.evaluation.hota` then
points a TrackEval dataset class at it. Boxes are written exactly as read (the shortest text that
parses back to the same float), so the official preprocessing sees the benchmark's own numbers.

* :func:`write_motchallenge`: ``gt/<seq>/gt/gt.txt`` with the rows as annotated (``frame, id, x,
  y, w, h, conf, class, visibility``: conf is the reader's ``mot_conf``, class the category id,
  visibility -1 when unknown), ``gt/<seq>/seqinfo.ini``, ``seqmap.txt`` and
  ``trackers/pred/data/<seq>.txt`` (``frame, id, x, y, w, h, score, -1, -1, -1``; score -1 when
  none). ``<seq>`` is the sequence's folder name when it was read from one.
* :func:`write_bdd100k`: ``gt/<seq>.json`` and ``trackers/pred/data/<seq>.json`` in the layout
  TrackEval's ``BDD100K`` class reads (every frame listed, ``index``, ``attributes.Crowd`` per
  frame, category names).
* :func:`write_class_agnostic`: the MOTChallenge layout with every instance as class 1
  (pedestrian) and crowd instances as class 8 (distractor), sequences ``seq00000, ...``: for
  ground truth without an official protocol (the synthetic world, CocoVID).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..tracklets.clip import Clip, Instance
from ..tracklets.dataset import TrackletDataset
from ..tracklets.formats.common import dir_name, format_number, frame_value, xyxy_to_xywh
from .boxes import pair_clips

TRACKER = "pred"
_PEDESTRIAN, _DISTRACTOR = 1, 8
#: The categories TrackEval's BDD100K class knows: evaluated ones and the ignore (distractor) ones.
BDD_EVALUATED = ("pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
BDD_IGNORED = ("other person", "other vehicle", "trailer")


def mot_folder(gt: TrackletDataset, clip: Clip) -> str:
    """The folder a MOTChallenge sequence was read from (TrackEval names sequences by it)."""
    return gt.info.get("mot_folders", {}).get(clip.name, dir_name(clip.name))


def write_motchallenge(gt: TrackletDataset, pred: TrackletDataset, root: Path) -> list[str]:
    """MOTChallenge ground truth as annotated and the tracker's rows; return the sequence names."""
    names = []
    for g_clip, p_clip in pair_clips(gt, pred):
        seq = mot_folder(gt, g_clip)
        if seq in names:
            raise ValueError(f"two ground-truth sequences share the folder name {seq!r}")
        names.append(seq)
        rows = [_gt_row(inst, t, inst.category_id, _attribute(inst, "mot_conf", t, 1.0))
                for inst in g_clip.instances for t in inst.frames().tolist()]
        _write_sequence(root, seq, g_clip, rows, _tracker_rows(p_clip, None))
    (root / "seqmap.txt").write_text("name\n" + "".join(f"{s}\n" for s in names))
    return names


def write_class_agnostic(gt: TrackletDataset, pred: TrackletDataset, root: Path,
                         category_ids: set[int] | None = None) -> list[str]:
    """Every kept instance as a pedestrian (crowd ones as distractors); ids renumbered 1..N per clip."""
    names = []
    for n, (g_clip, p_clip) in enumerate(pair_clips(gt, pred)):
        seq = f"seq{n:05d}"
        names.append(seq)
        kept = _kept(g_clip, category_ids)
        rows = [_gt_row(inst, t, _DISTRACTOR if inst.iscrowd else _PEDESTRIAN, 1.0, new_id)
                for new_id, inst in enumerate(kept, start=1) for t in inst.frames().tolist()]
        _write_sequence(root, seq, g_clip, rows, _tracker_rows(p_clip, category_ids, renumber=True))
    (root / "seqmap.txt").write_text("name\n" + "".join(f"{s}\n" for s in names))
    return names


def write_bdd100k(gt: TrackletDataset, pred: TrackletDataset, root: Path) -> list[str]:
    """BDD100K ground truth (per-frame crowd flags, ignore classes kept) and the tracker's boxes."""
    names = []
    (root / "gt").mkdir(parents=True)
    (root / "trackers" / TRACKER / "data").mkdir(parents=True)
    for g_clip, p_clip in pair_clips(gt, pred):
        seq = dir_name(g_clip.name)
        names.append(seq)
        _dump(_bdd_frames(g_clip, gt.categories, is_gt=True), root / "gt" / f"{seq}.json")
        frames = _bdd_frames(p_clip or Clip(g_clip.name, g_clip.width, g_clip.height, g_clip.num_frames,
                                            pred.categories), pred.categories, is_gt=False)
        _dump(frames, root / "trackers" / TRACKER / "data" / f"{seq}.json")
    return names


# ------------------------------------------------------------------------------- MOTChallenge
def _write_sequence(root: Path, seq: str, clip: Clip, gt_rows: list[tuple], tracker_rows: list[tuple]) -> None:
    seq_dir = root / "gt" / seq
    (seq_dir / "gt").mkdir(parents=True)
    # TrackEval reads seqLength (frames beyond it are ignored) and the name; the rest is for people.
    (seq_dir / "seqinfo.ini").write_text(
        f"[Sequence]\nname={seq}\nimDir=img1\nframeRate={format_number(clip.fps or 30)}\n"
        f"seqLength={clip.num_frames}\nimWidth={clip.width}\nimHeight={clip.height}\nimExt=.jpg\n")
    (seq_dir / "gt" / "gt.txt").write_text(_lines(gt_rows))
    tracker_dir = root / "trackers" / TRACKER / "data"
    tracker_dir.mkdir(parents=True, exist_ok=True)
    (tracker_dir / f"{seq}.txt").write_text(_lines(tracker_rows))


def _kept(clip: Clip, category_ids: set[int] | None) -> list[Instance]:
    return [i for i in clip.instances if category_ids is None or i.category_id in category_ids]


def _gt_row(inst: Instance, t: int, cls: int, conf: float, ident: int | None = None) -> tuple:
    visibility = frame_value(inst.visibility, t)
    return (t + 1, inst.id if ident is None else ident, *xyxy_to_xywh(inst.boxes[t]), conf, cls,
            -1 if visibility is None else visibility)


def _tracker_rows(clip: Clip | None, category_ids: set[int] | None, renumber: bool = False) -> list[tuple]:
    if clip is None:
        return []
    return [(t + 1, new_id if renumber else inst.id, *xyxy_to_xywh(inst.boxes[t]), _value(inst.score, t, -1.0),
             -1, -1, -1)
            for new_id, inst in enumerate(_kept(clip, category_ids), start=1) for t in inst.frames().tolist()]


def _value(values: np.ndarray | None, t: int, default: float) -> float:
    value = frame_value(values, t)
    return default if value is None else value


def _attribute(inst: Instance, key: str, t: int, default: float) -> float:
    return _value(inst.attributes.get(key), t, default)


def _lines(rows: list[tuple]) -> str:
    rows = sorted(rows, key=lambda row: row[:2])
    return "".join(",".join(map(format_number, row)) + "\n" for row in rows)


# ------------------------------------------------------------------------------------ BDD100K
def _bdd_frames(clip: Clip, categories: dict[int, str], is_gt: bool) -> list[dict]:
    """TrackEval's BDD100K layout: one entry per frame, labels with ``Crowd`` read per frame for gt."""
    frames = [{"name": f"{clip.name}-{t + 1:07d}.jpg", "index": t, "labels": []} for t in range(clip.num_frames)]
    known = BDD_EVALUATED + BDD_IGNORED
    for inst in clip.instances:
        name = categories[inst.category_id]
        if name not in known:
            side = "ground truth" if is_gt else "predictions"
            raise ValueError(f"clip {clip.name!r}, instance {inst.id}: category {name!r} of the {side} is not a "
                             f"BDD100K tracking category ({', '.join(known)})")
        for t in inst.frames().tolist():
            x1, y1, x2, y2 = (float(v) for v in inst.boxes[t])
            label = {"id": str(inst.id), "category": name, "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}
            if is_gt:
                crowd = frame_value(inst.attributes.get("crowd"), t)
                label["attributes"] = {"Crowd": bool(inst.iscrowd if crowd is None else crowd)}
            frames[t]["labels"].append(label)
    return frames


def _dump(obj: object, path: Path) -> None:
    path.write_text(json.dumps(obj, allow_nan=False))
