"""Instance maps: the tracklets drawn into the UNet's input grid (ours; off in the paper's model).

The paper's pathways (Eq. 5-8) reach a visual token only through attention, whose value is the
same for every cell of a box: where inside its box a cell lies is left for the network to work
out from attention weights. A pretrained backbone already knows what a "star" looks like; a model
trained from scratch on a CPU has to learn it, and drawing a shape is a function of exactly two
things, the category and the position inside the box. So each latent cell gets, for every
present instance whose box covers it, ``MLP([category embedding, Fourier(u, v)])`` with ``(u, v)``
the cell centre's coordinates relative to the box (-1..1 across it), summed over instances. A
zero-initialised convolution adds the map to the output of ``conv_in``, so the model starts as
the one without it (GLIGEN-style grounding maps, ControlNet-style zero convolution).

Legend: B batch, T frames, N instances, D category embedding size, C channels, h, w latent grid.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .box_masks import box_cell_mask

_NUM_FREQS = 4  # (u, v) vary over a few cells only: low frequencies suffice


def relative_fourier(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Fourier features of each cell centre relative to each box: per coordinate (u, then v), the
    sines then the cosines of its frequencies.

    Args:
        boxes: ``[..., N, 4]`` normalized xyxy (fp32 whatever the model's dtype).
        height, width: the grid ``h, w``.

    Returns:
        ``[..., N, h, w, 4 * _NUM_FREQS]``: sin/cos of ``pi * 2**k * (u, v) / 2`` for k < 4.
    """
    ys = (torch.arange(height, device=boxes.device, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=boxes.device, dtype=torch.float32) + 0.5) / width
    b = boxes.float()
    x0, y0, x1, y1 = (b[..., i, None] for i in range(4))  # [..., N, 1]
    u = (2 * (xs - x0) / (x1 - x0).clamp(min=1e-6) - 1).clamp(-1.5, 1.5)  # [..., N, w]
    v = (2 * (ys - y0) / (y1 - y0).clamp(min=1e-6) - 1).clamp(-1.5, 1.5)  # [..., N, h]
    uv = torch.stack(torch.broadcast_tensors(u[..., None, :], v[..., :, None]), dim=-1)  # [..., N, h, w, 2]
    freqs = torch.pi / 2 * 2.0 ** torch.arange(_NUM_FREQS, device=boxes.device, dtype=torch.float32)
    angles = uv[..., None] * freqs  # [..., N, h, w, 2, F]
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)


class InstanceMaps(nn.Module):
    """Tracklets -> ``[B*T, C, h, w]`` added to the UNet's first feature map."""

    def __init__(self, category_dim: int, channels: int, out_channels: int):
        super().__init__()
        # The first layer of MLP([c, Fourier(u, v)]) split in two, so the category half runs once
        # per instance instead of once per (instance, cell).
        self.category = nn.Linear(category_dim, channels)
        self.where = nn.Linear(4 * _NUM_FREQS, channels, bias=False)
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(channels, channels), nn.SiLU(), nn.Linear(channels, channels))
        self.conv = nn.Conv2d(channels, out_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, boxes: torch.Tensor, present: torch.Tensor, category_embeds: torch.Tensor,
                height: int, width: int) -> torch.Tensor:
        """
        Args:
            boxes: ``[B, T, N, 4]`` normalized xyxy.
            present: ``[B, T, N]`` bool.
            category_embeds: ``[B, N, D]``.
            height, width: the latent grid ``h, w``.

        Returns:
            ``[B*T, out_channels, h, w]``.
        """
        B, T, N, _ = boxes.shape
        cover = box_cell_mask(boxes.float(), present, height, width)  # [B, T, N, h, w]
        where = relative_fourier(boxes, height, width)  # [B, T, N, h, w, 4F]
        first = self.category(category_embeds)[:, None, :, None, None] + self.where(where.to(category_embeds.dtype))
        feats = self.mlp(first)  # [B, T, N, h, w, C]
        grid = (feats * cover[..., None].to(feats.dtype)).sum(dim=2)  # [B, T, h, w, C]
        return self.conv(rearrange(grid, "b t h w c -> (b t) c h w"))
