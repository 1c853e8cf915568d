"""Training data of the grounding tracker: whole splits held in memory, batches drawn by step.

Every frame of every clip is resized once to the tracker's input size (aspect not kept, so
normalised box coordinates carry over unchanged) and kept as uint8, with its objects padded to
K slots. A batch is ``clips_per_batch`` clips times ``frames_per_clip`` distinct frames of each:
the frames of one clip give the contrastive loss its positives. Everything random in a batch
comes from ``(seed, step)``, so a resumed run draws what an uninterrupted one would.
Legend: F frames in the pool, K object slots, S input size, B frames per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...tracklets.clip import Clip
from ...tracklets.dataset import TrackletDataset
from ...tracklets.formats import read_tracklets
from ...tracklets.loader import read_clip_frames
from .targets import FrameTargets

_SUBSET_STREAM = 1


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """``frames [T, H, W, 3]`` uint8 resized to ``[T, size, size, 3]`` (aspect not kept).

    Shrinking averages the pixels each output pixel covers (box filter): a clip at ``k`` times
    the training size comes back with its edges as sharp as the training frames; growing is bilinear.
    """
    T, H, W, _ = frames.shape
    if (H, W) == (size, size):
        return frames
    method = Image.Resampling.BOX if H >= size and W >= size else Image.Resampling.BILINEAR
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), method)) for f in frames])


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[B, S, S, 3]`` -> float ``[B, 3, S, S]`` in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@dataclass
class FramePool:
    """Frames and padded objects of a set of clips.

    Attributes:
        frames: ``[F, S, S, 3]`` uint8.
        boxes: ``[F, K, 4]`` xyxy in input pixels, 0 where absent.
        present: ``[F, K]`` bool.
        visibility: ``[F, K]`` float.
        classes: ``[F, K]`` heatmap channel, -1 where absent.
        clip_start: ``[clips + 1]`` first frame of each clip in the pool (and the end).
    """

    frames: np.ndarray
    boxes: np.ndarray
    present: np.ndarray
    visibility: np.ndarray
    classes: np.ndarray
    clip_start: np.ndarray

    @property
    def num_clips(self) -> int:
        return len(self.clip_start) - 1

    @classmethod
    def concatenate(cls, pools: list["FramePool"]) -> "FramePool":
        K = max(p.boxes.shape[1] for p in pools)
        pad = lambda a, value: np.pad(a, [(0, 0), (0, K - a.shape[1])] + [(0, 0)] * (a.ndim - 2),  # noqa: E731
                                      constant_values=value)
        offsets = np.cumsum([0] + [len(p.frames) for p in pools])
        return cls(
            frames=np.concatenate([p.frames for p in pools]),
            boxes=np.concatenate([pad(p.boxes, 0.0) for p in pools]),
            present=np.concatenate([pad(p.present, False) for p in pools]),
            visibility=np.concatenate([pad(p.visibility, 0.0) for p in pools]),
            classes=np.concatenate([pad(p.classes, -1) for p in pools]),
            clip_start=np.concatenate([p.clip_start[:-1] + o for p, o in zip(pools, offsets)] + [offsets[-1:]]),
        )


def clip_objects(clip: Clip, size: int, channel: dict[int, int], slots: int) -> tuple[np.ndarray, ...]:
    """``boxes [T, K, 4]`` (input pixels), ``present [T, K]``, ``visibility [T, K]``, ``classes [T, K]``."""
    T = clip.num_frames
    boxes, present = np.zeros((T, slots, 4)), np.zeros((T, slots), dtype=bool)
    visibility, classes = np.zeros((T, slots)), np.full((T, slots), -1, dtype=np.int64)
    scale = np.array([size / clip.width, size / clip.height] * 2)
    for k, inst in enumerate(i for i in clip.instances if not i.iscrowd):
        p = inst.present
        boxes[p, k] = inst.boxes[p] * scale
        present[:, k] = p
        visibility[p, k] = 1.0 if inst.visibility is None else np.nan_to_num(inst.visibility[p], nan=1.0)
        classes[p, k] = channel[inst.category_id]
    return boxes, present, visibility, classes


def load_pool(dataset: TrackletDataset, size: int, category_ids: list[int],
              image_root: str | Path | None = None) -> FramePool:
    """Every frame of ``dataset`` at ``size x size``; categories outside ``category_ids`` are an error."""
    root = image_root or dataset.image_root
    if root is None:
        raise ValueError(f"{dataset.source or 'data set'}: no image root to read frames from")
    unknown = sorted({i.category_id for c in dataset.clips for i in c.instances} - set(category_ids))
    if unknown:
        raise ValueError(f"{dataset.source or 'data set'}: category ids {unknown} are not among the tracker's "
                         f"{category_ids}")
    channel = {cid: k for k, cid in enumerate(category_ids)}
    slots = max([sum(not i.iscrowd for i in c.instances) for c in dataset.clips] + [1])
    if not dataset.clips:
        raise ValueError(f"{dataset.source or 'data set'}: no clips to train on")
    frames = [resize_frames(read_clip_frames(clip, root), size) for clip in dataset.clips]
    objects = [clip_objects(clip, size, channel, slots) for clip in dataset.clips]
    boxes, present, visibility, classes = (np.concatenate([o[i] for o in objects]) for i in range(4))
    lengths = [c.num_frames for c in dataset.clips]
    return FramePool(np.concatenate(frames), boxes, present, visibility, classes,
                     clip_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


def read_split(path: str | Path, clip_names: list[str] | None = None) -> TrackletDataset:
    """A split folder (or any annotation ``read_tracklets`` reads), optionally only ``clip_names``."""
    dataset = read_tracklets(path)
    if clip_names is not None:
        wanted = set(clip_names)
        missing = wanted - {c.name for c in dataset.clips}
        if missing:
            raise KeyError(f"{path}: no clip(s) named {sorted(missing)[:5]}")
        dataset.clips = [c for c in dataset.clips if c.name in wanted]
    return dataset


def subset_clips(dataset: TrackletDataset, fraction: float, seed: int) -> TrackletDataset:
    """A seeded random ``fraction`` of the clips (at least one), in data set order."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    count = max(1, round(fraction * len(dataset.clips)))
    # A child stream of the seed: independent of the (seed, step) streams batches are drawn from.
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SUBSET_STREAM,)))
    keep = np.sort(rng.permutation(len(dataset.clips))[:count])
    return TrackletDataset([dataset.clips[i] for i in keep], dataset.categories, dataset.source,
                           dataset.image_root, dict(dataset.info))


