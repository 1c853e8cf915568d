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
an object). A track's category is the one of highest objectness-weighted mean probability over
its detections; a detection's score for the track is its value on that category's heatmap,
``objectness * probability``, and the track score is the mean of these. Frames a track was
missed in between two detections are filled by linear interpolation (the object was occluded),
unless one of the two boxes touches the frame edge (it may have left the frame). Before its
first and after its last detection a track is extended with its velocity at that end for as
long as the extended box stays clear of the frame edge and another track covers at least
``hidden_cover`` of it: the object is hidden behind that one, as one that appears from behind
another was before. A filled or extended frame's score is the track score, which so stays the
mean over its frames. Legend: T frames, N tracks, K detections of a frame, D embedding size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...tracklets.clip import Clip, Instance
from ..boxes import box_area, intersection_area, pairwise_iou
from .config import AssociationConfig
from .decode import Detections

_VELOCITY_SPAN = 3  # detections the velocity is measured over (smooths box noise)
_FORBIDDEN = 1e6


@dataclass
class Track:
    """One identity: its detections (frame, box, objectness, category probabilities ``[C]`` over
    ``category_ids``) and running appearance ``[D]``."""

    id: int
    embedding: np.ndarray
    category_ids: np.ndarray
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    class_probs: list[np.ndarray] = field(default_factory=list)

    def add(self, frame: int, dets: Detections, k: int, momentum: float) -> None:
        """Append detection ``k`` of ``dets`` (of frame ``frame``)."""
        self.frames.append(frame)
        self.boxes.append(np.asarray(dets.boxes[k], dtype=np.float64))
        self.scores.append(float(dets.scores[k]))
        self.class_probs.append(np.asarray(dets.class_probs[k], dtype=np.float64))
        embedding = dets.embeddings[k]
        if len(self.frames) == 1:
            self.embedding = embedding.astype(np.float64)
        else:
            mixed = momentum * self.embedding + (1 - momentum) * embedding
            self.embedding = mixed / max(float(np.linalg.norm(mixed)), 1e-12)

    def velocity(self, end: int) -> np.ndarray:
        """``[4]`` box change per frame over the first (``end = 0``) or last (``-1``) detections."""
        frames, boxes = (self.frames, self.boxes) if end == 0 else (self.frames[::-1], self.boxes[::-1])
        k = min(len(frames), _VELOCITY_SPAN) - 1
        return np.zeros(4) if k == 0 else (boxes[k] - boxes[0]) / (frames[k] - frames[0])

    def extrapolate(self, frame: int, end: int = -1) -> np.ndarray:
        """The box at ``frame`` if the object kept its velocity at ``end`` (its last detections by default)."""
        return self.boxes[end] + self.velocity(end) * (frame - self.frames[end])

    @property
    def channel(self) -> int:
        """Index of the track's category in ``category_ids``."""
        return int(np.argmax(np.asarray(self.scores) @ np.stack(self.class_probs)))

    @property
    def category(self) -> int:
        return int(self.category_ids[self.channel])

    def frame_scores(self) -> np.ndarray:
        """``[detections]`` objectness times the probability of the track's category."""
        return np.asarray(self.scores) * np.stack(self.class_probs)[:, self.channel]

    @property
    def score(self) -> float:
        return float(np.mean(self.frame_scores()))


def associate(detections: list[Detections], config: AssociationConfig) -> list[Track]:
    """Tracks of a clip from its per-frame ``detections`` (boxes in clip pixels)."""
    tracks: list[Track] = []
    for t, frame in enumerate(detections):
        dets = frame.take(np.flatnonzero(frame.scores >= config.detection_threshold))
        matched = np.zeros(len(dets), dtype=bool)
        if tracks and len(dets):
            predicted = np.stack([tr.extrapolate(t) for tr in tracks])  # [N, 4]
            iou = pairwise_iou(predicted, dets.boxes)  # [N, K]
            sim = np.stack([tr.embedding for tr in tracks]) @ dets.embeddings.T  # [N, K]
            allowed = (sim >= config.min_similarity) & ((iou >= config.min_iou) | (sim >= config.reid_similarity))
            affinity = config.iou_weight * iou + (1 - config.iou_weight) * sim
            cost = np.where(allowed, 1.0 - affinity, _FORBIDDEN)
            for n, k in zip(*linear_sum_assignment(cost)):
                if allowed[n, k]:
                    tracks[n].add(t, dets, k, config.embedding_momentum)
                    matched[k] = True
        for k in np.flatnonzero(~matched & (dets.scores >= config.birth_threshold)):
            track = Track(id=len(tracks) + 1, embedding=dets.embeddings[k], category_ids=dets.category_ids)
            track.add(t, dets, k, config.embedding_momentum)
            tracks.append(track)
    return [tr for tr in tracks if len(tr.frames) >= config.min_detections]


def _touches_border(box: np.ndarray, width: int, height: int, margin: float) -> bool:
    return bool(box[0] <= margin or box[1] <= margin or box[2] >= width - margin or box[3] >= height - margin)


def _extend_hidden(inst: Instance, track: Track, others: list[Instance], width: int, height: int,
                   config: AssociationConfig) -> None:
    """Extend ``inst`` in place before its first / after its last detection behind ``others``."""
    score = track.score
    for end, step in ((0, -1), (-1, 1)):
        t = track.frames[end] + step
        while 0 <= t < inst.num_frames and not inst.present[t]:
            box = track.extrapolate(t, end)
            if box[2] <= box[0] or box[3] <= box[1] or _touches_border(box, width, height, config.border_margin):
                break
            covers = [intersection_area(box, o.boxes[t]) for o in others if o.present[t]]
            if max(covers, default=0.0) < config.hidden_cover * box_area(box):
                break
            inst.boxes[t], inst.present[t], inst.score[t] = box, True, score
            t += step


def track_instance(track: Track, num_frames: int, width: int, height: int, config: AssociationConfig) -> Instance:
    """One track as a scored :class:`Instance` (gaps filled, boxes clipped to the frame)."""
    boxes = np.full((num_frames, 4), np.nan)
    scores = np.full(num_frames, np.nan)
    boxes[track.frames], scores[track.frames] = np.stack(track.boxes), track.frame_scores()
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
    if config.extend_hidden:
        # Occluders as tracked, before any extension: the result does not depend on the track order.
        snapshot = [Instance(i.id, i.category_id, i.boxes.copy(), i.present.copy()) for i in instances]
        for n, (inst, track) in enumerate(zip(instances, tracks)):
            _extend_hidden(inst, track, snapshot[:n] + snapshot[n + 1:], width, height, config)
    return Clip(name=name, width=width, height=height, num_frames=num_frames, categories=categories,
                instances=[i for i in instances if i.present.any()])
