"""Tracklets drawn on frames: one stable colour per instance id, a ``category id`` label.

Legend: T frames, H, W frame size. A box covers the pixels ``[x0, x1) x [y0, y1)``; its outline
is drawn on the outermost rows and columns inside it, so a drawing never covers pixels outside
the annotated box.
"""

from __future__ import annotations

import colorsys
import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..tracklets.clip import Clip
from .transform import scale_frames

_GOLDEN = 0.618033988749895  # consecutive ids get hues far apart


def instance_colour(instance_id: int) -> tuple[int, int, int]:
    """The drawing colour of an instance id: the same in every frame, clip and command."""
    r, g, b = colorsys.hsv_to_rgb((instance_id * _GOLDEN) % 1.0, 0.85, 1.0)
    return round(r * 255), round(g * 255), round(b * 255)


def text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background``."""
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` pixels (no font files needed)."""
    return ImageFont.load_default(size=size)


def label_font_size(height: int, width: int) -> int:
    """A readable label size for an image of this size."""
    return int(min(24, max(10, round(min(height, width) / 24))))


def draw_label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, fill: tuple[int, int, int],
               size: int, bounds: tuple[int, int]) -> None:
    """``text`` on a filled tag whose bottom-left corner is at ``xy``, kept inside ``bounds (W, H)``.

    When there is no room above ``xy`` the tag goes below it (inside the box it labels).
    """
    f = font(size)
    left, top, right, bottom = f.getbbox(text)
    w, h = right - left + 4, bottom - top + 4
    x = min(max(0, xy[0]), max(0, bounds[0] - w))
    y = xy[1] - h if xy[1] - h >= 0 else xy[1]
    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=fill)
    draw.text((x + 2 - left, y + 2 - top), text, fill=text_colour(fill), font=f)


def _dashed_rectangle(draw: ImageDraw.ImageDraw, rect: tuple[int, int, int, int],
                      colour: tuple[int, int, int], width: int) -> None:
    l, t, r, b = rect
    dash = max(3, 2 * width)
    for x in range(l, r + 1, 2 * dash):
        x1 = min(x + dash - 1, r)
        draw.rectangle([x, t, x1, t + width - 1], fill=colour)
        draw.rectangle([x, b - width + 1, x1, b], fill=colour)
    for y in range(t, b + 1, 2 * dash):
        y1 = min(y + dash - 1, b)
        draw.rectangle([l, y, l + width - 1, y1], fill=colour)
        draw.rectangle([r - width + 1, y, r, y1], fill=colour)


def box_pixels(box: np.ndarray, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Inclusive pixel rectangle ``(left, top, right, bottom)`` of an xyxy box scaled by ``scale``."""
    x0, y0, x1, y1 = (float(v) * scale for v in box)
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right = min(width - 1, max(left, math.ceil(x1) - 1))
    bottom = min(height - 1, max(top, math.ceil(y1) - 1))
    return left, top, right, bottom


def _in_frame(box: np.ndarray, width: int, height: int) -> bool:
    x0, y0, x1, y1 = box
    return x1 > 0 and y1 > 0 and x0 < width and y0 < height


def draw_tracklets(frames: np.ndarray, clip: Clip, scale: float = 4, labels: bool = True,
                   dashed_below: float | None = 0.5, line_width: int | None = None) -> np.ndarray:
    """``frames [T, H, W, 3]`` scaled by ``scale`` with the boxes of ``clip`` drawn on them.

    Absent instances are not drawn; an instance whose visibility is below ``dashed_below``
    gets a dashed box (``None``: always solid). Labels read ``category id``.
    Returns ``uint8 [T, round(H * scale), round(W * scale), 3]``.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    T, H, W, _ = frames.shape
    if (T, H, W) != (clip.num_frames, clip.height, clip.width):
        raise ValueError(f"clip {clip.name!r} is {clip.num_frames} frames of {clip.width}x{clip.height}, "
                         f"the frames are {T} of {W}x{H}")
    out = scale_frames(frames, scale).copy()
    OH, OW = out.shape[1:3]
    lw = line_width or max(2, round(min(OH, OW) / 240))
    size = label_font_size(OH, OW)
    for t in range(T):
        image = Image.fromarray(out[t])
        draw = ImageDraw.Draw(image)
        tags = []
        for inst in clip.instances:
            # Boxes are kept as annotated; one wholly outside the frame has nothing to draw.
            if not inst.present[t] or not _in_frame(inst.boxes[t], clip.width, clip.height):
                continue
            colour = instance_colour(inst.id)
            rect = box_pixels(inst.boxes[t], scale, OW, OH)
            low = dashed_below is not None and inst.visibility is not None and inst.visibility[t] < dashed_below
            if low:
                _dashed_rectangle(draw, rect, colour, lw)
            else:
                draw.rectangle(rect, outline=colour, width=lw)
            tags.append((rect, f"{clip.categories.get(inst.category_id, inst.category_id)} {inst.id}", colour))
        if labels:  # after every box, so no box is drawn over a label
            for rect, text, colour in tags:
                draw_label(draw, (rect[0], rect[1]), text, colour, size, (OW, OH))
        out[t] = np.asarray(image)
    return out
