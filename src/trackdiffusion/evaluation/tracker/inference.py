"""Running the grounding tracker on clips: multi-object tracks, single-object follows, features.

* MOT: detections of every frame (:mod:`.decode`) associated into scored tracks
  (:mod:`.association`), as a predicted :class:`Clip` that ``track_ap`` scores.
* SOT (the GOT-10k columns): each ground-truth instance is given its box in its first present
  frame, as a single-object tracker is. It follows the track that box overlaps most there
  (IoU >= ``SOT_MIN_IOU``); where none does (the object is hidden, or missed, in that frame) the
  track whose appearance is closest to the embedding at the box centre, if the similarity
  reaches ``reid_similarity``. The prediction is the given box in the first frame and the
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
from .decode import Detections, decode_detections
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


@torch.no_grad()
def detect(model: GroundingTracker, frames: np.ndarray) -> tuple[list[Detections], torch.Tensor, np.ndarray]:
    """Detections (clip pixels), embedding maps ``[T, D, h, w]`` and features ``[T, F]`` of
    ``frames [T, H, W, 3]`` uint8."""
    model.eval()
    config = model.config
    T, H, W, _ = frames.shape
    device = next(model.parameters()).device
    pixels = frames_to_tensor(resize_frames(frames, config.input_size))
    outputs = [model(pixels[i:i + _BATCH].to(device)) for i in range(0, T, _BATCH)]
    detections = []
    for out in outputs:
        detections += decode_detections(out, config, config.association.detection_threshold)
    scale_x, scale_y = W / config.input_size, H / config.input_size
    embeddings = torch.cat([o.embedding.cpu() for o in outputs])
    features = torch.cat([o.features.cpu() for o in outputs]).double().numpy()
    return [d.scaled(scale_x, scale_y) for d in detections], embeddings, features


def track_frames(model: GroundingTracker, frames: np.ndarray, name: str = "clip",
                 given: Clip | None = None) -> ClipTracking:
    """Track ``frames [T, H, W, 3]``; with ``given`` (the clip's ground truth) also follow each
    of its instances from its first box (SOT)."""
    T, H, W, _ = frames.shape
    config = model.config
    detections, embeddings, features = detect(model, frames)
    tracks = associate(detections, config.association)
    clip = tracks_to_clip(tracks, name, T, W, H, config.categories, config.association)
    followed = None
    if given is not None:
        if (given.num_frames, given.height, given.width) != (T, H, W):
            raise ValueError(f"clip {name!r}: frames {T}x{H}x{W} do not match its tracklets' "
                             f"{given.num_frames}x{given.height}x{given.width}")
        followed = follow_instances(clip, tracks, embeddings, given, config.stride * W / config.input_size,
                                    config.stride * H / config.input_size, config.association.reid_similarity)
    return ClipTracking(clip=clip, followed=followed, features=features.mean(0))


def follow_instances(tracked: Clip, tracks: list[Track], embeddings: torch.Tensor, given: Clip,
                     cell_w: float, cell_h: float, min_similarity: float) -> Clip:
    """SOT predictions: each instance of ``given`` followed from its first box (module docstring).

    ``embeddings [T, D, h, w]`` are the tracker's maps, ``cell_w x cell_h`` the clip pixels of a cell.
    """
    by_id = {tr.id: tr for tr in tracks}
    h, w = embeddings.shape[-2:]
    out = []
    for inst in given.instances:
        if inst.iscrowd or not inst.present.any():
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
            if later:
                col = min(int((box0[0] + box0[2]) / 2 / cell_w), w - 1)
                row = min(int((box0[1] + box0[3]) / 2 / cell_h), h - 1)
                query = embeddings[t0, :, row, col].double().numpy()
                sim = np.array([by_id[p.id].embedding @ query for p in later])
                if sim.max() >= min_similarity:
                    chosen = later[int(sim.argmax())]
        boxes = np.full_like(inst.boxes, np.nan)
        boxes[t0] = box0
        if chosen is not None:
            after = np.arange(t0 + 1, given.num_frames)
            boxes[after] = chosen.boxes[after]
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
