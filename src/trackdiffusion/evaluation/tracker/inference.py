"""Running the grounding tracker on clips: multi-object tracks, single-object follows, features.

* MOT: detections of every frame (peaks and boxes from :mod:`.decode`, categories and
  embeddings from the identity head) associated into scored tracks (:mod:`.association`), as a
  predicted :class:`Clip` that ``track_ap`` scores.
* SOT (the GOT-10k columns): each ground-truth instance is given its box in its first present
  frame, as a single-object tracker is. It follows the track that box overlaps most there
  (IoU >= ``SOT_MIN_IOU``); where none does (the object is hidden, or missed, in that frame) the
  track whose appearance is closest to the identity head's embedding of the given box, if the
  similarity reaches ``reid_similarity``. The prediction is the given box in the first frame and the
  followed track's boxes after it, under the instance's id, so ``sot_evaluate`` pairs them.
* Features: the tracker's pooled stride-8 features averaged over a clip's frames, one vector
  per clip, for the weight-free Frechet distance (``FD-tracker``, not FVD).

Frames of any size are resized to the tracker's input size and boxes scaled back per axis, so
clips at other resolutions are tracked in their own pixel coordinates.
Legend: T frames, H, W frame size, S input size, D embedding size, F feature size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ...tracklets.clip import Clip, Instance
from ...tracklets.dataset import TrackletDataset
from ...tracklets.loader import read_clip_frames
from ..boxes import pairwise_iou
from .association import Track, associate, tracks_to_clip
from .data import frames_to_tensor, resize_frames
from .decode import Detections, decode_boxes
from .model import GroundingTracker

SOT_MIN_IOU = 0.3
_BATCH = 32  # frames per forward pass


@dataclass
class ClipTracking:
    """What the tracker found in one clip.

    Attributes:
        clip: the tracks as a predicted clip (clip pixels, ``Instance.score`` per frame).
        followed: one instance per non-crowd instance of the ground truth it was given (SOT),
            ``None`` when tracked without ground truth.
        features: ``[F]`` mean pooled features of the clip's frames.
    """

    clip: Clip
    followed: Clip | None
    features: np.ndarray


@dataclass
class TrackingResults:
    """Every clip of a data set: ``tracks`` and ``followed`` (SOT) data sets and ``features [clips, F]``."""

    tracks: TrackletDataset
    followed: TrackletDataset
    features: np.ndarray


def _input_pixels(model: GroundingTracker, frames: np.ndarray) -> torch.Tensor:
    """``frames [T, H, W, 3]`` uint8 -> the model's input ``[T, 3, S, S]`` in [-1, 1] on its device."""
    device = next(model.parameters()).device
    pixels = frames_to_tensor(resize_frames(frames, model.config.input_size))
    return pixels.to(device).contiguous(memory_format=torch.channels_last)


def _to_input(boxes: np.ndarray, width: int, height: int, size: int) -> np.ndarray:
    """Clip-pixel boxes ``[K, 4]`` -> input pixels."""
    return boxes * np.array([size / width, size / height] * 2)


