"""Trajectory tokens ``P_i`` (paper Sec. 3.2, Eq. 7): each instance's box sequence through time.

Per instance, the Fourier features of its boxes in every frame, plus a sinusoidal embedding of
the frame index (so attention knows the order of the frames and hence the direction of motion;
being a function rather than a learned table, it puts no cap on T), go through a pre-LN residual
self-attention across frames (absent frames masked) and an MLP. The result models location and
motion, and is shared by every temporal instance enhancer of the UNet.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from .attention import MaskedAttention
from .fourier import box_fourier_features, fourier_dim


def frame_index_embedding(num_frames: int, dim: int, device=None) -> torch.Tensor:
    """float32 ``[T, dim]`` sinusoidal embedding of frame indices 0..T-1."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=device, dtype=torch.float32) / half)
    angles = torch.arange(num_frames, device=device, dtype=torch.float32)[:, None] * freqs[None]
    emb = torch.cat([angles.sin(), angles.cos()], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, emb.new_zeros(num_frames, 1)], dim=-1)
    return emb


class TrajectoryEncoder(nn.Module):
    """Box sequence of each instance -> trajectory token per frame."""

    def __init__(self, dim: int = 128, num_freqs: int = 8, heads: int = 4):
        super().__init__()
        self.num_freqs = num_freqs
        box_dim = fourier_dim(num_freqs)
        self.box_dim = box_dim
        self.norm = nn.LayerNorm(box_dim)
        self.attn = MaskedAttention(box_dim, heads=heads, dim_head=box_dim // heads)
        self.mlp = nn.Sequential(nn.Linear(box_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, boxes: torch.Tensor, present: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """
        Args:
            boxes: ``[B, T, N, 4]`` normalized xyxy (float32 whatever the model's dtype).
            present: ``[B, T, N]`` bool.
            dtype: the model's compute dtype (the float32 embeddings are cast to it).

        Returns:
            ``[B, T, N, dim]`` (values at absent frames are defined but must be masked by users).
        """
        B, T, N, _ = boxes.shape
        feats = box_fourier_features(boxes, self.num_freqs)  # float32
        feats = (feats + frame_index_embedding(T, self.box_dim, boxes.device)[None, :, None]).to(dtype)
        seq = rearrange(feats, "b t n d -> (b n) t d")
        mask = rearrange(present, "b t n -> (b n) t")
        seq = seq + self.attn(self.norm(seq), key_mask=mask)
        return rearrange(self.mlp(seq), "(b n) t d -> b t n d", b=B, n=N)
