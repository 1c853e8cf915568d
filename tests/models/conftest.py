"""Tiny seeded models and inputs shared by the model tests."""

from __future__ import annotations

import torch

from trackdiffusion.models import TrackDiffusionUNet

TINY = dict(
    block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
    up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), layers_per_block=1, attention_head_dim=8,
    norm_num_groups=8, cross_attention_dim=24, category_embed_dim=12, location_token_dim=20,
    location_mlp_dim=24, enhancer_dim=16, trajectory_dim=16, identity_bank_size=16,
)
GATES = ("alpha_attn", "alpha_dense", "gamma_attn", "gamma_dense")


def make_unet(seed: int = 0, **overrides) -> TrackDiffusionUNet:
    torch.manual_seed(seed)
    return TrackDiffusionUNet(**{**TINY, **overrides}).eval()


def open_gates(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every zero-initialised track parameter a non-zero value so the conditioning acts."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in GATES:
                p.fill_(0.7)
            elif "identity" in name or leaf == "null_token":
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def make_inputs(B: int = 2, T: int = 4, N: int = 3, size: int = 8, seed: int = 0, model=None) -> dict:
    g = torch.Generator().manual_seed(seed)
    cfg = TINY if model is None else model.config
    xy = torch.rand(B, T, N, 2, generator=g) * 0.6
    wh = torch.rand(B, T, N, 2, generator=g) * 0.3 + 0.1
    present = torch.rand(B, T, N, generator=g) > 0.3
    return dict(
        sample=torch.randn(B, cfg["in_channels"] if "in_channels" in cfg else 4, T, size, size, generator=g),
        timestep=torch.tensor([3, 500])[:B],
        encoder_hidden_states=torch.randn(B, 5, cfg["cross_attention_dim"], generator=g),
        boxes=torch.cat([xy, xy + wh], dim=-1),
        present=present,
        category_embeds=torch.randn(B, N, cfg["category_embed_dim"], generator=g),
        instance_slots=torch.stack([torch.randperm(cfg["identity_bank_size"], generator=g)[:N] for _ in range(B)]),
    )