@torch.no_grad()
def describe(model: GroundingTracker, pixels: torch.Tensor, frame_index: np.ndarray,
             boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category probabilities ``[K, C]`` and embeddings ``[K, D]`` of ``boxes [K, 4]`` (input
    pixels) in frames ``frame_index [K]`` of ``pixels [T, 3, S, S]``."""
    if len(boxes) == 0:
        return np.zeros((0, len(model.config.categories))), np.zeros((0, model.config.embed_dim))
    rois = torch.from_numpy(np.concatenate([np.asarray(frame_index)[:, None], boxes], 1)).float().to(pixels.device)
    logits, embeddings = model.identify(pixels, rois)
    return torch.softmax(logits, 1).double().cpu().numpy(), embeddings.double().cpu().numpy()


def detect(model: GroundingTracker, frames: np.ndarray) -> tuple[list[Detections], np.ndarray]:
    """Detections (clip pixels) and pooled features ``[T, F]`` of ``frames [T, H, W, 3]`` uint8."""
    _, H, W, _ = frames.shape
    return _detect(model, _input_pixels(model, frames), W, H)


@torch.no_grad()
def _detect(model: GroundingTracker, pixels: torch.Tensor, width: int,
            height: int) -> tuple[list[Detections], np.ndarray]:
    """:func:`detect` on the model's input ``pixels [T, 3, S, S]`` of ``width x height`` frames."""
    model.eval()
    config = model.config
    found, features = [], []
    for start in range(0, len(pixels), _BATCH):
        out = model(pixels[start:start + _BATCH])
        found += decode_boxes(out, config, config.association.detection_threshold)
        features.append(out.features.double().cpu().numpy())
    frame_index = np.concatenate([np.full(len(s), t) for t, (_, s) in enumerate(found)])
    probs, embeddings = describe(model, pixels, frame_index, np.concatenate([b for b, _ in found]).reshape(-1, 4))
    category_ids = np.array(config.category_ids)
    sx, sy = width / config.input_size, height / config.input_size
    detections = [Detections(boxes, scores, probs[frame_index == t], embeddings[frame_index == t],
                             category_ids).scaled(sx, sy) for t, (boxes, scores) in enumerate(found)]
    return detections, np.concatenate(features)


def track_frames(model: GroundingTracker, frames: np.ndarray, name: str = "clip",
                 given: Clip | None = None) -> ClipTracking:
    """Track ``frames [T, H, W, 3]``; with ``given`` (the clip's ground truth) also follow each
    of its instances from its first box (SOT)."""
    T, H, W, _ = frames.shape
    config = model.config
    pixels = _input_pixels(model, frames)
    detections, features = _detect(model, pixels, W, H)
    tracks = associate(detections, config.association)
    clip = tracks_to_clip(tracks, name, T, W, H, config.categories, config.association)
    followed = None
    if given is not None:
        if (given.num_frames, given.height, given.width) != (T, H, W):
            raise ValueError(f"clip {name!r}: frames {T}x{H}x{W} do not match its tracklets' "
                             f"{given.num_frames}x{given.height}x{given.width}")
        starts = [(inst, int(inst.frames()[0])) for inst in given.instances if not inst.iscrowd and inst.present.any()]
        boxes = np.array([inst.boxes[t0] for inst, t0 in starts]).reshape(-1, 4)
        _, queries = describe(model, pixels, np.array([t0 for _, t0 in starts], dtype=np.int64),
                              _to_input(boxes, W, H, config.input_size))
        followed = follow_instances(clip, tracks, given, dict(zip((inst.id for inst, _ in starts), queries)),
                                    config.association.reid_similarity)
    return ClipTracking(clip=clip, followed=followed, features=features.mean(0))


def follow_instances(tracked: Clip, tracks: list[Track], given: Clip, queries: dict[int, np.ndarray],
                     min_similarity: float) -> Clip:
    """SOT predictions: each instance of ``given`` followed from its first box (module docstring).

    ``queries`` maps instance ids to the appearance embedding ``[D]`` of their first box.
    """
    by_id = {tr.id: tr for tr in tracks}
    out = []
    for inst in given.instances:
        if inst.id not in queries:
            continue
        t0 = int(inst.frames()[0])
        box0 = inst.boxes[t0]
        here = [p for p in tracked.instances if p.present[t0]]
        chosen = None
        if here:
            iou = pairwise_iou(box0[None], np.stack([p.boxes[t0] for p in here]))[0]
            if iou.max() >= SOT_MIN_IOU:
                chosen = here[int(iou.argmax())]
        if chosen is None:
            later = [p for p in tracked.instances if p.present[t0 + 1:].any()]
            sim = np.array([by_id[p.id].embedding @ queries[inst.id] for p in later])
            if len(later) and sim.max() >= min_similarity:
                chosen = later[int(sim.argmax())]
        boxes = np.full_like(inst.boxes, np.nan)
        boxes[t0] = box0
        if chosen is not None:
            boxes[t0 + 1:] = chosen.boxes[t0 + 1:]
        present = np.all(np.isfinite(boxes), axis=1)
        out.append(Instance(id=inst.id, category_id=inst.category_id, boxes=boxes, present=present,
                            score=np.where(present, 1.0, np.nan)))
    return Clip(name=given.name, width=given.width, height=given.height, num_frames=given.num_frames,
                categories=given.categories, instances=out)


def track_dataset(model: GroundingTracker, dataset: TrackletDataset, image_root: str | Path | None = None,
                  follow: bool = True,
                  on_clip: Callable[[Clip, np.ndarray, ClipTracking], None] | None = None) -> TrackingResults:
    """Track every clip of ``dataset`` (frames from ``image_root``, default the data set's);
    with ``follow`` its instances are also followed from their first boxes (SOT).

    ``on_clip(clip, frames, result)`` is called after each clip, with its frames
    ``[T, H, W, 3]``: per-clip measurements need them, and reading them twice would cost time.
    """
    root = image_root or dataset.image_root
    if root is None:
        raise ValueError(f"{dataset.source or 'data set'}: no image root to read frames from")
    tracked, followed, features = [], [], []
    for clip in dataset.clips:
        frames = read_clip_frames(clip, root)
        result = track_frames(model, frames, clip.name, clip if follow else None)
        tracked.append(result.clip)
        if result.followed is not None:
            followed.append(result.followed)
        features.append(result.features)
        if on_clip is not None:
            on_clip(clip, frames, result)
    categories = model.config.categories
    return TrackingResults(
        tracks=TrackletDataset(tracked, categories, source=f"grounding tracker on {dataset.source}"),
        followed=TrackletDataset(followed, dataset.categories, source=f"grounding tracker (SOT) on {dataset.source}"),
        features=np.stack(features) if features else np.zeros((0, model.config.widths[-1])),
    )
