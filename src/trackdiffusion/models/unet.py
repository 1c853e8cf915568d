"""``TrackDiffusionUNet``: the ModelScope 3D UNet conditioned on tracklets (paper Sec. 3.2).

The base network is diffusers' ``UNet3DConditionModel`` with identical parameter names, so a
diffusers-format ModelScope ``unet/`` folder loads unchanged (:meth:`from_unet3d`). The tracklet
conditioning — location tokens (Eq. 3-4), gated self-attention (Eq. 5), trajectory tokens and
temporal instance enhancers (Eq. 6-7), gated instance injection (Eq. 8) — is added beside it with
zero-initialised gates, so with the gates at their initial value the output equals the base
model's. Every input is passed explicitly through ``forward``; nothing is global.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from diffusers import UNet3DConditionModel
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.activations import get_activation
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel
from diffusers.models.unets.unet_3d_condition import UNet3DConditionOutput
from einops import rearrange
from torch import nn

from .conditioning import TrackConditioning
from .gates import check_gate_init
from .instance_maps import InstanceMaps
from .location_tokens import InstanceLocationTokens
from .trajectory import TrajectoryEncoder
from .unet_blocks import BlockInputs, BlockSpec, DownBlock3D, MidBlock3D, UpBlock3D
from .variants import check_track_options, enhancer_sites

# Submodule names that hold TrackDiffusion's own parameters (everything else is ModelScope's).
TRACK_MODULES = ("location_tokens", "trajectory_encoder", "fuser", "instance_injector", "enhancer", "instance_maps")


def is_track_parameter(name: str) -> bool:
    """Whether a parameter name belongs to the tracklet conditioning rather than the base UNet."""
    return any(part in TRACK_MODULES for part in name.split("."))


class TrackDiffusionUNet(ModelMixin, ConfigMixin):
    """3D UNet denoiser ``eps(z_t, t, text, tracklets)``; see the module docstring."""

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 4,
        out_channels: int = 4,
        down_block_types: tuple[str, ...] = ("CrossAttnDownBlock3D", "CrossAttnDownBlock3D",
                                             "CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types: tuple[str, ...] = ("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D",
                                           "CrossAttnUpBlock3D"),
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        layers_per_block: int = 2,
        downsample_padding: int = 1,
        mid_block_scale_factor: float = 1.0,
        act_fn: str = "silu",
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        cross_attention_dim: int = 1024,
        attention_head_dim: int = 64,
        time_cond_proj_dim: int | None = None,
        # --- tracklet conditioning (ours) ---
        category_embed_dim: int = 768,
        location_token_dim: int | None = None,
        location_mlp_dim: int = 512,
        fourier_freqs: int = 8,
        identity_bank_size: int = 64,
        use_identity_embedding: bool = True,
        use_instance_enhancer: bool = True,
        enhancer_placement: str = "decoder",
        instance_injection: str = "cross",
        enhancer_dim: int = 256,
        trajectory_dim: int = 128,
        roi_output_size: int = 2,
        roi_sampling_ratio: int = 2,
        spatial_position_embedding: bool = True,
        box_attention: bool = False,
        gate_init: str = "zero",
        instance_map_channels: int = 0,
        appearance_phrases: bool = False,
        patch_size: int = 1,
    ):
        super().__init__()
        check_track_options(enhancer_placement, instance_injection)
        check_gate_init(gate_init)
        if patch_size < 1 or (sample_size or 0) % patch_size:
            raise ValueError(f"patch_size must be >= 1 and divide sample_size {sample_size}, got {patch_size}")
        if instance_map_channels < 0:
            raise ValueError(f"instance_map_channels must be >= 0, got {instance_map_channels}")
        if len(down_block_types) != len(up_block_types) or len(down_block_types) != len(block_out_channels):
            raise ValueError(f"down_block_types {down_block_types}, up_block_types {up_block_types} and "
                             f"block_out_channels {block_out_channels} must have the same length")
        bad = [c for c in block_out_channels if c % attention_head_dim or c % norm_num_groups]
        if bad:
            raise ValueError(f"block_out_channels {bad} must be divisible by attention_head_dim "
                             f"{attention_head_dim} and norm_num_groups {norm_num_groups}")
        token_dim = location_token_dim or cross_attention_dim
        self.gradient_checkpointing = False
        c0 = block_out_channels[0]
        temb = c0 * 4
        # patch_size p folds p x p latent cells into channels (DiT's patchify), so latents of a VAE
        # that downsamples less are denoised at the same grid, and cost, as before.
        self.conv_in = nn.Conv2d(in_channels * patch_size ** 2, c0, kernel_size=3, padding=1)
        self.time_proj = Timesteps(c0, True, 0)
        self.time_embedding = TimestepEmbedding(c0, temb, act_fn=act_fn, cond_proj_dim=time_cond_proj_dim)
        self.transformer_in = TransformerTemporalModel(num_attention_heads=8, attention_head_dim=attention_head_dim,
                                                       in_channels=c0, num_layers=1, norm_num_groups=norm_num_groups)

        self.instance_maps = InstanceMaps(category_embed_dim, instance_map_channels, c0) \
            if instance_map_channels else None
        self.location_tokens = InstanceLocationTokens(category_embed_dim, token_dim, location_mlp_dim,
                                                      fourier_freqs, identity_bank_size, use_identity_embedding,
                                                      appearance_phrases)
        self.trajectory_encoder = TrajectoryEncoder(trajectory_dim, fourier_freqs) if use_instance_enhancer else None
        spec = BlockSpec(temb, norm_eps, norm_num_groups, act_fn, attention_head_dim, cross_attention_dim, dict(
            token_dim=token_dim, injection=instance_injection, enhancer_dim=enhancer_dim,
            trajectory_dim=trajectory_dim, position_embedding=spatial_position_embedding,
            num_freqs=fourier_freqs, roi_size=roi_output_size, roi_sampling_ratio=roi_sampling_ratio,
            gate_init=gate_init))
        sites = enhancer_sites(enhancer_placement) if use_instance_enhancer else ()

        self.down_blocks = nn.ModuleList()
        cout = c0
        for i, kind in enumerate(down_block_types):
            cin, cout = cout, block_out_channels[i]
            self.down_blocks.append(DownBlock3D(
                spec, cin, cout, layers_per_block, add_downsample=i < len(block_out_channels) - 1,
                attention=_has_attention(kind), enhancer="down" in sites, downsample_padding=downsample_padding))
        self.mid_block = MidBlock3D(spec, block_out_channels[-1], mid_block_scale_factor, enhancer="mid" in sites)
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(block_out_channels))
        prev = rev[0]
        for i, kind in enumerate(up_block_types):
            cin = rev[min(i + 1, len(rev) - 1)]
            self.up_blocks.append(UpBlock3D(
                spec, cin, rev[i], prev, layers_per_block + 1, add_upsample=i < len(rev) - 1,
                attention=_has_attention(kind), enhancer="up" in sites))
            prev = rev[i]
        self.num_upsamplers = len(rev) - 1
        self.conv_norm_out = nn.GroupNorm(norm_num_groups, c0, eps=norm_eps)
        self.conv_act = get_activation("silu")
        self.conv_out = nn.Conv2d(c0, out_channels * patch_size ** 2, kernel_size=3, padding=1)
        # Temporal layers start as the identity (ModelScope zero-initialises its temporal
        # convolutions; the temporal transformers get zero output projections here), so a model
        # trained from scratch on single frames (stage ``spatial``) starts its video stage as
        # that image model. Pretrained weights (``from_unet3d``) overwrite this.
        for name, module in self.named_modules():
            if name == "transformer_in" or ".temp_attentions." in f".{name}.":
                if isinstance(module, TransformerTemporalModel):
                    nn.init.zeros_(module.proj_out.weight)
                    nn.init.zeros_(module.proj_out.bias)

    # ------------------------------------------------------------------------------ loading
    @classmethod
    def from_unet3d(cls, unet: UNet3DConditionModel | str | Path, **track_config) -> "TrackDiffusionUNet":
        """A TrackDiffusionUNet with the weights of a diffusers ``UNet3DConditionModel``.

        ``unet`` is a model or a local diffusers folder (``config.json`` +
        ``diffusion_pytorch_model.safetensors``, e.g. ModelScope's ``unet/``). The tracklet
        conditioning is configured by ``track_config`` and starts at its initialisation.
        """
        if not isinstance(unet, UNet3DConditionModel):
            path = Path(unet)
            if not (path / "config.json").is_file():
                raise FileNotFoundError(
                    f"{path} is not a diffusers UNet3DConditionModel folder: expected {path / 'config.json'} "
                    "and diffusion_pytorch_model.safetensors (e.g. the unet/ folder of a ModelScope text-to-video model)")
            unet = UNet3DConditionModel.from_pretrained(path, local_files_only=True)
        if unet.config.get("num_attention_heads") not in (None, unet.config.attention_head_dim):
            raise ValueError("UNet3DConditionModel with num_attention_heads set is not supported")
        accepted = inspect.signature(cls.__init__).parameters
        base = {k: v for k, v in unet.config.items() if k in accepted and k not in track_config}
        unknown = sorted(set(track_config) - set(accepted))
        if unknown:
            raise TypeError(f"unknown TrackDiffusionUNet options {unknown}")
        model = cls(**base, **track_config)
        missing, unexpected = model.load_state_dict(unet.state_dict(), strict=False)
        untracked = [k for k in missing if not is_track_parameter(k)]
        if unexpected or untracked:
            raise ValueError(f"weights do not match the 3D UNet: unexpected {unexpected[:5]}, missing {untracked[:5]}")
        return model if model.dtype == unet.dtype else model.to(dtype=unet.dtype)

    # ------------------------------------------------------------------------------ forward
    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        boxes: torch.Tensor | None = None,
        present: torch.Tensor | None = None,
        category_embeds: torch.Tensor | None = None,
        instance_slots: torch.Tensor | None = None,
        temporal: bool = True,
        timestep_cond: torch.Tensor | None = None,
        return_dict: bool = True,
        phrase_embeds: torch.Tensor | None = None,
        has_phrase: torch.Tensor | None = None,
    ) -> UNet3DConditionOutput | tuple[torch.Tensor]:
        """
        Args:
            sample: ``[B, C, T, H, W]`` noisy latents (H and W divisible by ``patch_size``).
            timestep: scalar or ``[B]`` diffusion timesteps.
            encoder_hidden_states: ``[B, L, D]`` text tokens.
            boxes: ``[B, T, N, 4]`` normalized xyxy (N may be 0); None for no tracklets.
            present: ``[B, T, N]`` bool, True where the instance is annotated in the frame.
            category_embeds: ``[B, N, Dc]`` category text embeddings.
            instance_slots: ``[B, N]`` long identity-bank entries (distinct within a clip).
            temporal: False for the image stage (temporal layers and enhancers bypassed).
            timestep_cond: optional ``[B, time_cond_proj_dim]``.
            phrase_embeds: optional ``[B, N, Dc]`` appearance-phrase embeddings (models built with
                ``appearance_phrases``); ``has_phrase`` ``[B, N]`` bool says which instances have one.

        Returns:
            ``[B, C_out, T, H, W]`` (in ``.sample`` when ``return_dict``).
        """
        p = self.config.patch_size
        B, _, T, H, W = sample.shape
        H, W = H // p, W // p  # the grid the blocks see; the pipeline's check_inputs makes both divisible by p
        factor = 2 ** self.num_upsamplers
        forward_upsample_size = H % factor != 0 or W % factor != 0
        temb = self._time_embedding(timestep, sample, timestep_cond)
        track = self._track_conditioning(B, T, boxes, present, category_embeds, instance_slots, temporal,
                                         phrase_embeds, has_phrase)
        x = BlockInputs(
            temb=temb.repeat_interleave(T, dim=0),  # [B*T, E]
            encoder_hidden_states=encoder_hidden_states.repeat_interleave(T, dim=0),  # [B*T, L, D]
            track=track, num_frames=T, temporal=temporal,
            checkpointing=self.gradient_checkpointing and self.training,
        )
        h = self.conv_in(rearrange(sample, "b c t (h p) (w q) -> (b t) (c p q) h w", p=p, q=p))  # [B*T, C0, H/p, W/p]
        if track is not None and self.instance_maps is not None:
            h = h + self.instance_maps(track.boxes, track.present, category_embeds.to(h.dtype), H, W)
        if temporal:
            h = self.transformer_in(h, num_frames=T, return_dict=False)[0]
        skips = (h,)
        for block in self.down_blocks:
            h, res = block(h, x)
            skips += res
        h = self.mid_block(h, x)
        for i, block in enumerate(self.up_blocks):
            n = len(block.resnets)
            res, skips = skips[-n:], skips[:-n]
            size = skips[-1].shape[2:] if forward_upsample_size and i < len(self.up_blocks) - 1 else None
            h = block(h, res, x, upsample_size=size)
        h = self.conv_out(self.conv_act(self.conv_norm_out(h)))
        out = rearrange(h, "(b t) (c p q) h w -> b c t (h p) (w q)", b=B, t=T, p=p, q=p)
        return UNet3DConditionOutput(sample=out) if return_dict else (out,)

    def _time_embedding(self, timestep, sample: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """``[B, E]`` embedding of the diffusion timestep."""
        t = timestep if torch.is_tensor(timestep) else torch.tensor(
            [timestep], dtype=torch.float64 if isinstance(timestep, float) else torch.int64)
        t = t.to(sample.device).reshape(-1).expand(sample.shape[0])
        # Timesteps computes the sinusoid in float32 (t up to 999 needs it); cast afterwards.
        return self.time_embedding(self.time_proj(t).to(dtype=self.conv_in.weight.dtype), cond)

    def _track_conditioning(self, B: int, T: int, boxes, present, category_embeds, instance_slots,
                            temporal: bool, phrase_embeds=None, has_phrase=None) -> TrackConditioning | None:
        if boxes is None:
            return None
        if present is None or category_embeds is None:
            raise ValueError("boxes need present [B, T, N] and category_embeds [B, N, Dc]")
        N = boxes.shape[2]
        expect = {"boxes": (B, T, N, 4), "present": (B, T, N),
                  "category_embeds": (B, N, self.config.category_embed_dim)}
        got = {"boxes": boxes, "present": present, "category_embeds": category_embeds}
        if instance_slots is not None:
            expect["instance_slots"], got["instance_slots"] = (B, N), instance_slots
        if phrase_embeds is not None:
            expect["phrase_embeds"], got["phrase_embeds"] = (B, N, self.config.category_embed_dim), phrase_embeds
        if has_phrase is not None:
            expect["has_phrase"], got["has_phrase"] = (B, N), has_phrase
        for name, shape in expect.items():
            if tuple(got[name].shape) != shape:
                raise ValueError(f"{name} has shape {tuple(got[name].shape)}, expected {shape} "
                                 f"(B={B}, T={T} from sample, N={N} from boxes)")
        # Slot values are checked by the pipeline's check_inputs, not here: reading a tensor's
        # values on the host would stall CUDA and break CUDA graphs / torch.compile(fullgraph=True).
        present = present.bool()
        # Zero absent boxes so that nothing about an absent box can reach the output. Boxes stay
        # float32 in every dtype: Fourier features, ROI corners and cell masks are computed from them.
        boxes = (boxes.float() * present[..., None])
        dtype = self.conv_in.weight.dtype
        tokens = self.location_tokens(boxes, category_embeds.to(dtype), instance_slots, phrase_embeds, has_phrase)
        trajectory = self.trajectory_encoder(boxes, present, dtype) \
            if self.trajectory_encoder is not None and temporal else None
        return TrackConditioning(rearrange(tokens, "b t n d -> (b t) n d"), boxes, present, trajectory, temporal,
                                 self.config.box_attention)


def _has_attention(kind: str) -> bool:
    known = {"CrossAttnDownBlock3D": True, "DownBlock3D": False, "CrossAttnUpBlock3D": True, "UpBlock3D": False}
    if kind not in known:
        raise ValueError(f"unknown block type {kind!r}; expected one of {sorted(known)}")
    return known[kind]
