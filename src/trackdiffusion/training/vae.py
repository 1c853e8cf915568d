"""``trackdiffusion train-vae``: a small AutoencoderKL for the embedded default's latent space.

Trained on single frames of a data set (the synthetic world by default) with an L1 + MSE
reconstruction loss through the posterior mode (deterministic, as measured best on this CPU) and
a tiny KL term. The boxes are known, so pixels inside them can weigh more
(``foreground_weight``): objects are a small part of a frame, and their shape is what a tracker
needs, while a flat background is easy to reconstruct. ``norm_num_groups`` stays small: with one group per channel GroupNorm becomes
InstanceNorm and the encoder cannot carry flat background colours. At the end the latent scaling
factor is set to 1 / std of the training latents, and held-out PSNR is reported.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from diffusers import AutoencoderKL
from diffusers.optimization import get_scheduler

from ..models.box_masks import box_cell_mask
from ..tracklets.loader import ClipDataset, read_clip_frames
from ..tracklets.tensors import clip_to_tensors
from ..video.transform import resize_crop_frames
from .checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from .progress_log import LossLog, progress_bar


@dataclass
class VAEConfig:
    data: str                              # a split dir with frames (e.g. synth/train)
    output_dir: str = "runs/vae"
    val_data: str | None = None            # held-out split for the PSNR report
    size: int = 64
    block_out_channels: tuple[int, ...] = (32, 64, 64)
    latent_channels: int = 4
    norm_num_groups: int = 8
    layers_per_block: int = 1
    max_steps: int = 3000
    batch_size: int = 8
    learning_rate: float = 1e-3
    kl_weight: float = 1e-6
    foreground_weight: float = 1.0         # loss weight of pixels inside a box (map normalised to mean 1)
    init: str | None = None                # an AutoencoderKL folder to continue from (its architecture wins)
    decoder_only: bool = False             # with init: freeze the encoder, so the latents (and a UNet
                                           # trained on them) stay valid while the decoder improves
    seed: int = 0
    checkpoint_every: int = 500
    keep_last: int = 2
    log_every: int = 25


def load_frames(split: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame of a split at ``size x size``: uint8 ``[F, 3, H, W]`` and the union of its
    boxes as a bool pixel mask ``[F, H, W]``."""
    clips = ClipDataset.from_dir(split, num_frames=1, width=size, height=size)
    frames, masks = [], []
    for clip in clips.clips:
        frames.append(resize_crop_frames(read_clip_frames(clip, clips.image_root), size, size))
        t = clip_to_tensors(clip.resize_crop(size, size))
        masks.append(box_cell_mask(t.boxes, t.present, size, size).any(dim=1))  # [T, H, W]
    return torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2).contiguous(), torch.cat(masks)


def pixel_weights(masks: torch.Tensor, weight: float) -> torch.Tensor:
    """``[B, 1, H, W]`` loss weights: ``weight`` inside boxes, 1 outside, mean 1 per frame."""
    w = 1.0 + (weight - 1.0) * masks.float()
    return (w / w.mean(dim=(1, 2), keepdim=True))[:, None]


def _pixels(frames: torch.Tensor) -> torch.Tensor:
    return frames.float() / 127.5 - 1.0


def _psnr(mse: torch.Tensor) -> float:
    return float(10 * torch.log10(255.0**2 / mse.clamp(min=1e-10)))


def psnr(vae: AutoencoderKL, frames: torch.Tensor, masks: torch.Tensor | None = None,
         batch: int = 64) -> dict[str, float]:
    """PSNR (dB, on [0, 255]) of posterior-mode reconstructions of uint8 ``frames``: ``psnr_db``
    (mean over frames) and, with box ``masks``, ``object_psnr_db`` / ``background_psnr_db``
    (over all pixels inside / outside boxes)."""
    frame_values, sums = [], torch.zeros(2, dtype=torch.float64)
    counts = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for i, x in enumerate(frames.split(batch)):
            x = _pixels(x)
            rec = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
            err = ((rec - x) * 127.5).square().mean(1)  # [b, H, W], mean over RGB
            frame_values.append(10 * torch.log10(255.0**2 / err.flatten(1).mean(1).clamp(min=1e-10)))
            if masks is not None:
                m = masks[i * batch:(i + 1) * batch]
                sums += torch.stack([err[m].sum(), err[~m].sum()]).double()
                counts += torch.tensor([m.sum(), (~m).sum()], dtype=torch.float64)
    out = {"psnr_db": float(torch.cat(frame_values).mean())}
    if masks is not None:
        out["object_psnr_db"] = _psnr(sums[0] / counts[0].clamp(min=1))
        out["background_psnr_db"] = _psnr(sums[1] / counts[1].clamp(min=1))
    return out


