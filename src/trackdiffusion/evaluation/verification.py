"""Closed-loop verification: does a generated clip show the tracklets it was conditioned on?

A tracker (the grounding tracker, or any tracker's results) is run on the generated frames and
each conditioning instance is matched one-to-one (Hungarian, on spatio-temporal IoU) to a
predicted track. Spatio-temporal IoU of an instance and a track: the sum over frames of their
boxes' intersection area divided by the sum over frames of their union area, where a frame in
which only one of them is present adds that box's area to the union. An instance passes when its
STIoU reaches ``min_iou`` and (with ``require_category``) the track's category has the
instance's category name; a clip passes when every instance that is not a crowd region passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..tracklets import Clip, TrackletDataset
from .boxes import box_area, intersection_area


def st_iou(a_boxes: np.ndarray, a_present: np.ndarray, b_boxes: np.ndarray, b_present: np.ndarray) -> float:
    """Spatio-temporal IoU of two tracks (boxes ``[T, 4]`` xyxy, present ``[T]``)."""
    both = a_present & b_present
    inter = float(intersection_area(a_boxes[both], b_boxes[both]).sum()) if both.any() else 0.0
    union = (float(box_area(a_boxes[a_present]).sum()) + float(box_area(b_boxes[b_present]).sum()) - inter)
    return inter / union if union > 0 else 0.0


def match_instances(conditioning: Clip, predicted: Clip) -> dict[int, dict]:
    """Per conditioning instance (non-crowd): ``{"iou", "track", "category_ok"}`` of its matched track."""
    wanted = [inst for inst in conditioning.instances if not inst.iscrowd and inst.present.any()]
    tracks = [p for p in predicted.instances if p.present.any()]
    iou = np.array([[st_iou(g.boxes, g.present, p.boxes, p.present) for p in tracks] for g in wanted])
    iou = iou.reshape(len(wanted), len(tracks))  # [instances, tracks], also when either is empty
    rows, cols = linear_sum_assignment(-iou) if iou.size else ([], [])
    found = dict(zip(rows, cols))
    out = {}
    for r, inst in enumerate(wanted):
        c = found.get(r)
        track = tracks[c] if c is not None else None
        name = conditioning.categories.get(inst.category_id)
        out[inst.id] = {
            "iou": round(float(iou[r, c]), 6) if c is not None else 0.0,
            "track": track.id if track is not None else None,
            "category_ok": track is not None and predicted.categories.get(track.category_id) == name,
        }
    return out


@dataclass
class Thresholds:
    min_iou: float = 0.5
    require_category: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_iou <= 1.0:
            raise ValueError(f"min IoU must be in [0, 1], got {self.min_iou}")


def judge(conditioning: Clip, predicted: Clip, thresholds: Thresholds) -> dict:
    """The verification result of one clip: ``passed``, ``failed_instances`` and per-instance details."""
    instances = match_instances(conditioning, predicted)
    failed = [i for i, r in instances.items()
              if r["iou"] < thresholds.min_iou or (thresholds.require_category and not r["category_ok"])]
    return {"passed": not failed, "failed_instances": failed,
            "instances": {str(i): r for i, r in instances.items()},
            "min_iou": min((r["iou"] for r in instances.values()), default=1.0)}


class TrackerVerifier:
    """Verification with the grounding tracker (what ``generate --verify`` uses)."""

    def __init__(self, tracker: str | Path, min_iou: float = 0.5, require_category: bool = True):
        from ..pipelines.fingerprint import checkpoint_hash
        from .tracker.model import GroundingTracker

        self.path = Path(tracker)
        self.model = GroundingTracker.from_pretrained(self.path)
        self.thresholds = Thresholds(min_iou, require_category)
        self._hash = checkpoint_hash(self.path)

    def settings(self) -> dict:
        return {"tracker": self._hash, "min_iou": self.thresholds.min_iou,
                "require_category": self.thresholds.require_category}

    def track(self, frames: np.ndarray, name: str) -> Clip:
        from .tracker.inference import track_frames

        return track_frames(self.model, frames, name).clip

    def check(self, frames: np.ndarray, labels: Clip) -> dict:
        return judge(labels, self.track(frames, labels.name), self.thresholds)


def verify_dataset(conditioning: TrackletDataset, predicted: TrackletDataset, thresholds: Thresholds) -> dict[str, dict]:
    """``judge`` of every clip of ``conditioning`` against the clip of the same name in ``predicted``
    (no such clip: nothing was found)."""
    by_name = {c.name: c for c in predicted.clips}
    out = {}
    for clip in conditioning.clips:
        pred = by_name.get(clip.name) or Clip(clip.name, clip.width, clip.height, clip.num_frames, predicted.categories)
        out[clip.name] = judge(clip, pred, thresholds)
    return out
