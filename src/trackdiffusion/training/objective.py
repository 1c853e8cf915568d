"""The training objective of one batch: noise, guidance dropout, the UNet, the re-weighted loss."""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler

from ..models import TrackDiffusionUNet
from ..models.text_encoder import PromptEncoder
from .foreground_reweighting import foreground_weights, weighted_mse
from .guidance_dropout import guidance_dropout


def random_slots(B: int, N: int, bank: int, generator: torch.Generator) -> torch.Tensor:
    """``[B, N]`` distinct identity-bank entries per clip, drawn at random (Eq. 4 training); zeros
    (unused) for a model without the identity embedding (``bank == 0``: any number of instances)."""
    if bank and N > bank:
        raise ValueError(f"a clip has {N} instances but identity_bank_size is {bank}")
    return torch.stack([torch.randperm(bank, generator=generator)[:N] for _ in range(B)]) if bank else \
        torch.zeros(B, N, dtype=torch.long)


def diffusion_loss(unet: TrackDiffusionUNet, scheduler: DDPMScheduler, prompts: PromptEncoder, batch: dict,
                   generator: torch.Generator, *, temporal: bool, foreground_weight: float,
                   prompt_dropout: float, box_dropout: float, bank_size: int,
                   phrase_dropout: float = 0.0) -> torch.Tensor:
    """
    Args:
        batch: ``latents [B, C, T, h, w]`` (scaled VAE latents, or pixels in [-1, 1]),
            ``tracklets`` (boxes ``[B, T, N, 4]``, present ``[B, T, N]``), ``caption`` (B strings),
            ``category_names`` (B lists of N names), optionally ``phrases`` (B lists of N
            appearance phrases, "" for none; used by models built with ``appearance_phrases``).
        generator: CPU generator of this step (noise, timesteps, dropout and slots all come from it,
            so a resumed run repeats the same draws).
        phrase_dropout: probability that an instance's phrase is left out, so that the model also
            learns the category-only token.
    """
    x0 = batch["latents"]
    device = x0.device
    B = x0.shape[0]
    tracks = batch["tracklets"]
    N = tracks.present.shape[-1]
    noise = torch.randn(x0.shape, generator=generator).to(device, x0.dtype)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (B,), generator=generator).to(device)
    noisy = scheduler.add_noise(x0, noise, t)
    target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(x0, noise, t)
    captions, present = guidance_dropout(batch["caption"], tracks.present, prompt_dropout, box_dropout, generator)
    text = prompts.encode(captions).to(device, x0.dtype)
    names = [n for row in batch["category_names"] for n in (row + [""] * (N - len(row)))]
    cats = prompts.embed_categories(names).to(device, x0.dtype).reshape(B, N, -1)
    slots = random_slots(B, N, bank_size, generator).to(device)
    boxes = tracks.boxes.to(device, x0.dtype)
    phrases = phrase_conditioning(unet, prompts, batch, N, phrase_dropout, generator)
    pred = unet(noisy, t, text, boxes, present.to(device), cats, slots, temporal=temporal,
                **{k: v.to(device) for k, v in phrases.items()}).sample
    weights = foreground_weights(boxes, tracks.present.to(device), x0.shape[-2], x0.shape[-1], foreground_weight)
    return weighted_mse(pred, target, weights)


def phrase_conditioning(unet: TrackDiffusionUNet, prompts: PromptEncoder, batch: dict, N: int, dropout: float,
                        generator: torch.Generator) -> dict:
    """``phrase_embeds [B, N, Dc]`` and ``has_phrase [B, N]`` for a model with appearance phrases, else {}.

    Nothing is drawn from ``generator`` for a model without them, so its runs stay as they were.
    """
    if not unet.config.get("appearance_phrases", False):
        return {}
    rows = [row + [""] * (N - len(row)) for row in batch.get("phrases", [[]] * len(batch["caption"]))]
    embeds, has = prompts.embed_phrases(rows)
    return {"phrase_embeds": embeds, "has_phrase": has & (torch.rand(len(rows), N, generator=generator) >= dropout)}
