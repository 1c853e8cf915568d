"""Single-object tracking metrics: OPE (mmtracking) and GOT-10k (got10k toolkit).

One :class:`SOTSequence` is one target: ground-truth boxes, the tracker's boxes and the frames
where the target is visible. A frame where the tracker gave no box counts as a failure
(IoU 0, infinite centre error); the toolkits always have a box, so the case does not arise there.

**OPE** (``mmtrack.core.evaluation.eval_sot_ope`` with ``only_eval_visible=True``), per sequence
of ``T`` frames, over the frames where the target is visible:

* Success curve: ``#(IoU > th) / T`` for ``th`` in ``np.arange(0, 1.05, 0.05)`` (21 values, strict
  ``>``); IoU of xyxy boxes as mmdet's ``bbox_overlaps`` (``inter / max(union, 1e-6)``).
* Precision curve: ``#(||c_pred - c_gt|| <= th) / T`` for ``th`` in ``0..50`` px (centres of xyxy
  boxes), reported at 20 px.
* Normalized precision curve: the same on centres divided by the ground truth's ``(w, h)``
  (``+1e-16``), ``th`` in ``0:0.01:0.5``, reported at 0.20.

The denominator is every frame of the sequence, so frames where the target is not visible count
as failures, as in mmtracking. Aggregation is **per sequence, then the mean over sequences**:
Success = mean of all sequences' success curves (the AUC), Precision / Normalized precision =
mean over sequences of the value at the reported threshold.

**GOT-10k** (``got10k.experiments.ExperimentGOT10k``): IoUs of frames ``1..T-1`` (the first frame,
where the tracker is initialised, excluded) where the target is visible; boxes first bounded to
the frame as the toolkit's ``rect_iou(bound=...)`` does (in ``x, y, w, h``: ``x`` clipped to
``[0, W]``, ``w`` to ``[0, W - x]``), IoU = ``inter / (union + eps)`` clipped to ``[0, 1]``.
Aggregation **pools the frames of all sequences**: AO = mean IoU, SR0.5 / SR0.75 = fraction of
frames with IoU ``>`` 0.5 / 0.75.

Every value is reported x100; a metric with nothing to average is ``nan``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tracklets.clip import Instance
from ..tracklets.dataset import TrackletDataset
from .boxes import box_area, box_centers, intersection_area, pair_clips

SUCCESS_THRESHOLDS = np.arange(0, 1.05, 0.05)
PIXEL_THRESHOLDS = np.arange(0, 51, 1)
NORM_THRESHOLDS = PIXEL_THRESHOLDS / 100.0
PRECISION_AT = 20  # index into both threshold arrays: 20 px and 0.20


@dataclass
class SOTSequence:
    """One target in one clip.

    Attributes:
        name: ``clip/instance`` label.
        gt_boxes: ``[T, 4]`` xyxy, ``nan`` where the target is not annotated.
        pred_boxes: ``[T, 4]`` xyxy, ``nan`` where the tracker gave no box.
        visible: ``[T]`` bool, the frames that are evaluated.
        width, height: frame size (GOT-10k bounds boxes to it).
    """

    name: str
    gt_boxes: np.ndarray
    pred_boxes: np.ndarray
    visible: np.ndarray
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.visible)


@dataclass
class OPECurves:
    """Per-sequence OPE curves: ``success [21]``, ``precision [51]``, ``norm_precision [51]``."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray


def ope_curves(seq: SOTSequence) -> OPECurves:
    """The mmtracking OPE curves of one sequence (fractions; definitions in the module docstring)."""
    v = seq.visible
    gt, pred = seq.gt_boxes[v], seq.pred_boxes[v]
    has_pred = np.all(np.isfinite(pred), axis=1)
    iou = np.zeros(len(gt))
    inter = intersection_area(gt[has_pred], pred[has_pred])
    union = box_area(gt[has_pred]) + box_area(pred[has_pred]) - inter
    iou[has_pred] = inter / np.maximum(union, 1e-6)
    wh = gt[:, 2:] - gt[:, :2]
    err = np.full(len(gt), np.inf)
    norm_err = np.full(len(gt), np.inf)
    c_gt, c_pred = box_centers(gt[has_pred]), box_centers(pred[has_pred])
    err[has_pred] = np.linalg.norm(c_gt - c_pred, axis=1)
    scale = wh[has_pred] + 1e-16
    norm_err[has_pred] = np.linalg.norm(c_gt / scale - c_pred / scale, axis=1)
    T = float(len(seq))
    return OPECurves(
        success=(iou[None] > SUCCESS_THRESHOLDS[:, None]).sum(1) / T,
        precision=(err[None] <= PIXEL_THRESHOLDS[:, None]).sum(1) / T,
        norm_precision=(norm_err[None] <= NORM_THRESHOLDS[:, None]).sum(1) / T,
    )


