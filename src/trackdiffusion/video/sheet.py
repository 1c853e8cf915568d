"""Contact sheets: one row per clip, one column per frame, optional row labels.

Legend: T frames, H, W frame size.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .draw import font

_BACKGROUND = (24, 24, 24)
_LABEL_COLOUR = (235, 235, 235)


def frame_stride(num_frames: int, max_frames: int | None) -> int:
    """The smallest stride that shows at most ``max_frames`` of ``num_frames`` frames."""
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    return 1 if max_frames is None else max(1, math.ceil(num_frames / max_frames))


def pick_frames(num_frames: int, max_frames: int | None) -> np.ndarray:
    """Frames ``0, k, 2k, ...``: at most ``max_frames`` spread over the clip at one stride ``k``.

    One stride (not rounded even spacing) keeps the picked frames a :meth:`Clip.window`.
    """
    return np.arange(0, num_frames, frame_stride(num_frames, max_frames))


def contact_sheet(rows: list[np.ndarray], labels: list[str] | None = None, max_frames: int | None = None,
                  gap: int = 2) -> np.ndarray:
    """One image of ``rows`` (each ``uint8 [T, H, W, 3]``); returns ``uint8 [H', W', 3]``.

    Cells are as large as the largest frame; shorter rows leave empty cells. ``labels`` (one per
    row) are written in a column on the left. ``max_frames`` keeps at most that many frames
    (see :func:`pick_frames`).
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"{len(labels)} labels for {len(rows)} rows")
    rows = [np.asarray(r) for r in rows]
    bad = [i for i, r in enumerate(rows) if r.ndim != 4 or r.shape[-1] != 3 or r.dtype != np.uint8]
    if bad:
        raise ValueError(f"rows {bad} are not uint8 [T, H, W, 3]")
    rows = [r[pick_frames(len(r), max_frames)] for r in rows]
    cell_h = max(r.shape[1] for r in rows)
    cell_w = max(r.shape[2] for r in rows)
    columns = max(len(r) for r in rows)
    size = int(min(24, max(10, cell_h // 10)))
    label_w = 0
    if labels:
        label_w = max(int(font(size).getlength(text)) for text in labels) + 2 * gap + 4
    height = gap + len(rows) * (cell_h + gap)
    width = label_w + gap + columns * (cell_w + gap)
    sheet = np.empty((height, width, 3), dtype=np.uint8)
    sheet[:] = _BACKGROUND
    for i, row in enumerate(rows):
        y = gap + i * (cell_h + gap)
        for j, frame in enumerate(row):
            x = label_w + gap + j * (cell_w + gap)
            sheet[y:y + frame.shape[0], x:x + frame.shape[1]] = frame
    if labels:
        image = Image.fromarray(sheet)
        draw = ImageDraw.Draw(image)
        f = font(size)
        for i, text in enumerate(labels):
            y = gap + i * (cell_h + gap) + cell_h // 2
            draw.text((gap + 2, y), text, fill=_LABEL_COLOUR, font=f, anchor="lm")
        sheet = np.asarray(image)
    return sheet
