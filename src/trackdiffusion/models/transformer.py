"""The spatial transformer of the 3D UNet with TrackDiffusion's conditioning inside.

Parameter names equal diffusers' ``Transformer2DModel`` / ``BasicTransformerBlock`` (``norm``,
``proj_in``, ``transformer_blocks.k.{norm1,attn1,norm2,attn2,norm3,ff}``, ``proj_out``) so that
ModelScope weights load unchanged. The block order is the authors': self-attention -> gated
self-attention (Eq. 5) -> instance injection (Eq. 8) -> text cross-attention -> feed-forward.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import BasicTransformerBlock
from einops import rearrange
from torch import nn

from .conditioning import TrackConditioning
from .gated_cross_attention import GatedCrossAttention
from .gated_self_attention import GatedSelfAttention
from .instance_enhancer import TemporalInstanceEnhancer


class TrackTransformerBlock(BasicTransformerBlock):
    """A ``BasicTransformerBlock`` (layer-norm variant) plus the fuser and instance injector."""

    def __init__(self, dim: int, heads: int, dim_head: int, cross_attention_dim: int, token_dim: int,
                 injection: str | None, enhancer_dim: int, position_embedding: bool, num_freqs: int,
                 gate_init: str = "zero"):
        super().__init__(dim, heads, dim_head, cross_attention_dim=cross_attention_dim,
                         activation_fn="geglu", attention_bias=False, norm_type="layer_norm")
        self.fuser = GatedSelfAttention(dim, token_dim, heads, dim_head, position_embedding, num_freqs, gate_init)
        injector = {"cross": GatedCrossAttention, "self": GatedSelfAttention}.get(injection)
        self.instance_injector = None if injector is None else injector(
            dim, enhancer_dim, heads, dim_head, position_embedding, num_freqs, gate_init)

    def forward(self, x: torch.Tensor, encoder_hidden_states: torch.Tensor,
                track: TrackConditioning | None = None, instances: torch.Tensor | None = None,
                hw: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """
        Args:
            x: ``[B*T, H*W, C]`` visual tokens.
            encoder_hidden_states: ``[B*T, L, D]`` text tokens.
            track: the tracklet conditioning, or None (plain ModelScope block).
            instances: ``[B*T, N, De]`` enhanced instance tokens of each frame, or None.
            hw: ``(H, W)`` of the feature map.
        """
        x = self.attn1(self.norm1(x)) + x
        if track is not None:
            cells = track.cell_mask(*hw)
            x = self.fuser(x, track.tokens, track.frame_mask, hw, cells)  # Eq. 5
            if instances is not None and self.instance_injector is not None:
                x = self.instance_injector(x, instances, track.frame_mask, hw, cells)  # Eq. 8
        x = self.attn2(self.norm2(x), encoder_hidden_states=encoder_hidden_states) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    """``Transformer2DModel`` (continuous input, linear projections, one layer) with tracklet conditioning.

    When it has an ``enhancer``, the instance tokens of Eq. 7 are computed from this
    transformer's input feature map (after the resnet and temporal convolution of the layer).
    """

    def __init__(self, channels: int, heads: int, dim_head: int, cross_attention_dim: int,
                 norm_num_groups: int, token_dim: int,
                 injection: str | None, enhancer_dim: int, trajectory_dim: int, with_enhancer: bool,
                 position_embedding: bool, num_freqs: int, roi_size: int, roi_sampling_ratio: int,
                 gate_init: str = "zero"):
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(norm_num_groups, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(channels, inner)
        self.transformer_blocks = nn.ModuleList([TrackTransformerBlock(
            inner, heads, dim_head, cross_attention_dim, token_dim,
            injection if with_enhancer else None, enhancer_dim, position_embedding, num_freqs, gate_init)])
        self.proj_out = nn.Linear(inner, channels)
        self.enhancer = TemporalInstanceEnhancer(
            channels, trajectory_dim, enhancer_dim, roi_size=roi_size, sampling_ratio=roi_sampling_ratio,
        ) if with_enhancer else None

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor,
                track: TrackConditioning | None = None) -> torch.Tensor:
        """
        Args:
            hidden_states: ``[B*T, C, H, W]``.
            encoder_hidden_states: ``[B*T, L, D]``.
            track: tracklet conditioning or None.

        Returns:
            ``[B*T, C, H, W]``.
        """
        BT, _, H, W = hidden_states.shape
        instances = None
        if track is not None and track.temporal and self.enhancer is not None:
            enhanced = self.enhancer(hidden_states, track.boxes, track.present, track.trajectory)
            instances = rearrange(enhanced, "b t n d -> (b t) n d")
        residual = hidden_states
        x = self.proj_in(rearrange(self.norm(hidden_states), "bt c h w -> bt (h w) c"))
        for block in self.transformer_blocks:
            x = block(x, encoder_hidden_states, track, instances, (H, W))
        return rearrange(self.proj_out(x), "bt (h w) c -> bt c h w", h=H, w=W) + residual
