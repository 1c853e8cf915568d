"""Frechet Video Distance (Unterthiner et al. 2018) with the Inception-I3D of :mod:`.i3d`.

Protocol, per video: the first ``clip_length`` (16) frames make its one clip; longer videos are
cut (only the first clip counts, as in the common "first 16 frames" protocol), shorter ones are
refused with their name (use a smaller ``clip_length``; I3D needs at least 9). Frames are
resized bilinearly to ``resolution x resolution`` (224; ``torch.nn.functional.interpolate``,
``align_corners=False``, no antialiasing, as the PyTorch FVD ports do; TF1's legacy resize samples
slightly differently), scaled to ``[-1, 1]`` by ``x / 127.5 - 1``, fed as ``[B, 3, T, H, W]``;
features are the 400 Kinetics logits. FVD is the Frechet distance between Gaussians fitted to the
real and the generated features (:mod:`.frechet`).

The number depends on the clip count (the usual protocol: 2048 vs 2048), clip length and
resolution, so :class:`FVDResult` carries them and prints them with the value.

Sanity check for users with the real ``rgb_imagenet.pt`` weights: 16 all-zero videos against 16
all-255 videos of 15 frames at 64 x 64 (``clip_length=15``) give about 131 in the reference TF
implementation. Constant frames make the resize convention irrelevant, so the value should be
reproduced closely. (It cannot be checked here: no weights can be downloaded.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..video.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frame_files, read_video
from .frechet import frechet_distance_from_features
from .i3d import MIN_FRAMES, load_i3d

CLIP_LENGTH = 16
RESOLUTION = 224


@dataclass
class FVDResult:
    """An FVD value with the settings that determine it."""

    fvd: float
    num_real: int
    num_generated: int
    clip_length: int
    resolution: int

    def __str__(self) -> str:
        return (f"FVD {self.fvd:.2f} ({self.num_real} real vs {self.num_generated} generated clips, "
                f"{self.clip_length} frames at {self.resolution}x{self.resolution})")


def preprocess(video: np.ndarray, clip_length: int = CLIP_LENGTH, resolution: int = RESOLUTION,
               name: str = "video") -> torch.Tensor:
    """uint8 frames ``[T, H, W, 3]`` -> the clip ``[3, clip_length, resolution, resolution]`` in [-1, 1]."""
    if clip_length < MIN_FRAMES:
        raise ValueError(f"clip_length {clip_length} is too short: I3D needs at least {MIN_FRAMES} frames")
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"{name}: expected frames [T, H, W, 3], got shape {video.shape}")
    if video.shape[0] < clip_length:
        raise ValueError(f"{name} has {video.shape[0]} frames; FVD clips take {clip_length} "
                         f"(pass a smaller clip length, at least {MIN_FRAMES})")
    frames = torch.from_numpy(np.ascontiguousarray(video[:clip_length])).float()  # [T, H, W, 3]
    frames = F.interpolate(frames.permute(0, 3, 1, 2), size=(resolution, resolution), mode="bilinear",
                           align_corners=False, antialias=False)  # [T, 3, R, R]
    return (frames / 127.5 - 1.0).permute(1, 0, 2, 3).contiguous()  # [3, T, R, R]


def extract_features(videos: Iterable[np.ndarray], model: nn.Module, clip_length: int = CLIP_LENGTH,
                     resolution: int = RESOLUTION, batch_size: int = 4,
                     names: Sequence[str] | None = None) -> np.ndarray:
    """Features ``[N, D]`` (I3D logits) of the first clip of each video, computed in batches."""
    device = next(model.parameters()).device
    features, batch = [], []

    def flush() -> None:
        with torch.inference_mode():
            features.append(model(torch.stack(batch).to(device)).double().cpu().numpy())
        batch.clear()

    for n, video in enumerate(videos):
        name = names[n] if names is not None else f"video {n}"
        batch.append(preprocess(video, clip_length, resolution, name))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not features:
        raise ValueError("no videos to compute features of")
    return np.concatenate(features)


def fvd(real: Iterable[np.ndarray], generated: Iterable[np.ndarray], model: nn.Module,
        clip_length: int = CLIP_LENGTH, resolution: int = RESOLUTION, batch_size: int = 4,
        real_names: Sequence[str] | None = None, generated_names: Sequence[str] | None = None) -> FVDResult:
    """FVD of ``generated`` against ``real`` videos (uint8 ``[T, H, W, 3]`` each, >= 2 per side)."""
    a = extract_features(real, model, clip_length, resolution, batch_size, real_names)
    b = extract_features(generated, model, clip_length, resolution, batch_size, generated_names)
    return FVDResult(fvd=frechet_distance_from_features(a, b), num_real=len(a), num_generated=len(b),
                     clip_length=clip_length, resolution=resolution)


def list_videos(directory: str | Path) -> list[Path]:
    """The videos of ``directory`` in name order: video files (``.mp4``, ``.gif``, ...) and
    sub-folders of frame images, each one video (read with :func:`trackdiffusion.video.io.read_video`)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"video folder {str(directory)!r} does not exist")
    found = [p for p in sorted(directory.iterdir())
             if (p.is_file() and p.suffix.lower() in (*VIDEO_SUFFIXES, ".gif"))
             or (p.is_dir() and list_frame_files(p))]
    if not found:
        raise FileNotFoundError(f"no videos in {str(directory)!r}: expected video files "
                                f"({', '.join((*VIDEO_SUFFIXES, '.gif'))}) or folders of frames "
                                f"({', '.join(IMAGE_SUFFIXES)})")
    return found


def fvd_from_dirs(real_dir: str | Path, generated_dir: str | Path, weights: str | Path | None,
                  clip_length: int = CLIP_LENGTH, resolution: int = RESOLUTION, batch_size: int = 4,
                  device: str = "cpu") -> FVDResult:
    """FVD between the videos of two folders (see :func:`list_videos`), I3D from ``weights``."""
    model = load_i3d(weights, device)
    real, generated = list_videos(real_dir), list_videos(generated_dir)
    # Generators: videos are decoded one at a time, so only a batch is held in memory.
    return fvd((read_video(p) for p in real), (read_video(p) for p in generated), model,
               clip_length, resolution, batch_size,
               real_names=[str(p) for p in real], generated_names=[str(p) for p in generated])
