"""Foreground re-weighting of the diffusion loss (paper Sec. 4.3, Table 5; after GeoDiffusion).

Latent cells touched by a present box (see :func:`box_cell_mask`) get weight ``w`` (default 2.0), the rest 1; each clip's map
is then divided by its mean, so the loss scale does not depend on how much of the clip is covered.
"""

from __future__ import annotations

import torch

from ..models.box_masks import box_cell_mask


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
    touched = box_cell_mask(boxes, present, height, width).any(dim=2)  # [B, T, h, w]
    weights = 1.0 + (weight - 1.0) * touched.to(boxes.dtype)
    weights = weights / weights.mean(dim=(1, 2, 3), keepdim=True)
    return weights[:, None]


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``mean(weights * (pred - target)^2)`` with ``weights`` broadcast over channels."""
    return (weights * (pred.float() - target.float()).square()).mean()
