"""Detections of a clip's frames -> scored tracks (online association, offline gap filling).

Frame by frame, every track (seen recently or long lost) is a candidate for every detection:

* the track's box is predicted at the current frame with a constant velocity (from its last
  detections), and its appearance is the running mean of its detections' embeddings;
* ``affinity = iou_weight * IoU(predicted, detection) + (1 - iou_weight) * cosine similarity``;
  a pair is allowed when the similarity reaches ``min_similarity`` and either the boxes overlap
  (``IoU >= min_iou``) or the similarity reaches ``reid_similarity`` - the latter lets an object
  that left the frame, or hid behind another, take its old identity back wherever it reappears;
* the allowed pairs are matched one-to-one maximising the total affinity (Hungarian,
  ``scipy.optimize.linear_sum_assignment``); an unmatched detection scoring at least
  ``birth_threshold`` starts a new track. Tracks never die inside a clip (clips are short), so
  re-identification needs no memory limit.

Afterwards, tracks with fewer than ``min_detections`` detections are dropped (a flicker is not
an object) and each track's category is the score-weighted vote of its detections. Frames a
track was missed in between two detections are filled by linear interpolation (the object was
occluded), unless one of the two boxes touches the frame edge (it may have left the frame).
A filled frame's score is the track's mean, so the track score, the mean detection score,
is unchanged. Legend: T frames, N tracks, K detections of a frame, D embedding size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...tracklets.clip import Clip, Instance
from ..boxes import pairwise_iou
from .config import AssociationConfig
from .decode import Detections

_VELOCITY_SPAN = 3  # detections the velocity is measured over (smooths box noise)
_FORBIDDEN = 1e6


@dataclass
class Track:
    """One identity: its detections (frame, box, score, category) and running appearance ``[D]``."""

    id: int
    embedding: np.ndarray
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)

    def add(self, frame: int, box: np.ndarray, score: float, category: int, embedding: np.ndarray,
            momentum: float) -> None:
        self.frames.append(frame)
        self.boxes.append(np.asarray(box, dtype=np.float64))
        self.scores.append(float(score))
        self.categories.append(int(category))
        if len(self.frames) > 1:
            mixed = momentum * self.embedding + (1 - momentum) * embedding
            self.embedding = mixed / max(float(np.linalg.norm(mixed)), 1e-12)

    def predict(self, frame: int) -> np.ndarray:
        """The box expected at ``frame`` if the object kept its recent velocity."""
        first = max(0, len(self.frames) - _VELOCITY_SPAN)
        span = self.frames[-1] - self.frames[first]
        if span == 0:
            return self.boxes[-1]
        velocity = (self.boxes[-1] - self.boxes[first]) / span
        return self.boxes[-1] + velocity * (frame - self.frames[-1])

    @property
    def score(self) -> float:
        return float(np.mean(self.scores))

    @property
    def category(self) -> int:
        votes: dict[int, float] = {}
        for c, s in zip(self.categories, self.scores):
            votes[c] = votes.get(c, 0.0) + s
        return max(votes, key=votes.get)


def associate(detections: list[Detections], config: AssociationConfig) -> list[Track]:
    """Tracks of a clip from its per-frame ``detections`` (boxes in clip pixels)."""
    tracks: list[Track] = []
    for t, frame in enumerate(detections):
        dets = frame.take(np.flatnonzero(frame.scores >= config.detection_threshold))
        matched = np.zeros(len(dets), dtype=bool)
        if tracks and len(dets):
            predicted = np.stack([tr.predict(t) for tr in tracks])  # [N, 4]
            iou = pairwise_iou(predicted, dets.boxes)  # [N, K]
            sim = np.stack([tr.embedding for tr in tracks]) @ dets.embeddings.T  # [N, K]
            allowed = (sim >= config.min_similarity) & ((iou >= config.min_iou) | (sim >= config.reid_similarity))
            affinity = config.iou_weight * iou + (1 - config.iou_weight) * sim
            cost = np.where(allowed, 1.0 - affinity, _FORBIDDEN)
            for n, k in zip(*linear_sum_assignment(cost)):
                if allowed[n, k]:
                    tracks[n].add(t, dets.boxes[k], dets.scores[k], dets.categories[k], dets.embeddings[k],
                                  config.embedding_momentum)
                    matched[k] = True
        for k in np.flatnonzero(~matched & (dets.scores >= config.birth_threshold)):
            track = Track(id=len(tracks) + 1, embedding=dets.embeddings[k].astype(np.float64))
            track.add(t, dets.boxes[k], dets.scores[k], dets.categories[k], dets.embeddings[k],
                      config.embedding_momentum)
            tracks.append(track)
    return [tr for tr in tracks if len(tr.frames) >= config.min_detections]


def _touches_border(box: np.ndarray, width: int, height: int, margin: float) -> bool:
    return bool(box[0] <= margin or box[1] <= margin or box[2] >= width - margin or box[3] >= height - margin)


def track_instance(track: Track, num_frames: int, width: int, height: int, config: AssociationConfig) -> Instance:
    """One track as a scored :class:`Instance` (gaps filled, boxes clipped to the frame)."""
    boxes = np.full((num_frames, 4), np.nan)
    scores = np.full(num_frames, np.nan)
    boxes[track.frames], scores[track.frames] = np.stack(track.boxes), track.scores
    if config.fill_gaps:
        for (a, box_a), (b, box_b) in zip(zip(track.frames, track.boxes), zip(track.frames[1:], track.boxes[1:])):
            if b - a > 1 and not (_touches_border(box_a, width, height, config.border_margin)
                                  or _touches_border(box_b, width, height, config.border_margin)):
                w = (np.arange(a + 1, b) - a)[:, None] / (b - a)
                boxes[a + 1:b] = (1 - w) * box_a + w * box_b
    present = np.all(np.isfinite(boxes), axis=1)
    boxes[present] = np.clip(boxes[present], 0.0, [width, height, width, height])
    present &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes[~present] = np.nan
    scores = np.where(present, np.nan_to_num(scores, nan=track.score), np.nan)
    return Instance(id=track.id, category_id=track.category, boxes=boxes, present=present, score=scores)


def tracks_to_clip(tracks: list[Track], name: str, num_frames: int, width: int, height: int,
                   categories: dict[int, str], config: AssociationConfig) -> Clip:
    """The tracks of a clip as a predicted :class:`Clip` (ids are the track ids)."""
    instances = [track_instance(tr, num_frames, width, height, config) for tr in tracks]
    return Clip(name=name, width=width, height=height, num_frames=num_frames, categories=categories,
                instances=[i for i in instances if i.present.any()])
