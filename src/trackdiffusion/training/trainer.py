"""``trackdiffusion train``: the accelerate training loop (one CPU process to many GPUs/nodes).

Per optimizer step: a deterministic batch (see :mod:`.data`), guidance dropout, the foreground
re-weighted diffusion loss, gradient clipping, AdamW, LR schedule, optional EMA. Checkpoints are
atomic and resume exactly; the loss curve goes to ``loss.csv`` / ``loss.png``; the final model is
exported as a pipeline checkpoint in ``<output_dir>/final`` (EMA weights when EMA is on).
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from torch.utils.data import DataLoader

from ..tracklets.loader import ClipDataset
from .checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from .components import build_unet, latent_layout, load_prompt_encoder, load_vae, noise_scheduler, vae_path
from .config import TrainConfig
from .ema import restore_ema, save_ema
from .data import LatentCache, StepBatches, TrainingWindows, collate_windows
from .export import save_pipeline
from .objective import diffusion_loss
from .progress_log import LossLog, progress_bar
from .stages import parameter_groups, trainable_parameters, uses_temporal_layers

CACHE_DIR = "latent_cache"


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Run (or resume) the training described by ``cfg``; return the exported checkpoint folder."""
    out = Path(cfg.output_dir)
    acc = Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation_steps,
                      mixed_precision=resolve_mixed_precision(cfg.mixed_precision))
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / "config.json")
    torch.manual_seed(cfg.seed)  # model initialisation is the same on every process

    prompts = load_prompt_encoder(cfg)
    prompts.text_encoder.to(acc.device)
    vae = load_vae(vae_path(cfg))
    if vae is not None:
        vae.to(acc.device)
    unet = build_unet(cfg, prompts.dim, *latent_layout(vae))
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    trained = trainable_parameters(unet, cfg.stage)
    names, params = [n for n, _ in trained], [p for _, p in trained]
    groups = parameter_groups(trained, cfg.learning_rate, cfg.lr_mult)  # raises on a typo before the latent caching
    scheduler = noise_scheduler(cfg)

    clips = ClipDataset.from_dir(cfg.data.path, num_frames=cfg.data.num_frames, stride=cfg.data.stride,
                                 width=cfg.data.width, height=cfg.data.height, seed=cfg.seed,
                                 **({"captions": cfg.data.captions} if cfg.data.captions else {}))
    cache = None
    if cfg.data.cache_latents:
        key = LatentCache.key(clips, vae_path(cfg), cfg.data.path)
        with progress_bar(not (progress and acc.is_main_process)) as bar:
            mine = len(clips.clips[acc.process_index::acc.num_processes])
            task = bar.add_task("encoding clips", total=mine, info="")
            LatentCache.build_shard(out / CACHE_DIR, key, clips, vae, acc.process_index, acc.num_processes,
                                    lambda: bar.advance(task))
        acc.wait_for_everyone()
        cache = LatentCache.open(out / CACHE_DIR, key, acc.num_processes)
    windows = TrainingWindows(clips, cache)

    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=cfg.adam_betas, weight_decay=cfg.weight_decay)
    # accelerate steps a prepared scheduler once per process, hence the scaling.
    lr_schedule = get_scheduler(cfg.lr_schedule if cfg.lr_schedule == "cosine" else "constant_with_warmup", optimizer,
                                num_warmup_steps=cfg.warmup_steps * acc.num_processes,
                                num_training_steps=cfg.max_steps * acc.num_processes)
    ema = EMAModel(params, decay=cfg.ema_decay, use_ema_warmup=True) if cfg.ema_decay else None
    unet, optimizer, lr_schedule = acc.prepare(unet, optimizer, lr_schedule)
    if ema is not None:
        ema.to(acc.device)

    step, running = 0, []
    resume = latest_checkpoint(out)
    if resume is not None:
        state = load_checkpoint(acc, resume)
        # the losses of the logging window the checkpoint fell in, so its logged mean is the same
        step, running = state["step"], state.get("running_loss", [])
        if ema is not None:
            restore_ema(ema, names, resume)
        acc.print(f"resumed from {resume} at step {step}")
    log = LossLog(out, resume_step=step) if acc.is_main_process else None
    sampler = StepBatches(windows, cfg.batch_size, cfg.seed, acc.process_index, step, cfg.max_steps,
                          cfg.gradient_accumulation_steps)
    loader = DataLoader(windows, batch_sampler=sampler, collate_fn=collate_windows, num_workers=cfg.data.num_workers)
    base = acc.unwrap_model(unet)
    temporal, bank = uses_temporal_layers(cfg.stage), base.location_tokens.bank_size
    unet.train()
    micro, timed, t0 = 0, 0, time.perf_counter()
    with progress_bar(not (progress and acc.is_main_process)) as bar:
        task = bar.add_task(f"training ({cfg.stage})", total=cfg.max_steps, completed=step, info="")
        for batch in loader:
            seed = int(np.random.SeedSequence([cfg.seed, step, micro, acc.process_index]).generate_state(1)[0])
            gen = torch.Generator().manual_seed(seed)
            torch.manual_seed(gen.initial_seed())  # dropout layers draw from the global generator
            batch = _to_latents(batch, vae, acc.device)
            with acc.accumulate(unet):
                loss = diffusion_loss(unet, scheduler, prompts, batch, gen, temporal=temporal,
                                      foreground_weight=cfg.foreground_weight, prompt_dropout=cfg.prompt_dropout,
                                      box_dropout=cfg.box_dropout, bank_size=bank, phrase_dropout=cfg.phrase_dropout)
                acc.backward(loss)
                if acc.sync_gradients and cfg.max_grad_norm > 0:
                    acc.clip_grad_norm_(params, cfg.max_grad_norm)
                optimizer.step()
                lr_schedule.step()
                optimizer.zero_grad(set_to_none=True)
            running.append(acc.gather(loss.detach()[None]).mean().item())
            timed += 1
            micro += 1
            if not acc.sync_gradients:
                continue
            micro = 0
            step += 1
            if ema is not None:
                ema.step(params)
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                # after a resume the window's earlier steps ran before the restart: rate from the timed ones
                rate = timed / cfg.gradient_accumulation_steps / (time.perf_counter() - t0)
                mean = sum(running) / len(running)
                if log is not None:
                    first = optimizer.param_groups[0]  # log the base rate: any group's rate over its multiplier
                    log.append(step, mean, first["lr"] / first["lr_mult"], rate)
                bar.update(task, info=f"loss {mean:.4f}  {rate:.2f} it/s")
                running, timed, t0 = [], 0, time.perf_counter()
            bar.update(task, completed=step)
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                save_checkpoint(acc, out, step, {"config": cfg.to_dict(), "running_loss": running}, cfg.keep_last,
                                extra=None if ema is None else partial(save_ema, ema, names))
                if log is not None:
                    log.plot(f"{cfg.stage} stage")
    return _export(cfg, acc, base, ema, params, vae, prompts, out)


