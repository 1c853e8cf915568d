"""HOTA, CLEAR (MOTA) and Identity (IDF1) through TrackEval's MOTChallenge evaluation.

The tracklets are written to a temporary MOTChallenge layout (``<seq>/gt/gt.txt``,
``<seq>/seqinfo.ini``, a seqmap, ``<tracker>/data/<seq>.txt``) and evaluated with
``trackeval.datasets.MotChallenge2DBox`` (benchmark MOT17 rules, preprocessing on) and the
metrics ``HOTA``, ``CLEAR`` and ``Identity`` at their defaults (match IoU 0.5).

Mapping onto the MOTChallenge conventions, which know one class (pedestrian):

* Evaluation is class-agnostic: every instance is written as class 1 (pedestrian); pass
  ``category_ids`` to keep only some categories (then the others are left out on both sides).
* Crowd ground truth becomes class 8 (distractor): TrackEval removes the tracker boxes it
  matches (IoU >= 0.5) and the crowd box itself, so a crowd region neither counts nor penalises.
* Ground-truth rows: ``frame, id, x, y, w, h, 1, class, visibility`` (visibility 1 when unknown);
  tracker rows: ``frame, id, x, y, w, h, score, -1, -1, -1`` (score 1 when unknown). Frames and ids
  are 1-based; ids are renumbered 1..N per clip because TrackEval indexes arrays by id.
* Sequences are named ``seq00000, ...`` in ground-truth order (clip names may not be valid folder
  names); a clip without predictions gets an empty tracker file.

Returned values are the combined-over-sequences results: percentages (x100) for the ratios
(HOTA and its parts averaged over TrackEval's 19 alpha thresholds), plain counts for the integers.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import trackeval

from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset
from .boxes import pair_clips

_PEDESTRIAN, _DISTRACTOR = 1, 8
_TRACKER = "pred"
HOTA_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")
CLEAR_RATIOS = ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR")
CLEAR_COUNTS = ("IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP")
IDENTITY_RATIOS = ("IDF1", "IDR", "IDP")
IDENTITY_COUNTS = ("IDTP", "IDFN", "IDFP")


def hota_metrics(gt: TrackletDataset, pred: TrackletDataset,
                 category_ids: list[int] | None = None) -> dict[str, float | int]:
    """HOTA, DetA, AssA, ..., MOTA, MOTP, IDSW, ..., IDF1, IDR, IDP of ``pred`` against ``gt``.

    ``category_ids`` restricts both sides to those categories (default: all, class-agnostic).
    """
    if not gt.clips:
        raise ValueError(f"{gt.source or 'ground truth'}: no clips to evaluate")
    keep = None if category_ids is None else set(category_ids)
    with tempfile.TemporaryDirectory(prefix="trackeval-") as tmp:
        root = Path(tmp)
        names = write_mot_layout(gt, pred, root, keep)
        dataset = trackeval.datasets.MotChallenge2DBox({
            "GT_FOLDER": str(root / "gt"),
            "TRACKERS_FOLDER": str(root / "trackers"),
            "OUTPUT_FOLDER": str(root / "output"),
            "TRACKERS_TO_EVAL": [_TRACKER],
            "CLASSES_TO_EVAL": ["pedestrian"],
            "BENCHMARK": "MOT17",
            "SPLIT_TO_EVAL": "train",
            "SKIP_SPLIT_FOL": True,
            "SEQMAP_FILE": str(root / "seqmap.txt"),
            "PRINT_CONFIG": False,
        })
        metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
                   trackeval.metrics.Identity({"PRINT_CONFIG": False})]
        evaluator = trackeval.Evaluator({
            "USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
            "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False, "LOG_ON_ERROR": None, "BREAK_ON_ERROR": True,
        })
        # TrackEval reports progress on stdout; the caller prints the table it wants.
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                results, _ = evaluator.evaluate([dataset], metrics)
            except trackeval.utils.TrackEvalException as err:
                raise ValueError(f"TrackEval refused the data: {err}") from err
    combined = results["MotChallenge2DBox"][_TRACKER]["COMBINED_SEQ"]["pedestrian"]
    out: dict[str, float | int] = {}
    for name in HOTA_FIELDS:
        out[name] = float(np.mean(combined["HOTA"][name])) * 100.0
    for name in CLEAR_RATIOS:
        out[name] = float(combined["CLEAR"][name]) * 100.0
    for name in CLEAR_COUNTS:
        out[name] = int(combined["CLEAR"][name])
    for name in IDENTITY_RATIOS:
        out[name] = float(combined["Identity"][name]) * 100.0
    for name in IDENTITY_COUNTS:
        out[name] = int(combined["Identity"][name])
    out["sequences"] = len(names)
    return out


def write_mot_layout(gt: TrackletDataset, pred: TrackletDataset, root: Path,
                     category_ids: set[int] | None = None) -> list[str]:
    """Write the MOTChallenge files under ``root``; return the sequence names (gt order)."""
    names = []
    for n, (g_clip, p_clip) in enumerate(pair_clips(gt, pred)):
        seq = f"seq{n:05d}"
        names.append(seq)
        seq_dir = root / "gt" / seq
        (seq_dir / "gt").mkdir(parents=True)
        (seq_dir / "seqinfo.ini").write_text(
            f"[Sequence]\nname={seq}\nimDir=img1\nframeRate={g_clip.fps or 30}\n"
            f"seqLength={g_clip.num_frames}\nimWidth={g_clip.width}\nimHeight={g_clip.height}\nimExt=.jpg\n")
        (seq_dir / "gt" / "gt.txt").write_text(_rows(g_clip, category_ids, is_gt=True))
        tracker_dir = root / "trackers" / _TRACKER / "data"
        tracker_dir.mkdir(parents=True, exist_ok=True)
        text = "" if p_clip is None else _rows(p_clip, category_ids, is_gt=False)
        (tracker_dir / f"{seq}.txt").write_text(text)
    (root / "seqmap.txt").write_text("name\n" + "".join(f"{s}\n" for s in names))
    return names


def _rows(clip: Clip, category_ids: set[int] | None, is_gt: bool) -> str:
    kept = [i for i in clip.instances if category_ids is None or i.category_id in category_ids]
    lines = []
    for new_id, inst in enumerate(kept, start=1):
        for t in inst.frames():
            x0, y0, x1, y1 = inst.boxes[t]
            box = f"{x0:.6f},{y0:.6f},{x1 - x0:.6f},{y1 - y0:.6f}"
            if is_gt:
                cls = _DISTRACTOR if inst.iscrowd else _PEDESTRIAN
                lines.append(f"{t + 1},{new_id},{box},1,{cls},{_value(inst.visibility, t)}")
            else:
                lines.append(f"{t + 1},{new_id},{box},{_value(inst.score, t)},-1,-1,-1")
    return "".join(line + "\n" for line in lines)


def _value(values: np.ndarray | None, t: int) -> str:
    """A per-frame value for a MOT column, 1 when the instance has none."""
    return "1" if values is None or not np.isfinite(values[t]) else f"{float(values[t]):.6f}"