def got10k_ious(seq: SOTSequence) -> np.ndarray:
    """IoUs of the visible frames after the first, as the GOT-10k toolkit computes them."""
    frames = np.flatnonzero(seq.visible[1:]) + 1
    gt = _bounded(seq.gt_boxes[frames], seq.width, seq.height)
    pred = seq.pred_boxes[frames]
    has_pred = np.all(np.isfinite(pred), axis=1)
    pred = _bounded(np.where(has_pred[:, None], pred, 0.0), seq.width, seq.height)
    inter = intersection_area(gt, pred)
    union = box_area(gt) + box_area(pred) - inter
    ious = np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)
    return np.where(has_pred, ious, 0.0)


def _bounded(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """xyxy boxes bounded like got10k's ``rect_iou`` does in x, y, w, h: the corner clipped to the
    frame, then the size to what is left (a box starting left of 0 keeps its width, as there)."""
    frame = np.array([width, height], dtype=np.float64)
    corner = np.clip(xyxy[:, :2], 0.0, frame)
    size = np.clip(xyxy[:, 2:] - xyxy[:, :2], 0.0, frame - corner)
    return np.concatenate([corner, corner + size], axis=1)


def sot_metrics(sequences: list[SOTSequence]) -> dict[str, float | int]:
    """Success, Precision, Norm. precision (OPE, mean over sequences) and AO, SR0.5, SR0.75
    (GOT-10k, pooled over frames), all x100, plus the sequence and frame counts."""
    nan = float("nan")
    curves = [ope_curves(s) for s in sequences]
    ious = np.concatenate([got10k_ious(s) for s in sequences]) if sequences else np.zeros(0)
    mean100 = lambda values: float(np.mean(values)) * 100.0 if len(values) else nan  # noqa: E731
    return {
        "success": mean100([c.success for c in curves]),
        "precision": mean100([c.precision[PRECISION_AT] for c in curves]),
        "norm_precision": mean100([c.norm_precision[PRECISION_AT] for c in curves]),
        "AO": mean100(ious),
        "SR0.5": mean100(ious > 0.5),
        "SR0.75": mean100(ious > 0.75),
        "sequences": len(sequences),
        "frames": int(sum(len(s) for s in sequences)),
        "got10k_frames": int(ious.size),
    }


def _visible(inst: Instance) -> np.ndarray:
    if inst.visibility is None:
        return inst.present.copy()
    return inst.present & (np.nan_to_num(inst.visibility, nan=1.0) > 0)


def sot_sequences(gt: TrackletDataset, pred: TrackletDataset) -> list[SOTSequence]:
    """One sequence per non-crowd ground-truth instance that is present somewhere.

    The predicted instance is the one with the same ``id`` in the paired clip (see
    :func:`~trackdiffusion.evaluation.boxes.pair_clips`); without one, every frame is a failure.
    A sequence starts at the instance's first present frame (where a single-object tracker is
    initialised) and runs to the end of the clip. Visible = present and, when the instance has
    visibility, visibility > 0 (GOT-10k's ``cover > 0``).
    """
    out = []
    for g_clip, p_clip in pair_clips(gt, pred):
        predicted = {} if p_clip is None else {i.id: i for i in p_clip.instances}
        for inst in g_clip.instances:
            if inst.iscrowd or not inst.present.any():
                continue
            start = int(inst.frames()[0])
            p = predicted.get(inst.id)
            pred_boxes = np.full((g_clip.num_frames, 4), np.nan)
            if p is not None:
                pred_boxes[p.present] = p.boxes[p.present]
            out.append(SOTSequence(
                name=f"{g_clip.name}/{inst.id}",
                gt_boxes=inst.boxes[start:].copy(),
                pred_boxes=pred_boxes[start:],
                visible=_visible(inst)[start:],
                width=g_clip.width,
                height=g_clip.height,
            ))
    return out


def sot_evaluate(gt: TrackletDataset, pred: TrackletDataset) -> dict:
    """``{"overall": sot_metrics(...), "per_sequence": {name: sot_metrics([seq])}}``."""
    sequences = sot_sequences(gt, pred)
    return {
        "overall": sot_metrics(sequences),
        "per_sequence": {s.name: sot_metrics([s]) for s in sequences},
    }
