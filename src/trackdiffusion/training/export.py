"""Training checkpoints -> pipeline folders (what `generate`, `demo` and the assets load).

``trackdiffusion export --run RUN --out DIR [--step N] [--no-ema] [--fp16]`` rebuilds the UNet of a
run from its saved config, loads the weights of a checkpoint (the EMA weights by default) and
writes a diffusers pipeline folder (text encoder included, see ``TrackDiffusionPipeline.save_pretrained``);
``--fp16`` stores half-precision weights (the shipped assets).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from ..pipelines import TrackDiffusionPipeline
from .checkpointing import checkpoint_dir, latest_checkpoint
from .components import build_unet, latent_layout, load_prompt_encoder, load_vae, noise_scheduler, sampling_scheduler, vae_path
from .config import TrainConfig, load_config
from .ema import load_ema
from .stages import trainable_parameters

def save_pipeline(cfg: TrainConfig, unet, vae, prompts, out: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write the pipeline checkpoint of a run's components."""
    pipe = TrackDiffusionPipeline(vae, prompts.text_encoder, prompts.tokenizer, unet,
                                  sampling_scheduler(noise_scheduler(cfg)), prompts.max_length)
    pipe.save_pretrained(out, dtype=dtype)
    return Path(out)


def export_run(run: str | Path, out: str | Path, step: int | None = None, ema: bool = True,
               dtype: torch.dtype | None = None) -> Path:
    """Export checkpoint ``step`` (default: the latest) of training run ``run`` to ``out``."""
    run = Path(run)
    cfg = load_config(run / "config.json")
    ckpt = latest_checkpoint(run) if step is None else checkpoint_dir(run) / f"step-{step:08d}"
    if ckpt is None or not (ckpt / "model.safetensors").is_file():
        raise FileNotFoundError(f"{run}: no complete checkpoint{'' if step is None else f' for step {step}'} "
                                f"in {checkpoint_dir(run)}")
    prompts = load_prompt_encoder(cfg)
    vae = load_vae(vae_path(cfg))
    unet = build_unet(cfg, prompts.dim, *latent_layout(vae))
    unet.load_state_dict(load_file(ckpt / "model.safetensors"))
    if ema:
        trained = trainable_parameters(unet, cfg.stage)
        shadow, _ = load_ema(ckpt, [n for n, _ in trained])
        with torch.no_grad():
            for (_, p), s in zip(trained, shadow):
                p.copy_(s)
    return save_pipeline(cfg, unet.eval(), vae, prompts, out, dtype)