def train_vae(cfg: VAEConfig, progress: bool = True) -> Path:
    out = Path(cfg.output_dir)
    acc = Accelerator()
    out.mkdir(parents=True, exist_ok=True)
    (out / "vae_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    if cfg.foreground_weight <= 0:
        raise ValueError(f"foreground_weight must be > 0, got {cfg.foreground_weight}")
    if cfg.decoder_only and not cfg.init:
        raise ValueError("decoder_only needs init: the VAE whose encoder (and latent space) to keep")
    frames, masks = load_frames(cfg.data, cfg.size)
    torch.manual_seed(cfg.seed)
    vae = _build_vae(cfg)
    params = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    schedule = get_scheduler("cosine", optimizer, num_warmup_steps=min(100, cfg.max_steps // 10),
                             num_training_steps=cfg.max_steps)
    vae, optimizer, schedule = acc.prepare(vae, optimizer, schedule)
    step = 0
    resume = latest_checkpoint(out)
    if resume is not None:
        step = load_checkpoint(acc, resume)["step"]
    log = LossLog(out, resume_step=step)
    vae.train()
    running, t0 = [], time.perf_counter()
    with progress_bar(not progress) as bar:
        task = bar.add_task("training VAE", total=cfg.max_steps, completed=step, info="")
        while step < cfg.max_steps:
            rng = np.random.default_rng([cfg.seed, step])
            pick = torch.from_numpy(rng.integers(len(frames), size=cfg.batch_size))
            x = _pixels(frames[pick]).to(acc.device)
            w = pixel_weights(masks[pick], cfg.foreground_weight).to(acc.device)  # [B, 1, H, W]
            posterior = acc.unwrap_model(vae).encode(x).latent_dist
            rec = acc.unwrap_model(vae).decode(posterior.mode()).sample
            err = rec - x
            loss = (w * err.abs()).mean() + (w * err.square()).mean() + cfg.kl_weight * posterior.kl().mean()
            acc.backward(loss)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running.append(loss.item())
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                rate = len(running) / (time.perf_counter() - t0)
                log.append(step, sum(running) / len(running), schedule.get_last_lr()[0], rate)
                bar.update(task, info=f"loss {sum(running) / len(running):.4f}  {rate:.2f} it/s")
                running, t0 = [], time.perf_counter()
            bar.update(task, completed=step)
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                save_checkpoint(acc, out, step, {"config": asdict(cfg)}, cfg.keep_last)
                log.plot("VAE reconstruction loss")
    return _finish(acc.unwrap_model(vae).eval(), frames, masks, cfg, out)


def _build_vae(cfg: VAEConfig) -> AutoencoderKL:
    if cfg.init:
        if not (Path(cfg.init) / "config.json").is_file():
            raise FileNotFoundError(f"init: no AutoencoderKL at {cfg.init} (config.json missing)")
        vae = AutoencoderKL.from_pretrained(cfg.init, local_files_only=True, torch_dtype=torch.float32)
        if cfg.decoder_only:
            for module in (vae.encoder, vae.quant_conv):
                module.requires_grad_(False)
        return vae
    n = len(cfg.block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                         up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=cfg.block_out_channels,
                         layers_per_block=cfg.layers_per_block, latent_channels=cfg.latent_channels,
                         norm_num_groups=cfg.norm_num_groups, sample_size=cfg.size)


def _finish(vae: AutoencoderKL, frames: torch.Tensor, masks: torch.Tensor, cfg: VAEConfig, out: Path) -> Path:
    if not cfg.decoder_only:  # a kept encoder keeps its latents' scale
        with torch.no_grad():
            sample = _pixels(frames[torch.from_numpy(np.random.default_rng(cfg.seed).permutation(len(frames))[:512])])
            latents = torch.cat([vae.encode(x).latent_dist.mode() for x in sample.split(64)])
        vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    report = {"scaling_factor": vae.config.scaling_factor,
              **{f"train_{k}": v for k, v in psnr(vae, frames[:512], masks[:512]).items()}}
    if cfg.val_data:
        report.update({f"val_{k}": v for k, v in psnr(vae, *load_frames(cfg.val_data, cfg.size)).items()})
    final = out / "final"
    vae.save_pretrained(final, safe_serialization=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return final
