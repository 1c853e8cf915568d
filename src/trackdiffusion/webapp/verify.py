"""Does the generated clip show each asked-for object? Re-detect it with the grounding tracker.

For every instance and every frame it is present in, the tracker's detection with the highest
IoU against the asked-for box is its re-detection (IoU 0 when the frame has no detection). An
instance is verified when its mean IoU over those frames reaches ``min_iou`` and the most
frequent category of its re-detections (counted where IoU >= ``min_iou``) is the asked-for one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..evaluation.boxes import pairwise_iou
from ..evaluation.tracker.inference import detect
from ..evaluation.tracker.model import GroundingTracker
from ..tracklets import Clip

MIN_IOU = 0.5


@dataclass
class InstanceCheck:
    id: int
    category: str
    mean_iou: float
    detected_category: str | None  # None: no re-detection reached min_iou
    verified: bool


def verify_clip(tracker: GroundingTracker, frames: np.ndarray, clip: Clip, min_iou: float = MIN_IOU) -> list[InstanceCheck]:
    """One :class:`InstanceCheck` per instance of ``clip`` (boxes in the pixels of ``frames [T, H, W, 3]``)."""
    detections, _ = detect(tracker, frames)
    names = tracker.config.categories
    out = []
    for inst in clip.instances:
        ious, found = [], []
        for t in inst.frames():
            d = detections[t]
            if not len(d):
                ious.append(0.0)
                continue
            iou = pairwise_iou(inst.boxes[t][None], d.boxes)[0]
            best = int(iou.argmax())
            ious.append(float(iou[best]))
            if iou[best] >= min_iou:
                found.append(names.get(int(d.categories[best]), str(int(d.categories[best]))))
        asked = clip.categories[inst.category_id]
        mean_iou = float(np.mean(ious)) if ious else 0.0
        detected = Counter(found).most_common(1)[0][0] if found else None
        out.append(InstanceCheck(inst.id, asked, mean_iou, detected, mean_iou >= min_iou and _same(detected, asked)))
    return out


def _same(detected: str | None, asked: str) -> bool:
    return detected is not None and detected.strip().lower() == asked.strip().lower()


def check_rows(checks: list[InstanceCheck]) -> list[list]:
    """Rows of the verification table: id, category, mean IoU, re-detected as, verified."""
    return [[c.id, c.category, round(c.mean_iou, 3), c.detected_category or "-", "yes" if c.verified else "no"]
            for c in checks]