def resolve_mixed_precision(configured: str | None, launcher: str | None = None) -> str | None:
    """The mixed precision to run with: the config's, else the launcher's.

    ``accelerate launch`` always exports ``ACCELERATE_MIXED_PRECISION`` (``"no"`` when not asked),
    so a launcher's ``no`` is not a request and the config's value stands; a launcher's fp16/bf16
    that the config contradicts is an error rather than silently overridden either way.
    """
    launcher = os.environ.get("ACCELERATE_MIXED_PRECISION") if launcher is None else launcher
    if configured is None:
        return None  # Accelerator reads the launcher's setting itself
    if launcher not in (None, "", "no", configured):
        raise ValueError(f"mixed_precision: the config says {configured!r} but the launcher asks for {launcher!r} "
                         "(accelerate launch --mixed_precision); set the config's to null to use the launcher's")
    return configured


def _to_latents(batch: dict, vae, device) -> dict:
    """Encode frames on the fly when there is no latent cache."""
    if "latents" in batch:
        batch["latents"] = batch["latents"].to(device)
        return batch
    frames = batch.pop("frames").to(device)  # [B, T, 3, H, W]
    B, T = frames.shape[:2]
    flat = frames.flatten(0, 1)
    if vae is not None:
        with torch.no_grad():
            flat = vae.encode(flat.to(vae.dtype)).latent_dist.mode() * vae.config.scaling_factor
    batch["latents"] = flat.reshape(B, T, *flat.shape[1:]).transpose(1, 2).float()  # [B, C, T, h, w]
    return batch


def _export(cfg, acc, unet, ema, params, vae, prompts, out: Path) -> Path:
    final = out / "final"
    acc.wait_for_everyone()
    if acc.is_main_process:
        if ema is not None:
            ema.store(params)
            ema.copy_to(params)
        save_pipeline(cfg, unet, vae, prompts, final)
        if ema is not None:
            ema.restore(params)
    acc.wait_for_everyone()
    return final
