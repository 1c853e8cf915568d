"""Down, mid and up blocks of the ModelScope 3D UNet, carrying the tracklet conditioning.

Each block has the attributes of diffusers' ``CrossAttnDownBlock3D`` / ``DownBlock3D`` /
``UNetMidBlock3DCrossAttn`` / ``CrossAttnUpBlock3D`` / ``UpBlock3D`` (``resnets``,
``temp_convs``, ``attentions``, ``temp_attentions``, ``downsamplers`` / ``upsamplers``) so the
state dicts match; the forward passes the conditioning explicitly, as keywords, to every layer
(also under gradient checkpointing). In the image stage (``temporal=False``) the temporal
convolutions and temporal transformers are bypassed and frames are independent images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, TemporalConvLayer, Upsample2D
from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel
from torch import nn
from torch.utils.checkpoint import checkpoint

from .conditioning import TrackConditioning
from .transformer import SpatialTransformer


@dataclass
class BlockSpec:
    """What every block of one UNet shares."""

    temb_channels: int
    eps: float
    groups: int
    act_fn: str
    head_dim: int
    cross_attention_dim: int
    track: dict  # SpatialTransformer keyword arguments for the conditioning


@dataclass
class BlockInputs:
    """Per-forward inputs every layer needs.

    Attributes:
        temb: ``[B*T, E]`` time embedding per frame.
        encoder_hidden_states: ``[B*T, L, D]`` text tokens per frame.
        track: tracklet conditioning or None.
        num_frames: T.
        temporal: False in the image stage.
        checkpointing: recompute each layer in the backward pass to save memory.
    """

    temb: torch.Tensor
    encoder_hidden_states: torch.Tensor
    track: TrackConditioning | None
    num_frames: int
    temporal: bool = True
    checkpointing: bool = False


def _resnet(spec: BlockSpec, cin: int, cout: int, scale: float = 1.0) -> ResnetBlock2D:
    return ResnetBlock2D(in_channels=cin, out_channels=cout, temb_channels=spec.temb_channels,
                         eps=spec.eps, groups=spec.groups, non_linearity=spec.act_fn,
                         output_scale_factor=scale)


def _temp_conv(spec: BlockSpec, ch: int) -> TemporalConvLayer:
    return TemporalConvLayer(ch, ch, dropout=0.1, norm_num_groups=spec.groups)


def _spatial(spec: BlockSpec, ch: int, enhancer: bool) -> SpatialTransformer:
    return SpatialTransformer(ch, ch // spec.head_dim, spec.head_dim, spec.cross_attention_dim,
                              spec.groups, with_enhancer=enhancer, **spec.track)


def _temporal(spec: BlockSpec, ch: int) -> TransformerTemporalModel:
    return TransformerTemporalModel(ch // spec.head_dim, spec.head_dim, in_channels=ch, num_layers=1,
                                    cross_attention_dim=spec.cross_attention_dim, norm_num_groups=spec.groups)


def _layer(resnet, temp_conv, attn, temp_attn, h: torch.Tensor, x: BlockInputs) -> torch.Tensor:
    h = resnet(h, x.temb)
    if x.temporal:
        h = temp_conv(h, num_frames=x.num_frames)
    if attn is not None:
        h = attn(h, encoder_hidden_states=x.encoder_hidden_states, track=x.track)
        if x.temporal:
            h = temp_attn(h, num_frames=x.num_frames, return_dict=False)[0]
    return h


def run_layer(resnet, temp_conv, attn, temp_attn, h: torch.Tensor, x: BlockInputs) -> torch.Tensor:
    """resnet -> temporal conv -> spatial transformer -> temporal transformer on ``[B*T, C, H, W]``."""
    if x.checkpointing and torch.is_grad_enabled():
        # Non-reentrant checkpointing keeps gradients to every tensor the layer reads, including
        # the conditioning inside ``x`` (the authors' reentrant version silently dropped it).
        return checkpoint(_layer, resnet, temp_conv, attn, temp_attn, h, x, use_reentrant=False)
    return _layer(resnet, temp_conv, attn, temp_attn, h, x)


class DownBlock3D(nn.Module):
    """``CrossAttnDownBlock3D`` when ``attention`` else ``DownBlock3D``."""

    def __init__(self, spec: BlockSpec, cin: int, cout: int, num_layers: int, add_downsample: bool,
                 attention: bool, enhancer: bool, downsample_padding: int = 1):
        super().__init__()
        self.has_attention = attention
        self.resnets = nn.ModuleList([_resnet(spec, cin if i == 0 else cout, cout) for i in range(num_layers)])
        self.temp_convs = nn.ModuleList([_temp_conv(spec, cout) for _ in range(num_layers)])
        if attention:
            self.attentions = nn.ModuleList([_spatial(spec, cout, enhancer) for _ in range(num_layers)])
            self.temp_attentions = nn.ModuleList([_temporal(spec, cout) for _ in range(num_layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout, use_conv=True, out_channels=cout,
                                                        padding=downsample_padding, name="op")]) \
            if add_downsample else None

    def forward(self, h: torch.Tensor, x: BlockInputs) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        skips = ()
        for i, (resnet, temp_conv) in enumerate(zip(self.resnets, self.temp_convs)):
            attn = self.attentions[i] if self.has_attention else None
            temp_attn = self.temp_attentions[i] if self.has_attention else None
            h = run_layer(resnet, temp_conv, attn, temp_attn, h, x)
            skips += (h,)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            skips += (h,)
        return h, skips


class MidBlock3D(nn.Module):
    """``UNetMidBlock3DCrossAttn``: resnet, temporal conv, then (attention, resnet) pairs."""

    def __init__(self, spec: BlockSpec, ch: int, scale: float, enhancer: bool, num_layers: int = 1):
        super().__init__()
        self.resnets = nn.ModuleList([_resnet(spec, ch, ch, scale) for _ in range(num_layers + 1)])
        self.temp_convs = nn.ModuleList([_temp_conv(spec, ch) for _ in range(num_layers + 1)])
        self.attentions = nn.ModuleList([_spatial(spec, ch, enhancer) for _ in range(num_layers)])
        self.temp_attentions = nn.ModuleList([_temporal(spec, ch) for _ in range(num_layers)])

    def forward(self, h: torch.Tensor, x: BlockInputs) -> torch.Tensor:
        h = run_layer(self.resnets[0], self.temp_convs[0], None, None, h, x)
        for attn, temp_attn, resnet, temp_conv in zip(self.attentions, self.temp_attentions,
                                                      self.resnets[1:], self.temp_convs[1:]):
            h = attn(h, encoder_hidden_states=x.encoder_hidden_states, track=x.track)
            if x.temporal:
                h = temp_attn(h, num_frames=x.num_frames, return_dict=False)[0]
            h = run_layer(resnet, temp_conv, None, None, h, x)
        return h


class UpBlock3D(nn.Module):
    """``CrossAttnUpBlock3D`` when ``attention`` else ``UpBlock3D``."""

    def __init__(self, spec: BlockSpec, cin: int, cout: int, prev_out: int, num_layers: int,
                 add_upsample: bool, attention: bool, enhancer: bool):
        super().__init__()
        self.has_attention = attention
        self.resnets = nn.ModuleList([
            _resnet(spec, (prev_out if i == 0 else cout) + (cin if i == num_layers - 1 else cout), cout)
            for i in range(num_layers)])
        self.temp_convs = nn.ModuleList([_temp_conv(spec, cout) for _ in range(num_layers)])
        if attention:
            self.attentions = nn.ModuleList([_spatial(spec, cout, enhancer) for _ in range(num_layers)])
            self.temp_attentions = nn.ModuleList([_temporal(spec, cout) for _ in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout, use_conv=True, out_channels=cout)]) \
            if add_upsample else None

    def forward(self, h: torch.Tensor, skips: tuple[torch.Tensor, ...], x: BlockInputs,
                upsample_size: tuple[int, int] | None = None) -> torch.Tensor:
        for i, (resnet, temp_conv) in enumerate(zip(self.resnets, self.temp_convs)):
            h = torch.cat([h, skips[-1 - i]], dim=1)  # [B*T, C + C_skip, H, W]
            attn = self.attentions[i] if self.has_attention else None
            temp_attn = self.temp_attentions[i] if self.has_attention else None
            h = run_layer(resnet, temp_conv, attn, temp_attn, h, x)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h, upsample_size)
        return h
