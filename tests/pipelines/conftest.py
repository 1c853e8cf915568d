"""A tiny random pipeline (UNet + VAE + the bundled MiniLM) and tracklets for pipeline tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, DDPMScheduler

from trackdiffusion.models import TrackDiffusionUNet
from trackdiffusion.models.text_encoder import load_text_encoder
from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.tracklets import Clip, Instance
from trackdiffusion.training.components import sampling_scheduler

from ..models.conftest import open_gates
from ..training.conftest import TINY_OPTIONS


@pytest.fixture(scope="session")
def text_encoder():
    return load_text_encoder()


@pytest.fixture
def pipe(text_encoder) -> TrackDiffusionPipeline:
    return tiny_pipeline(text_encoder)


def tiny_pipeline(text_encoder) -> TrackDiffusionPipeline:
    """A seeded random pipeline making 32 x 32 frames (VAE factor 2, UNet sample size 16)."""
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
                        layers_per_block=1)
    unet = TrackDiffusionUNet(**{**TINY_OPTIONS, "cross_attention_dim": 384, "category_embed_dim": 384,
                                 "sample_size": 16, "box_attention": True})
    scheduler = sampling_scheduler(DDPMScheduler(beta_schedule="squaredcos_cap_v2"))
    p = TrackDiffusionPipeline(vae.eval(), *text_encoder, unet.eval(), scheduler, text_max_length=8)
    p.set_progress_bar_config(disable=True)
    return p


def randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Seeded random weights of scale 0.3 (for zero-initialised paths a test needs switched on)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def phrased_pipeline(text_encoder) -> TrackDiffusionPipeline:
    """:func:`tiny_pipeline` with ``appearance_phrases`` and its gates and phrase projection switched
    on (zero gates would hide every location token, a zero projection every phrase)."""
    pipe = tiny_pipeline(text_encoder)
    unet = type(pipe.unet)(**{**pipe.unet.config, "appearance_phrases": True})
    unet.load_state_dict(pipe.unet.state_dict(), strict=False)
    open_gates(unet)
    randomise(unet.location_tokens.phrase)
    pipe = TrackDiffusionPipeline(pipe.vae, pipe.text_encoder, pipe.tokenizer, unet.eval(), pipe.scheduler, 8)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def make_clip(name: str = "clip", T: int = 3, width: int = 64, height: int = 48) -> Clip:
    boxes = np.array([[4 + 2 * t, 5, 20 + 2 * t, 25] for t in range(T)], dtype=float)
    other = np.array([[30, 10, 50, 40]] * T, dtype=float)
    present = np.ones(T, dtype=bool)
    gone = present.copy()
    gone[1] = False
    other[1] = np.nan
    return Clip(name, width, height, T, {1: "circle", 2: "square"},
                [Instance(7, 1, boxes, present), Instance(9, 2, other, gone)])
