"""Builders of tiny clips and data sets for the evaluation tests."""

from __future__ import annotations

import numpy as np

from trackdiffusion.tracklets.clip import Clip, Instance
from trackdiffusion.tracklets.dataset import TrackletDataset

CATEGORIES = {1: "person", 2: "car", 3: "dog"}


def track(inst_id: int, boxes: list, category: int = 1, score: float | None = None,
          iscrowd: bool = False, visibility: list | None = None) -> Instance:
    """An instance from per-frame xyxy boxes, ``None`` where absent."""
    present = np.array([b is not None for b in boxes], dtype=bool)
    arr = np.array([b if b is not None else [np.nan] * 4 for b in boxes], dtype=np.float64)
    return Instance(
        id=inst_id, category_id=category, boxes=arr, present=present,
        score=None if score is None else np.full(len(boxes), float(score)),
        visibility=None if visibility is None else np.asarray(visibility, dtype=np.float64),
        iscrowd=iscrowd,
    )


def clip(name: str, instances: list[Instance], width: int = 640, height: int = 480,
         num_frames: int | None = None, video_id: int | None = None) -> Clip:
    num_frames = num_frames if num_frames is not None else (instances[0].num_frames if instances else 1)
    return Clip(name=name, width=width, height=height, num_frames=num_frames, categories=CATEGORIES,
                instances=instances, video_id=video_id)


def dataset(*clips: Clip) -> TrackletDataset:
    return TrackletDataset(clips=list(clips), categories=CATEGORIES)
