"""Temporal instance enhancer, paper Eq. 6-7: attention along time on the same instance.

Eq. 6: ROIAlign the feature map of every frame at the instance's box, giving ``L_{t,i}``; the
cube ``F_i`` is their sequence over t. Eq. 7: ``F'_i = SelfAttn(F_i (+) P_i)`` with the trajectory
tokens ``P_i`` — here the ROI feature and ``P_i`` are concatenated per frame, fused by an MLP, and
a pre-LN residual self-attention (plus feed-forward) runs across the frames of each instance.
Frames where the instance is absent are masked out of the attention.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from einops import rearrange
from torch import nn

from .attention import MaskedAttention
from .roi_align import roi_align


def frame_rois(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``[B, T, N, 4]`` normalized boxes -> float32 ``[B*T*N, 5]`` ROIs ``(frame, x1, y1, x2, y2)``
    in the pixels of an ``height x width`` map whose batch is the B*T frames.

    float32 whatever the model's dtype: the frame column must be an exact integer (bf16 holds
    integers only up to 256, so frame 263 read frame 264, out of range at B*T = 264) and box
    corners need more than bf16's 8 bits of mantissa.
    """
    B, T, N, _ = boxes.shape
    scale = torch.tensor([width, height, width, height], device=boxes.device, dtype=torch.float32)
    frame = torch.arange(B * T, device=boxes.device, dtype=torch.float32)  # exact below 2**24
    rois = torch.cat([frame[:, None, None].expand(B * T, N, 1),
                      rearrange(boxes.float(), "b t n k -> (b t) n k") * scale], dim=-1)  # [BT, N, 5]
    return rois.reshape(-1, 5)


class TemporalInstanceEnhancer(nn.Module):
    """Feature map + boxes + trajectory tokens -> enhanced instance tokens ``F'``."""

    def __init__(self, channels: int, trajectory_dim: int, dim: int, heads: int = 4,
                 roi_size: int = 2, sampling_ratio: int = 2):
        super().__init__()
        self.roi_size, self.sampling_ratio = roi_size, sampling_ratio
        self.roi_proj = nn.Linear(channels * roi_size * roi_size, dim)
        self.fuse = nn.Sequential(nn.Linear(dim + trajectory_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedAttention(dim, heads=heads, dim_head=dim // heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, activation_fn="geglu")

    def forward(self, features: torch.Tensor, boxes: torch.Tensor, present: torch.Tensor,
                trajectory: torch.Tensor) -> torch.Tensor:
        """
        Args:
            features: ``[B*T, C, H, W]`` the block's feature map.
            boxes: ``[B, T, N, 4]`` normalized xyxy (float32 whatever the features' dtype).
            present: ``[B, T, N]`` bool.
            trajectory: ``[B, T, N, Dp]`` trajectory tokens.

        Returns:
            ``[B, T, N, dim]`` enhanced instance tokens.
        """
        B, T, N, _ = boxes.shape
        roi = roi_align(features, frame_rois(boxes, *features.shape[-2:]), self.roi_size,
                        sampling_ratio=self.sampling_ratio)  # [BT*N, C, r, r] in the features' dtype
        roi = rearrange(roi, "(b t n) c p q -> b t n (c p q)", b=B, t=T, n=N)
        cube = self.fuse(torch.cat([self.roi_proj(roi), trajectory.to(roi.dtype)], dim=-1))  # Eq. 6 (+) P
        seq = rearrange(cube, "b t n d -> (b n) t d")
        mask = rearrange(present, "b t n -> (b n) t")
        seq = seq + self.attn(self.norm1(seq), key_mask=mask)  # Eq. 7
        seq = seq + self.ff(self.norm2(seq))
        return rearrange(seq, "(b n) t d -> b t n d", b=B, n=N)
