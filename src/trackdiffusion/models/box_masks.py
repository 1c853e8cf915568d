"""Which cells of an ``h x w`` feature map each box touches.

Used by the box-restricted attention variant (a visual token only reads the instances whose box
covers it) and by the foreground re-weighting of the loss. A cell ``[y, y + 1/h) x [x, x + 1/w)``
is touched when it overlaps the box with positive area.
"""

from __future__ import annotations

import torch


def box_cell_mask(boxes: torch.Tensor, present: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """
    Args:
        boxes: ``[..., N, 4]`` normalized xyxy.
        present: ``[..., N]`` bool.
        height, width: the map's ``h, w``.

    Returns:
        ``[..., N, h, w]`` bool, False everywhere for absent boxes.
    """
    ys = torch.arange(height, device=boxes.device, dtype=boxes.dtype) / height
    xs = torch.arange(width, device=boxes.device, dtype=boxes.dtype) / width
    x0, y0, x1, y1 = (boxes[..., i, None] for i in range(4))  # [..., N, 1]
    in_y = (y1 > ys) & (y0 < ys + 1.0 / height)  # [..., N, h]
    in_x = (x1 > xs) & (x0 < xs + 1.0 / width)  # [..., N, w]
    return in_y[..., :, None] & in_x[..., None, :] & present[..., None, None]
