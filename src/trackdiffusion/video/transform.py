"""Resizing frames with the same geometry as the box transforms of :class:`Clip`.

Legend: T frames, H, W frame size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..tracklets.clip import resize_crop_params


def scale_frames(frames: np.ndarray, scale: float) -> np.ndarray:
    """``frames [T, H, W, 3]`` scaled by ``scale`` (output ``round(H * scale) x round(W * scale)``).

    Whole-number upscales repeat pixels, so tiny frames stay crisp and a box edge at pixel
    ``x`` lands exactly on ``x * scale``; other factors use Pillow's antialiased bilinear filter.
    """
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if scale == 1:
        return frames
    if float(scale).is_integer():
        k = int(scale)
        return np.repeat(np.repeat(frames, k, axis=1), k, axis=2)
    T, H, W, _ = frames.shape
    size = (max(1, round(W * scale)), max(1, round(H * scale)))
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames])


def resize_crop_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Cover-resize then centre-crop ``frames [T, H, W, 3]`` to ``[T, height, width, 3]``.

    The geometry is :func:`resize_crop_params`, the one :meth:`Clip.resize_crop` applies to
    boxes: output pixel ``x'`` samples source ``(x' + offset_x) / scale``. Pillow's ``box``
    argument takes that fractional source window directly, so frames and boxes cannot drift apart.
    """
    T, H, W, _ = frames.shape
    if (W, H) == (width, height):
        return frames
    sx, sy, ox, oy = resize_crop_params(W, H, width, height)
    box = (ox / sx, oy / sy, (ox + width) / sx, (oy + height) / sy)
    return np.stack([
        np.asarray(Image.fromarray(f).resize((width, height), Image.Resampling.BILINEAR, box=box))
        for f in frames
    ])
