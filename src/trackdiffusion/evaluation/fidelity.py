"""Where generated clips fall short, measured apart: localisation, category, background.

TrackAP needs three things at once: an object where the box is, of the box's category, on a
background the detector is not distracted by. These measures take them one at a time:

* ``AgnAP``: TrackAP with every category merged into one (ground truth and tracks alike), so
  only localisation and association count.
* ``ClsAcc``: the tracker's category accuracy on the ground-truth boxes (its identity head read
  at each annotated box of every present frame where the object is at least half visible, crowd
  regions excluded; chance = 1 / categories).
* ``BgStd``: how busy the background is: the per-channel standard deviation (0-255) of the
  pixels outside every box (a one-pixel margin around each box excluded), mean over channels and
  frames.

Legend: T frames, H, W frame size, K boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset
from .trackap import track_ap
from .tracker.inference import _input_pixels, _to_input, describe, track_dataset
from .tracker.model import GroundingTracker

_MARGIN = 1  # pixels around a box that still count as the object (anti-aliased edges)
_MIN_VISIBILITY = 0.5  # below this a box shows too little of its object to name the category


def agnostic(dataset: TrackletDataset) -> TrackletDataset:
    """A copy of ``dataset`` with every instance in one category ``object`` (id 1)."""
    clips = []
    for clip in dataset.clips:
        c = clip.copy()
        c.categories = {1: "object"}
        for inst in c.instances:
            inst.category_id = 1
        clips.append(c)
    return TrackletDataset(clips, {1: "object"}, source=dataset.source, image_root=dataset.image_root)


def agnostic_ap(gt: TrackletDataset, tracks: TrackletDataset) -> float:
    """TrackAP (x100) with categories merged."""
    return track_ap(agnostic(gt), agnostic(tracks))["AP"]


@dataclass
class ClassCounts:
    correct: int = 0
    total: int = 0

    def add(self, other: "ClassCounts") -> None:
        self.correct += other.correct
        self.total += other.total

    @property
    def accuracy(self) -> float:
        """x100; nan without boxes."""
        return 100.0 * self.correct / self.total if self.total else float("nan")


@torch.no_grad()
def class_counts(model: GroundingTracker, frames: np.ndarray, clip: Clip,
                 labels: dict[int, str] | None = None) -> ClassCounts:
    """The tracker's category calls on the annotated boxes of ``clip`` in ``frames [T, H, W, 3]``.

    ``labels`` (instance id -> category name) overrides what counts as right (e.g. the category
    a clip was generated with when it differs from the annotation); default: the annotation.
    """
    T, H, W, _ = frames.shape
    names = list(model.config.categories.values())
    index, boxes, truth = [], [], []
    for inst in clip.instances:
        if inst.iscrowd:
            continue
        name = labels[inst.id] if labels is not None else clip.categories[inst.category_id]
        if name not in names:
            raise ValueError(f"clip {clip.name!r}: category {name!r} is not one of the tracker's {names}")
        visible = inst.present if inst.visibility is None else inst.present & (inst.visibility >= _MIN_VISIBILITY)
        for t in np.flatnonzero(visible):
            index.append(t)
            boxes.append(inst.boxes[t])
            truth.append(names.index(name))
    if not boxes:
        return ClassCounts()
    pixels = _input_pixels(model, frames)
    probs, _ = describe(model, pixels, np.asarray(index, dtype=np.int64),
                        _to_input(np.asarray(boxes), W, H, model.config.input_size))
    return ClassCounts(int((probs.argmax(1) == np.asarray(truth)).sum()), len(truth))


def background_std(frames: np.ndarray, clip: Clip) -> float:
    """``BgStd`` of one clip (nan when boxes cover every pixel)."""
    T, H, W, _ = frames.shape
    outside = np.ones((T, H, W), dtype=bool)
    for inst in clip.instances:
        for t in inst.frames():
            x0, y0, x1, y1 = inst.boxes[t]
            ys = slice(max(0, int(np.floor(y0)) - _MARGIN), max(0, int(np.ceil(y1)) + _MARGIN))
            xs = slice(max(0, int(np.floor(x0)) - _MARGIN), max(0, int(np.ceil(x1)) + _MARGIN))
            outside[t, ys, xs] = False
    values = [frames[t][outside[t]].astype(np.float64).std(0).mean() for t in range(T) if outside[t].sum() > 1]
    return float(np.mean(values)) if values else float("nan")


def fidelity_row(model: GroundingTracker, clips: TrackletDataset) -> dict[str, float]:
    """``TrackAP``, ``AgnAP``, ``ClsAcc`` and ``BgStd`` of the clips of ``clips`` (frames from its
    image root) against its own tracklets."""
    counts, stds = ClassCounts(), []

    def measure(clip: Clip, frames: np.ndarray, _result) -> None:
        counts.add(class_counts(model, frames, clip))
        stds.append(background_std(frames, clip))

    tracks = track_dataset(model, clips, follow=False, on_clip=measure).tracks
    return {"TrackAP": track_ap(clips, tracks)["AP"], "AgnAP": agnostic_ap(clips, tracks),
            "ClsAcc": counts.accuracy, "BgStd": float(np.nanmean(stds)) if stds else float("nan")}
