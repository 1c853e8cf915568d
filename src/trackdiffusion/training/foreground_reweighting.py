"""Foreground re-weighting of the diffusion loss (paper Sec. 4.3, Table 5; after GeoDiffusion).

Latent cells touched by a present box get weight ``w`` (default 2.0), the rest 1; each clip's map
is then divided by its mean, so the loss scale does not depend on how much of the clip is covered.
"""

from __future__ import annotations

import torch


def foreground_weights(boxes: torch.Tensor, present: torch.Tensor, height: int, width: int,
                       weight: float = 2.0) -> torch.Tensor:
    """
    Args:
        boxes: ``[B, T, N, 4]`` normalized xyxy.
        present: ``[B, T, N]`` bool.
        height, width: latent resolution ``h, w``.
        weight: the foreground weight ``w``.

    Returns:
        ``[B, 1, T, h, w]`` weights with mean 1 per clip.
    """
    B, T, N, _ = boxes.shape
    ys = torch.arange(height, device=boxes.device, dtype=boxes.dtype) / height  # cell top edges
    xs = torch.arange(width, device=boxes.device, dtype=boxes.dtype) / width
    x0, y0, x1, y1 = (boxes[..., i, None] for i in range(4))  # [B, T, N, 1]
    # A cell [y, y + 1/h) x [x, x + 1/w) is touched when it overlaps the box with positive area.
    in_y = (y1 > ys) & (y0 < ys + 1.0 / height)  # [B, T, N, h]
    in_x = (x1 > xs) & (x0 < xs + 1.0 / width)  # [B, T, N, w]
    touched = (in_y[..., :, None] & in_x[..., None, :] & present[..., None, None]).any(dim=2)  # [B, T, h, w]
    weights = 1.0 + (weight - 1.0) * touched.to(boxes.dtype)
    weights = weights / weights.mean(dim=(1, 2, 3), keepdim=True)
    return weights[:, None]


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``mean(weights * (pred - target)^2)`` with ``weights`` broadcast over channels."""
    return (weights * (pred.float() - target.float()).square()).mean()
