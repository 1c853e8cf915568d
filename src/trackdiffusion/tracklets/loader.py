"""The clip loader: frames of a data set, a window of T frames, tracklet tensors and a caption.

Frames come from the image files a clip names (``frame_names``, relative to the image root)
or, when it names none, from one video per clip: ``<root>/videos/<clip>.mp4`` or
``<root>/<clip>.mp4``. Frames and boxes go through the same cover-resize + centre crop
(:func:`~trackdiffusion.tracklets.clip.resize_crop_params`).

Clips shorter than a window (``(T - 1) * stride + 1`` frames) raise one :class:`TrackletError`
naming each of them, or with ``skip_short=True`` are left out (``skipped`` lists them and a
warning gives the count). Legend: B batch, T frames, N instances, H, W model resolution.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset

from ..video.io import read_frames, read_mp4
from ..video.transform import resize_crop_frames
from .captions import caption_for, load_captions
from .clip import Clip
from .dataset import TrackletDataset
from .errors import Problem, TrackletError
from .formats import read_tracklets
from .phrases import read_split_phrases
from .tensors import clip_to_tensors, collate_tracklets

CAPTIONS_FILE = "captions.json"
VIDEOS_DIR = "videos"


def video_path(root: str | Path, clip_name: str) -> Path:
    """Where the split-directory layout keeps the mp4 of a clip."""
    return Path(root) / VIDEOS_DIR / f"{clip_name}.mp4"


def read_clip_frames(clip: Clip, image_root: str | Path, index: np.ndarray | None = None) -> np.ndarray:
    """The frames ``index`` (default all) of ``clip`` as ``uint8 [len(index), H, W, 3]``.

    Raises FileNotFoundError naming the clip and the paths tried when no frames are found.
    """
    root = Path(image_root)
    index = np.arange(clip.num_frames) if index is None else np.asarray(index)
    tried: list[Path] = []
    if clip.frame_names:
        paths = [root / clip.frame_names[i] for i in index]
        missing = [p for p in paths if not p.is_file()]
        if not missing:
            return _check_size(read_frames(paths), clip, paths[0])
        tried.append(missing[0])
    for candidate in (video_path(root, clip.name), root / f"{clip.name}.mp4"):
        if candidate.is_file():
            frames = read_mp4(candidate)
            if len(frames) < clip.num_frames:
                raise ValueError(f"{candidate}: {len(frames)} frames, clip {clip.name!r} has {clip.num_frames}")
            return _check_size(frames[index], clip, candidate)
        tried.append(candidate)
    raise FileNotFoundError(f"no frames for clip {clip.name!r}; tried {', '.join(map(str, tried))}")


def _check_size(frames: np.ndarray, clip: Clip, where: Path) -> np.ndarray:
    H, W = frames.shape[1:3]
    # write_mp4 pads odd sizes by one row/column; cut it off again.
    if 0 <= H - clip.height <= 1 and 0 <= W - clip.width <= 1:
        return frames[:, :clip.height, :clip.width]
    raise ValueError(f"{where}: frames are {W}x{H}, clip {clip.name!r} says {clip.width}x{clip.height}")


Window = Literal["random", "first", "center"]


class ClipDataset(Dataset):
    """Windows of T frames of each clip of a :class:`TrackletDataset`, at the model resolution.

    Each item is a dict: ``frames`` float ``[T, 3, H, W]`` in [-1, 1], ``tracklets`` a
    :class:`TrackletTensors` of the transformed window (instances absent from every frame of
    the window dropped), ``caption`` str, ``category_names`` (one per instance slot),
    ``clip`` (name) and ``start`` (first frame index).

    ``window``: ``random`` (training: drawn from ``(seed, epoch, index)``, so it does not depend
    on the DataLoader's workers; call :meth:`set_epoch` to move on), ``first`` or ``center``.
    ``captions`` overrides clip captions by name (a mapping or a caption file).
    """

    def __init__(self, dataset: TrackletDataset, image_root: str | Path | None = None, num_frames: int = 8,
                 stride: int = 1, width: int = 64, height: int | None = None, window: Window = "random",
                 seed: int = 0, captions: Mapping[str, str] | str | Path | None = None, skip_short: bool = False):
        if num_frames < 1 or stride < 1:
            raise ValueError(f"num_frames and stride must be >= 1, got {num_frames} and {stride}")
        if window not in ("random", "first", "center"):
            raise ValueError(f"window must be 'random', 'first' or 'center', got {window!r}")
        root = image_root if image_root is not None else dataset.image_root
        if root is None:
            raise ValueError(f"{dataset.source or 'data set'}: no image_root to read frames from")
        self.image_root = Path(root)
        self.num_frames, self.stride, self.window, self.seed = num_frames, stride, window, seed
        self.width, self.height = width, width if height is None else height
        self.captions = load_captions(captions) if isinstance(captions, (str, Path)) else captions
        self.epoch = 0
        span = self.span
        short = [c for c in dataset.clips if c.num_frames < span]
        if short and not skip_short:
            raise TrackletError([Problem(f"clip {c.name!r}", f"{c.num_frames} frames, a window of {num_frames} "
                                                              f"at stride {stride} needs {span}") for c in short])
        if short:
            warnings.warn(f"{dataset.source or 'data set'}: skipped {len(short)} clip(s) shorter than {span} frames",
                          stacklevel=2)
        self.skipped = [c.name for c in short]
        self.clips = [c for c in dataset.clips if c.num_frames >= span]

    @classmethod
    def from_dir(cls, split_dir: str | Path, **kwargs) -> "ClipDataset":
        """A split directory: its annotations (``read_tracklets``), and ``captions.json`` and
        ``phrases.json`` if present."""
        split_dir = Path(split_dir)
        if "captions" not in kwargs and (split_dir / CAPTIONS_FILE).is_file():
            kwargs["captions"] = split_dir / CAPTIONS_FILE
        dataset = read_tracklets(split_dir)
        read_split_phrases(dataset, split_dir)
        return cls(dataset, **kwargs)

    @property
    def span(self) -> int:
        """Frames a window covers: ``(T - 1) * stride + 1``."""
        return (self.num_frames - 1) * self.stride + 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def window_start(self, index: int) -> int:
        room = self.clips[index].num_frames - self.span
        if self.window == "first":
            return 0
        if self.window == "center":
            return room // 2
        return int(np.random.default_rng([self.seed, self.epoch, index]).integers(room + 1))

    def __getitem__(self, index: int) -> dict:
        return self.item(index, self.window_start(index))

    def item(self, index: int, start: int, frames: bool = True) -> dict:
        """The window of clip ``index`` that starts at frame ``start`` (``frames=False``: tracklets only)."""
        clip = self.clips[index]
        if not 0 <= start <= clip.num_frames - self.span:
            raise ValueError(f"clip {clip.name!r}: window start {start} outside [0, {clip.num_frames - self.span}]")
        tracks = clip.window(start, self.num_frames, self.stride).resize_crop(self.width, self.height)
        out = {
            "tracklets": clip_to_tensors(tracks),
            "caption": caption_for(tracks, self.captions),
            "category_names": [clip.categories[inst.category_id] for inst in tracks.instances],
            "phrases": [inst.phrase or "" for inst in tracks.instances],  # "" = no phrase
            "clip": clip.name,
            "start": start,
        }
        if frames:
            frame_index = start + self.stride * np.arange(self.num_frames)
            pixels = resize_crop_frames(read_clip_frames(clip, self.image_root, frame_index), self.width, self.height)
            out["frames"] = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return out


def collate_clips(items: list[dict]) -> dict:
    """A batch of :class:`ClipDataset` items: ``frames [B, T, 3, H, W]``, batched tracklets
    (N padded to the largest), and lists of captions, category names, phrases, clip names and starts."""
    return {
        "frames": torch.stack([it["frames"] for it in items]),
        "tracklets": collate_tracklets([it["tracklets"] for it in items]),
        "caption": [it["caption"] for it in items],
        "category_names": [it["category_names"] for it in items],
        "phrases": [it["phrases"] for it in items],
        "clip": [it["clip"] for it in items],
        "start": torch.tensor([it["start"] for it in items], dtype=torch.long),
    }
