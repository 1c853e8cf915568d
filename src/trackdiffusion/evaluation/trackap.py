"""TrackAP: YouTube-VIS video AP on boxes, exact to ``ytvoseval`` run on box-shaped masks.

Definitions (those of youtubevos' ``ytvoseval.YTVOSeval`` with box IoU in place of mask IoU):

* **Spatio-temporal IoU** of two tracks: over all frames, where both are present add the box
  intersection area to ``I`` and the union area to ``U``; where only one is present add its area
  to ``U``. ``IoU = I / U`` (0 when ``U = 0``). For integer boxes this equals the reference's
  mask IoU bit for bit (every area is an exact integer in float64).
* **Area** of a track: the mean of its box areas over present frames (0 with none). Ranges are
  YouTube-VIS's, inclusive at both ends: all ``[0, 1e10]``, small ``[0, 128^2]``, medium
  ``[128^2, 256^2]``, large ``[256^2, 1e10]``.
* **Score** of a predicted track: :meth:`Instance.track_score` (the mean of its per-frame scores
  over present frames; a constant score exactly, so a results file's score survives unrounded).
* **Per (video, category)**: predictions sorted by descending score (stable: ties keep file
  order), the top 100 kept; ground truth sorted with ignored ones last (ignored = crowd, or area
  outside the range). For each IoU threshold ``t`` in ``0.50:0.05:0.95``, each prediction in
  turn takes the unmatched (crowd: even if matched) ground truth of highest IoU ``>= t``, ties
  going to the later one, and stops looking among ignored ground truth once it holds a regular
  one. A prediction matched to ignored ground truth, or unmatched with its area outside the
  range, is ignored.
* **Accumulation** per (category, area range, maxDets in 1/10/100): the top-``maxDets``
  predictions of every video pooled, sorted by score (stable, videos in ``video_id`` order);
  recall = TP / #regular gt, precision = TP / (TP + FP), made monotone from the right and read at
  recall points ``0:0.01:1`` (first index with recall ``>=`` the point; 0 past the end). Entries
  of categories with no regular ground truth stay -1 and are left out of every mean.
* **Summary**: AP = mean precision over IoU thresholds, recall points and categories (area all,
  maxDets 100); AP50 / AP75 at one threshold; AP_s/m/l per area range; AR@k = mean of the final
  recall over thresholds and categories with maxDets k; AR_s/m/l at maxDets 100.

Values are reported **x100** (as in the paper); a summary with no valid entry is **-1**, the
reference's marker, not scaled.

Clips are paired by name or video id (:func:`~trackdiffusion.evaluation.boxes.pair_clips`);
predicted categories missing from the ground truth's table are ignored, as the reference selects
annotations by its category ids. One reference quirk is not reproduced: ``ytvoseval`` records a
match as the ground truth's annotation id and tests that id for truth, so a match to an
annotation with id 0 counts as a false positive there; here a match is a match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tracklets.clip import Clip, Instance
from ..tracklets.dataset import TrackletDataset
from .boxes import box_area, intersection_area, pair_clips

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = (1, 10, 100)
AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5 ** 2),
    "small": (0.0, 128.0 ** 2),
    "medium": (128.0 ** 2, 256.0 ** 2),
    "large": (256.0 ** 2, 1e5 ** 2),
}
# Summary name -> (precision or recall, IoU threshold or None for all, area range, maxDets).
SUMMARY = {
    "AP": ("precision", None, "all", 100),
    "AP50": ("precision", 0.5, "all", 100),
    "AP75": ("precision", 0.75, "all", 100),
    "AP_s": ("precision", None, "small", 100),
    "AP_m": ("precision", None, "medium", 100),
    "AP_l": ("precision", None, "large", 100),
    "AR@1": ("recall", None, "all", 1),
    "AR@10": ("recall", None, "all", 10),
    "AR@100": ("recall", None, "all", 100),
    "AR_s": ("recall", None, "small", 100),
    "AR_m": ("recall", None, "medium", 100),
    "AR_l": ("recall", None, "large", 100),
}


@dataclass
class TrackAPArrays:
    """The accumulated curves, laid out as the reference's ``eval`` dict.

    Attributes:
        precision: ``[T=10, R=101, K, A=4, M=3]`` fractions, -1 where undefined.
        recall: ``[T, K, A, M]`` fractions, -1 where undefined.
        category_ids: the K categories (sorted ids of the ground truth's category table).
    """

    precision: np.ndarray
    recall: np.ndarray
    category_ids: list[int]


@dataclass
class _Group:
    """Tracks of one (video, category); predictions sorted by score and cut to 100.

    ``ious`` is ``[D, G]``; areas are mean box areas; ``gt_crowd`` is ``[G]`` bool.
    """

    ious: np.ndarray
    dt_scores: np.ndarray
    dt_area: np.ndarray
    gt_area: np.ndarray
    gt_crowd: np.ndarray


def track_ap(gt: TrackletDataset, pred: TrackletDataset) -> dict[str, float]:
    """TrackAP summary (x100, -1 where undefined): AP, AP50, AP75, AP_s, AP_m, AP_l, AR@1,
    AR@10, AR@100, AR_s, AR_m, AR_l. ``pred`` instances need scores; see the module docstring."""
    return summarize(track_ap_arrays(gt, pred))


def summarize(arrays: TrackAPArrays) -> dict[str, float]:
    """The summary numbers of :data:`SUMMARY` from accumulated curves (x100, -1 if undefined)."""
    areas = list(AREA_RANGES)
    out: dict[str, float] = {}
    for name, (kind, iou, area, max_det) in SUMMARY.items():
        s = arrays.precision if kind == "precision" else arrays.recall
        if iou is not None:
            s = s[np.flatnonzero(IOU_THRESHOLDS == iou)]
        s = s[..., areas.index(area), MAX_DETS.index(max_det)]
        valid = s[s > -1]
        out[name] = float(np.mean(valid)) * 100.0 if valid.size else -1.0
    return out


def track_ap_arrays(gt: TrackletDataset, pred: TrackletDataset) -> TrackAPArrays:
    """Precision and recall curves of every (IoU threshold, category, area range, maxDets)."""
    _check_scores(pred)
    category_ids = sorted(gt.categories)
    keyed = sorted(zip(_video_order(gt), pair_clips(gt, pred)), key=lambda item: item[0])
    groups = {k: [] for k in category_ids}
    for _, (g_clip, p_clip) in keyed:
        for cat in category_ids:
            group = _make_group(g_clip, p_clip, cat)
            if group is not None:
                groups[cat].append(group)
    T, R, K, A, M = len(IOU_THRESHOLDS), len(RECALL_POINTS), len(category_ids), len(AREA_RANGES), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, cat in enumerate(category_ids):
        if not groups[cat]:
            continue
        for a, area_range in enumerate(AREA_RANGES.values()):
            matches = [_match(group, area_range) for group in groups[cat]]
            for m, max_det in enumerate(MAX_DETS):
                curves = _accumulate(groups[cat], matches, max_det)
                if curves is not None:
                    precision[:, :, k, a, m], recall[:, k, a, m] = curves
    return TrackAPArrays(precision=precision, recall=recall, category_ids=category_ids)


def _video_order(gt: TrackletDataset) -> list[tuple[int, int]]:
    """Sort keys putting clips in the reference's video-id order, which breaks score ties between
    videos: clips by ``video_id``, then those without one (or repeating one) in data set order,
    after every id, as the YouTube-VIS writer numbers them."""
    taken: set[int] = set()
    keys = []
    for index, clip in enumerate(gt.clips):
        if clip.video_id is not None and clip.video_id not in taken:
            taken.add(clip.video_id)
            keys.append((0, clip.video_id))
        else:
            keys.append((1, index))
    return keys


def spatio_temporal_iou(dt_boxes: np.ndarray, dt_present: np.ndarray,
                        gt_boxes: np.ndarray, gt_present: np.ndarray) -> np.ndarray:
    """``[D, G]`` spatio-temporal IoU of tracks ``dt_boxes [D, T, 4]`` / ``dt_present [D, T]``
    against ``gt_boxes [G, T, 4]`` / ``gt_present [G, T]`` (definition in the module docstring)."""
    d_box = np.where(dt_present[..., None], dt_boxes, 0.0)[:, None]  # [D, 1, T, 4]
    g_box = np.where(gt_present[..., None], gt_boxes, 0.0)[None]  # [1, G, T, 4]
    both = dt_present[:, None] & gt_present[None]  # [D, G, T]
    inter = np.where(both, intersection_area(d_box, g_box), 0.0).sum(-1)
    d_area = np.where(dt_present, box_area(np.nan_to_num(dt_boxes)), 0.0).sum(-1)  # [D]
    g_area = np.where(gt_present, box_area(np.nan_to_num(gt_boxes)), 0.0).sum(-1)  # [G]
    union = d_area[:, None] + g_area[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def track_score(inst: Instance) -> float | None:
    """A predicted track's score: :meth:`Instance.track_score`; for a track present nowhere (a
    result whose every box is null) the score its frames carry, since the reference still ranks
    it (as a false positive)."""
    score = inst.track_score()
    if score is None and inst.score is not None:
        finite = inst.score[np.isfinite(inst.score)]
        score = float(finite[0]) if finite.size else None
    return score


def _check_scores(pred: TrackletDataset) -> None:
    """Refuse predictions with unscored tracks, naming where they are.

    Scoring them with a made-up constant would give an AP that depends on file order alone, which
    no tracker researcher wants reported; MOTChallenge results mostly carry real confidences, and
    the ones that do not (conf -1, as our MOT writer writes for unscored tracks) suit HOTA.
    """
    unscored = [(clip.name, [inst.id for inst in clip.instances if track_score(inst) is None])
                for clip in pred.clips]
    unscored = [(name, ids) for name, ids in unscored if ids]
    if unscored:
        where = "; ".join(f"clip {name!r}: instance(s) {', '.join(map(str, ids[:5]))}{' ...' if len(ids) > 5 else ''}"
                          for name, ids in unscored[:3])
        more = f" and {len(unscored) - 3} more clip(s)" if len(unscored) > 3 else ""
        raise ValueError(f"{pred.source or 'predictions'}: tracks without a score ({where}{more}). TrackAP ranks "
                         "tracks by score; MOTChallenge results with conf -1 (column 7) carry none, as our MOT "
                         "writer writes for unscored tracks. Give each box its confidence, or use `evaluate hota`, "
                         "which needs no scores")


def _mean_area(inst: Instance) -> float:
    areas = box_area(inst.boxes[inst.present])
    return float(np.mean(areas)) if areas.size else 0.0


def _stack(instances: list[Instance], num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    boxes = np.zeros((len(instances), num_frames, 4))
    present = np.zeros((len(instances), num_frames), dtype=bool)
    for i, inst in enumerate(instances):
        boxes[i], present[i] = inst.boxes, inst.present
    return boxes, present


def _make_group(g_clip: Clip, p_clip: Clip | None, cat: int) -> _Group | None:
    gts = [i for i in g_clip.instances if i.category_id == cat]
    dts = [] if p_clip is None else [i for i in p_clip.instances if i.category_id == cat]
    if not gts and not dts:
        return None
    scores = np.array([track_score(d) for d in dts], dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")[: MAX_DETS[-1]]
    dts = [dts[i] for i in order]
    ious = spatio_temporal_iou(*_stack(dts, g_clip.num_frames), *_stack(gts, g_clip.num_frames))
    return _Group(
        ious=ious,
        dt_scores=scores[order],
        dt_area=np.array([_mean_area(d) for d in dts], dtype=np.float64),
        gt_area=np.array([_mean_area(g) for g in gts], dtype=np.float64),
        gt_crowd=np.array([bool(g.iscrowd) for g in gts], dtype=bool),
    )


def _outside(area: np.ndarray, area_range: tuple[float, float]) -> np.ndarray:
    return (area < area_range[0]) | (area > area_range[1])


def _match(group: _Group, area_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching of one group: ``(dt_matched [T, D], dt_ignored [T, D], gt_ignored [G])``."""
    gt_ignore = group.gt_crowd | _outside(group.gt_area, area_range)
    order = np.argsort(gt_ignore, kind="mergesort")  # regular ground truth first
    ious = group.ious[:, order]
    ignore, crowd = gt_ignore[order], group.gt_crowd[order]
    T, (D, G) = len(IOU_THRESHOLDS), ious.shape
    dt_matched = np.zeros((T, D), dtype=bool)
    dt_ignored = np.zeros((T, D), dtype=bool)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        gt_taken = np.zeros(G, dtype=bool)
        for d in range(D):
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(G):
                if gt_taken[g] and not crowd[g]:
                    continue
                # Holding a regular match, the ignored ground truth (sorted last) cannot win.
                if m > -1 and not ignore[m] and ignore[g]:
                    break
                if ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m > -1:
                dt_matched[t, d], dt_ignored[t, d], gt_taken[m] = True, ignore[m], True
    dt_ignored |= ~dt_matched & _outside(group.dt_area, area_range)[None]
    return dt_matched, dt_ignored, ignore


def _accumulate(groups: list[_Group], matches: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                max_det: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Precision ``[T, R]`` and final recall ``[T]`` of the pooled top-``max_det`` predictions;
    ``None`` when there is no regular ground truth (the entry stays -1)."""
    num_regular = int(sum(np.count_nonzero(~gt_ignored) for _, _, gt_ignored in matches))
    if num_regular == 0:
        return None
    scores = np.concatenate([g.dt_scores[:max_det] for g in groups])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([dm[:, :max_det] for dm, _, _ in matches], axis=1)[:, order]
    ignored = np.concatenate([di[:, :max_det] for _, di, _ in matches], axis=1)[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)
    T, num_dets = tp.shape
    recall = tp / num_regular
    precision = tp / (fp + tp + np.spacing(1))
    final_recall = recall[:, -1] if num_dets else np.zeros(T)
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    sampled = np.zeros((T, len(RECALL_POINTS)))
    for t in range(T):
        idx = np.searchsorted(recall[t], RECALL_POINTS, side="left")
        inside = idx < num_dets
        sampled[t, inside] = precision[t, idx[inside]]
    return sampled, final_recall
