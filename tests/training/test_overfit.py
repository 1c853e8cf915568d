"""A tiny model overfits one clip: every part of the objective passes gradients."""

from __future__ import annotations

import torch

from trackdiffusion.tracklets import collate_tracklets
from trackdiffusion.tracklets.loader import ClipDataset
from trackdiffusion.training.components import build_unet, load_prompt_encoder, noise_scheduler
from trackdiffusion.training.objective import diffusion_loss
from trackdiffusion.training.stages import trainable_parameters

from .conftest import tiny_config


def test_tiny_model_overfits_one_clip(tiny_world, tmp_path):
    cfg = tiny_config(tiny_world, tmp_path)
    prompts = load_prompt_encoder(cfg)
    torch.manual_seed(0)
    unet = build_unet(cfg, prompts.dim, latent_channels=3, vae_factor=1)  # pixel space, 32x32
    for m in unet.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    item = ClipDataset.from_dir(cfg.data.path, num_frames=4, width=32, window="first")[0]
    batch = {"latents": item["frames"].permute(1, 0, 2, 3)[None],  # [1, 3, T, H, W]
             "tracklets": collate_tracklets([item["tracklets"]]), "caption": [item["caption"]],
             "category_names": [item["category_names"]]}
    params = [p for _, p in trainable_parameters(unet, "full")]
    optimizer = torch.optim.Adam(params, lr=3e-3)
    scheduler = noise_scheduler(cfg)

    def loss() -> torch.Tensor:  # the same noise and timestep every step: one fixed example
        return diffusion_loss(unet, scheduler, prompts, batch, torch.Generator().manual_seed(0), temporal=True,
                              foreground_weight=2.0, prompt_dropout=0.0, box_dropout=0.0, bank_size=16)

    first = loss().item()
    for _ in range(40):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    assert loss().item() < first / 10