@dataclass
class BatchSpec:
    clips_per_batch: int = 8
    frames_per_clip: int = 4
    flip: bool = True  # horizontal flips (the whole clip's frames together)
    colour_jitter: float = 0.15  # brightness / contrast change, fraction
    noise: float = 0.03  # std of added pixel noise at most (in [-1, 1] units)
    roi_jitter: float = 0.08  # identity-head boxes: each edge moved by up to this fraction of the size


def sample_batch(pool: FramePool, spec: BatchSpec, seed: int, step: int) -> tuple[torch.Tensor, FrameTargets]:
    """``frames [B, 3, S, S]`` in [-1, 1] and their targets, drawn from ``(seed, step)``."""
    rng = np.random.default_rng([seed, step])
    clips = rng.integers(pool.num_clips, size=spec.clips_per_batch)
    index, labels = [], []
    for c in clips:
        start, end = pool.clip_start[c], pool.clip_start[c + 1]
        picked = start + rng.choice(end - start, size=min(spec.frames_per_clip, end - start), replace=False)
        index.append(picked)
        labels.append(np.broadcast_to(c * pool.boxes.shape[1] + np.arange(pool.boxes.shape[1]),
                                      (len(picked), pool.boxes.shape[1])))
    counts = [len(i) for i in index]
    index = np.concatenate(index)
    frames = frames_to_tensor(pool.frames[index])
    boxes = pool.boxes[index].copy()
    S = pool.frames.shape[1]
    per_clip = lambda values: torch.from_numpy(np.repeat(values, counts).astype(np.float32))  # noqa: E731
    if spec.flip:
        flip = np.repeat(rng.random(len(clips)) < 0.5, counts)
        frames[flip] = frames[flip].flip(-1)
        boxes[flip] = np.stack([S - boxes[flip][..., 2], boxes[flip][..., 1], S - boxes[flip][..., 0],
                                boxes[flip][..., 3]], axis=-1)
    if spec.colour_jitter:
        gain = per_clip(1 + rng.uniform(-spec.colour_jitter, spec.colour_jitter, len(clips)))
        shift = per_clip(rng.uniform(-spec.colour_jitter, spec.colour_jitter, len(clips)))
        frames = frames * gain.view(-1, 1, 1, 1) + shift.view(-1, 1, 1, 1)
    if spec.noise:
        std = per_clip(rng.uniform(0, spec.noise, len(clips))).view(-1, 1, 1, 1)
        frames = frames + std * torch.from_numpy(rng.standard_normal(frames.shape).astype(np.float32))
    present = pool.present[index]
    boxes = np.where(present[..., None], boxes, 0.0)
    size = np.concatenate([boxes[..., 2:] - boxes[..., :2]] * 2, axis=-1)
    rois = boxes + size * rng.uniform(-spec.roi_jitter, spec.roi_jitter, boxes.shape)
    targets = FrameTargets(
        boxes=torch.from_numpy(boxes).float(),
        rois=torch.from_numpy(rois).float(),
        present=torch.from_numpy(present),
        visibility=torch.from_numpy(pool.visibility[index]).float(),
        classes=torch.from_numpy(pool.classes[index]),
        labels=torch.from_numpy(np.concatenate(labels)),
    )
    return frames.clamp(-1, 1), targets
