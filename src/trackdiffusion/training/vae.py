"""``trackdiffusion train-vae``: a small AutoencoderKL for the embedded default's latent space.

Trained on single frames of a data set (the synthetic world by default) with an L1 + MSE
reconstruction loss through the posterior mode (deterministic, as measured best on this CPU) and
a tiny KL term. The boxes are known, so pixels inside them can weigh more
(``foreground_weight``): objects are a small part of a frame, and their shape is what a tracker
needs, while a flat background is easy to reconstruct. ``edge_weight`` adds an L1 term on the
horizontal and vertical pixel differences: a per-pixel loss is minimised by a blurred edge when the
decoder is unsure where it lies, while a gradient loss pays for every edge drawn soft.
``norm_num_groups`` stays small: with one group per channel GroupNorm becomes InstanceNorm and the
encoder cannot carry flat background colours. At the end the latent scaling factor is set to
1 / std of the training latents, and held-out PSNR is reported.

``decoder_channels`` (with ``init`` and ``decoder_only``) replaces the decoder by a wider, fresh one
(``AsymmetricAutoencoderKL``: the init's encoder, frozen, so the latents a UNet was trained on stay
valid), for a decoder that draws what the latents hold more sharply than the one trained with them.
``latent_noise`` decodes ``z + latent_noise * eps / scaling_factor`` (noise in units of the latents'
std) so the decoder learns to draw clean shapes from latents a little off the encoder's, as a
diffusion model's samples are.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from diffusers import AsymmetricAutoencoderKL, AutoencoderKL
from diffusers.optimization import get_scheduler

from ..models.autoencoder import Autoencoder, load_autoencoder
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
    edge_weight: float = 0.0               # weight of the L1 loss on pixel differences (sharp edges)
    init: str | None = None                # an autoencoder folder to continue from (its architecture wins)
    decoder_only: bool = False             # with init: freeze the encoder, so the latents (and a UNet
                                           # trained on them) stay valid while the decoder improves
    decoder_channels: tuple[int, ...] | None = None  # with decoder_only: a fresh decoder of these widths
    decoder_layers_per_block: int = 1      # its resnets per block (diffusers' decoder adds one)
    latent_noise: float = 0.0              # std of noise added to the latents before decoding (units of their std)
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


def reconstruction_loss(rec: torch.Tensor, x: torch.Tensor, w: torch.Tensor, edge_weight: float) -> torch.Tensor:
    """Weighted L1 + MSE of ``rec - x`` (``[B, 3, H, W]``, weights ``w`` ``[B, 1, H, W]``) plus
    ``edge_weight`` times the weighted L1 of the difference of their horizontal and vertical pixel
    differences (a pair of pixels weighs the mean of their two weights)."""
    err = rec - x
    loss = (w * err.abs()).mean() + (w * err.square()).mean()
    if edge_weight:
        for dim in (-1, -2):  # W then H
            n = x.shape[dim] - 1
            d_err = err.narrow(dim, 1, n) - err.narrow(dim, 0, n)  # = d(rec) - d(x)
            pair_w = (w.narrow(dim, 1, n) + w.narrow(dim, 0, n)) / 2
            loss = loss + edge_weight * (pair_w * d_err.abs()).mean()
    return loss


def _pixels(frames: torch.Tensor) -> torch.Tensor:
    return frames.float() / 127.5 - 1.0


def _psnr(mse: torch.Tensor) -> float:
    return float(10 * torch.log10(255.0**2 / mse.clamp(min=1e-10)))


def psnr(vae: Autoencoder, frames: torch.Tensor, masks: torch.Tensor | None = None,
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
    if cfg.latent_noise < 0:
        raise ValueError(f"latent_noise must be >= 0, got {cfg.latent_noise}")
    if cfg.edge_weight < 0:
        raise ValueError(f"edge_weight must be >= 0, got {cfg.edge_weight}")
    if not cfg.init:  # with init the architecture is the init's
        blocks, factor = tuple(cfg.block_out_channels), 2 ** (len(cfg.block_out_channels) - 1)
        if any(w % cfg.norm_num_groups for w in blocks):
            raise ValueError(f"block_out_channels {blocks} must be multiples of "
                             f"norm_num_groups={cfg.norm_num_groups} (GroupNorm)")
        if cfg.size % factor:
            raise ValueError(f"size {cfg.size} must be divisible by the downsampling factor {factor} "
                             f"of block_out_channels {blocks}")
    if cfg.decoder_only and not cfg.init:
        raise ValueError("decoder_only needs init: the VAE whose encoder (and latent space) to keep")
    if cfg.decoder_channels is not None and not cfg.decoder_only:
        raise ValueError("decoder_channels needs decoder_only (and init): a fresh decoder for a kept encoder")
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
    model = acc.unwrap_model(vae)  # encode / decode are not forward: call them on the module itself
    running, t0 = [], time.perf_counter()
    with progress_bar(not progress) as bar:
        task = bar.add_task("training VAE", total=cfg.max_steps, completed=step, info="")
        while step < cfg.max_steps:
            rng = np.random.default_rng([cfg.seed, step])
            pick = torch.from_numpy(rng.integers(len(frames), size=cfg.batch_size))
            x = _pixels(frames[pick]).to(acc.device)
            w = pixel_weights(masks[pick], cfg.foreground_weight).to(acc.device)  # [B, 1, H, W]
            posterior = model.encode(x).latent_dist
            z = posterior.mode()
            if cfg.latent_noise:  # seeded per step like the batch, so a resumed run draws the same noise
                eps = torch.randn(z.shape, generator=torch.Generator().manual_seed(int(rng.integers(2**62))))
                z = z + cfg.latent_noise / model.config.scaling_factor * eps.to(z.device)
            rec = model.decode(z).sample
            loss = reconstruction_loss(rec, x, w, cfg.edge_weight) + cfg.kl_weight * posterior.kl().mean()
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
    return _finish(model.eval(), frames, masks, cfg, out)


def _build_vae(cfg: VAEConfig) -> Autoencoder:
    if cfg.init:
        vae = load_autoencoder(cfg.init)
        if cfg.decoder_channels is not None:
            vae = _with_fresh_decoder(vae, cfg)
        if cfg.decoder_only:
            for module in (vae.encoder, vae.quant_conv):
                module.requires_grad_(False)
        return vae
    n = len(cfg.block_out_channels)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                         up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=cfg.block_out_channels,
                         layers_per_block=cfg.layers_per_block, latent_channels=cfg.latent_channels,
                         norm_num_groups=cfg.norm_num_groups, sample_size=cfg.size)


def _with_fresh_decoder(vae: Autoencoder, cfg: VAEConfig) -> AsymmetricAutoencoderKL:
    """``vae``'s encoder and quant_conv (weights copied) with a fresh decoder of ``cfg.decoder_channels``."""
    c = vae.config
    encoder = c.get("down_block_out_channels", c.block_out_channels)
    if len(cfg.decoder_channels) != len(encoder):
        raise ValueError(f"decoder_channels {tuple(cfg.decoder_channels)} must have one width per encoder block "
                         f"({len(encoder)}: {tuple(encoder)}), so the decoder upsamples as much as the encoder downsamples")
    if not (c.get("mid_block_add_attention", True) and c.get("use_quant_conv", True)):
        raise ValueError(f"{cfg.init}: an encoder without mid-block attention or quant_conv has no "
                         "AsymmetricAutoencoderKL twin in diffusers")
    new = AsymmetricAutoencoderKL(
        in_channels=c.in_channels, out_channels=c.out_channels, down_block_types=tuple(c.down_block_types),
        down_block_out_channels=tuple(encoder), layers_per_down_block=c.get("layers_per_down_block", c.get("layers_per_block")),
        up_block_types=("UpDecoderBlock2D",) * len(encoder), up_block_out_channels=tuple(cfg.decoder_channels),
        layers_per_up_block=cfg.decoder_layers_per_block, act_fn=c.act_fn, latent_channels=c.latent_channels,
        norm_num_groups=c.norm_num_groups, sample_size=c.sample_size, scaling_factor=c.scaling_factor)
    new.encoder.load_state_dict(vae.encoder.state_dict())
    new.quant_conv.load_state_dict(vae.quant_conv.state_dict())
    return new


def _finish(vae: Autoencoder, frames: torch.Tensor, masks: torch.Tensor, cfg: VAEConfig, out: Path) -> Path:
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
