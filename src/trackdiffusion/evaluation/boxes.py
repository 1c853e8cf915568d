"""Box geometry shared by the metrics, and pairing of predicted clips with ground-truth clips.

Boxes are xyxy pixels (the data model's convention). Every function broadcasts over leading
axes, so ``[D, 1, T, 4]`` against ``[1, G, T, 4]`` gives ``[D, G, T]``.
"""

from __future__ import annotations

import numpy as np

from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset


def box_area(boxes: np.ndarray) -> np.ndarray:
    """``(x1 - x0) * (y1 - y0)`` of ``[..., 4]`` xyxy boxes (no ``+1``: continuous pixels)."""
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def intersection_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area of the overlap of ``a`` and ``b`` (``[..., 4]`` each, broadcast), 0 when disjoint."""
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    return np.maximum(w, 0.0) * np.maximum(h, 0.0)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``[N, M]`` of boxes ``a [N, 4]`` and ``b [M, 4]`` (0 where the union is empty)."""
    inter = intersection_area(a[:, None], b[None])
    union = box_area(a)[:, None] + box_area(b)[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def box_centers(boxes: np.ndarray) -> np.ndarray:
    """``[..., 2]`` centres ``((x0 + x1) / 2, (y0 + y1) / 2)``."""
    return np.stack([0.5 * (boxes[..., 0] + boxes[..., 2]), 0.5 * (boxes[..., 1] + boxes[..., 3])], axis=-1)


def pair_clips(gt: TrackletDataset, pred: TrackletDataset) -> list[tuple[Clip, Clip | None]]:
    """Each ground-truth clip with its predicted clip (``None`` when the tracker gave none).

    A predicted clip belongs to the ground-truth clip of the same ``name``; failing that, to the
    one with the same ``video_id`` (results files refer to videos by id). A predicted clip that
    matches no ground-truth clip, or whose frame count differs, is an error: the metrics walk
    both clips frame by frame and would silently compare the wrong frames.
    """
    by_name = {c.name: i for i, c in enumerate(gt.clips)}
    by_id = {c.video_id: i for i, c in enumerate(gt.clips) if c.video_id is not None}
    found: dict[int, Clip] = {}
    problems = []
    for p in pred.clips:
        i = by_name.get(p.name)
        if i is None and p.video_id is not None:
            i = by_id.get(p.video_id)
        if i is None:
            skipped = gt.info.get("mot_skipped", {}).get(p.name)
            why = "" if skipped is None else f" (the ground truth skipped its sequence folder: {skipped})"
            problems.append(f"predicted clip {p.name!r} (video_id {p.video_id}) matches no ground-truth clip{why}")
        elif gt.clips[i].num_frames != p.num_frames:
            problems.append(f"predicted clip {p.name!r} has {p.num_frames} frames, "
                            f"ground truth {gt.clips[i].name!r} has {gt.clips[i].num_frames}")
        elif i in found:
            problems.append(f"ground-truth clip {gt.clips[i].name!r} has more than one predicted clip")
        else:
            found[i] = p
    if problems:
        raise ValueError(f"{pred.source or 'predictions'}: " + "; ".join(problems))
    return [(g, found.get(i)) for i, g in enumerate(gt.clips)]
