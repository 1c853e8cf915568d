"""Model variants as config strings (the paper's ablations) and size presets by name.

- ``enhancer_placement``: ``decoder`` (default) | ``encoder`` | ``both`` (Table 7).
- ``instance_injection``: ``cross`` (default, Eq. 8) | ``self`` (Table 6).
- ``use_identity_embedding`` / ``use_instance_enhancer`` on/off (Table 4).
- ``box_attention``: a visual token reads only the instances whose box covers it (the authors'
  masked "box attention" variant). It gives a model trained from scratch the box-to-pixel routing
  for free, which the tiny CPU default needs; models started from pretrained weights learn it.
- ``gate_init``: ``zero`` (the paper; fine-tuning a pretrained backbone) | ``open`` (from scratch),
  see :mod:`.gates`.
- ``instance_map_channels``: > 0 adds the instance maps of :mod:`.instance_maps` at the input
  (category and in-box position per latent cell; 0 = the paper's model).
- variant ``vanilla``: location tokens + gated self-attention only (the paper's Vanilla baseline).
- sizes: ``tiny`` (the CPU embedded default), ``small``, ``modelscope`` (ModelScope T2V's shape).
"""

from __future__ import annotations

# TrackDiffusionUNet arguments of the tracklet conditioning (the rest shape the ModelScope UNet).
TRACK_OPTIONS = (
    "category_embed_dim", "location_token_dim", "location_mlp_dim", "fourier_freqs", "identity_bank_size",
    "use_identity_embedding", "use_instance_enhancer", "enhancer_placement", "instance_injection",
    "enhancer_dim", "trajectory_dim", "roi_output_size", "roi_sampling_ratio", "spatial_position_embedding",
    "box_attention", "gate_init", "instance_map_channels", "appearance_phrases",
)

PLACEMENTS = {"decoder": ("up",), "encoder": ("down",), "both": ("down", "up")}
INJECTIONS = ("cross", "self")

SIZES: dict[str, dict] = {
    # 64x64 frames -> 16x16x4 latents; a few M parameters, trainable on 2 CPU cores.
    "tiny": dict(
        block_out_channels=(32, 64, 64),
        down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
        layers_per_block=1, attention_head_dim=16, norm_num_groups=8, cross_attention_dim=384,
        category_embed_dim=384, location_token_dim=128, location_mlp_dim=128, enhancer_dim=64,
        trajectory_dim=64, box_attention=True,
    ),
    "small": dict(
        block_out_channels=(64, 128, 256, 256), layers_per_block=2, attention_head_dim=32,
        norm_num_groups=32, cross_attention_dim=384, category_embed_dim=384, location_token_dim=384,
        location_mlp_dim=256, enhancer_dim=128, trajectory_dim=128,
    ),
    "modelscope": dict(
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, attention_head_dim=64,
        norm_num_groups=32, cross_attention_dim=1024, category_embed_dim=768, location_token_dim=1024,
        location_mlp_dim=512, enhancer_dim=256, trajectory_dim=128,
    ),
}

VARIANTS: dict[str, dict] = {
    "trackdiffusion": dict(use_identity_embedding=True, use_instance_enhancer=True),
    "vanilla": dict(use_identity_embedding=False, use_instance_enhancer=False),
}


def check_track_options(enhancer_placement: str, instance_injection: str) -> None:
    if enhancer_placement not in PLACEMENTS:
        raise ValueError(f"enhancer_placement={enhancer_placement!r}; expected one of {sorted(PLACEMENTS)}")
    if instance_injection not in INJECTIONS:
        raise ValueError(f"instance_injection={instance_injection!r}; expected one of {list(INJECTIONS)}")


def enhancer_sites(placement: str) -> tuple[str, ...]:
    """Which UNet parts (``down``, ``up``) hold temporal instance enhancers."""
    return PLACEMENTS[placement]


def unet_config(size: str = "tiny", variant: str = "trackdiffusion", **overrides) -> dict:
    """Keyword arguments of :class:`TrackDiffusionUNet` for a named size and variant."""
    if size not in SIZES:
        raise ValueError(f"unknown size preset {size!r}; expected one of {sorted(SIZES)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    return {**SIZES[size], **VARIANTS[variant], **overrides}
