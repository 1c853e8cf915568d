"""``train``, ``train-vae``, ``export`` and ``generate``: the diffusion model from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
import yaml
from rich.console import Console
from rich.progress import Progress

from .app import app

console = Console(stderr=True)


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


@app.command()
def train(
    config: Path = typer.Option(..., "--config", help="Training config (.yaml, .json or .toml)."),
    set_: List[str] = typer.Option([], "--set", help="Override a field: --set data.path=DIR --set max_steps=10."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train (or resume) a TrackDiffusion model; use `accelerate launch` for several processes."""
    from ..training.config import load_config
    from ..training.trainer import train as run

    cfg = load_config(config, _overrides(set_))
    final = run(cfg, progress=not quiet)
    console.print(f"checkpoint: {final}")


@app.command("train-vae")
def train_vae(
    data: Path = typer.Option(..., "--data", help="Split folder with frames (e.g. synth/train)."),
    out: Path = typer.Option(..., "--out", help="Output folder (checkpoints, final/, report.json)."),
    val_data: Optional[Path] = typer.Option(None, "--val-data", help="Held-out split for the PSNR report."),
    steps: int = typer.Option(3000, "--steps"),
    batch_size: int = typer.Option(8, "--batch-size"),
    size: int = typer.Option(64, "--size", help="Frame size the VAE is trained at."),
    learning_rate: float = typer.Option(1e-3, "--lr"),
    latent_channels: int = typer.Option(4, "--latent-channels", help="Channels of the latent space."),
    foreground_weight: float = typer.Option(1.0, "--foreground-weight",
                                            help="Loss weight of pixels inside a box (the objects' shapes)."),
    init: Optional[Path] = typer.Option(None, "--init", exists=True, file_okay=False,
                                        help="Continue from this AutoencoderKL folder (its architecture)."),
    decoder_only: bool = typer.Option(False, "--decoder-only",
                                      help="With --init: train the decoder only (latents unchanged)."),
    seed: int = typer.Option(0, "--seed"),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Train the small AutoencoderKL of the embedded default (resumes from its last checkpoint)."""
    from ..training.vae import VAEConfig
    from ..training.vae import train_vae as run

    cfg = VAEConfig(data=str(data), output_dir=str(out), val_data=str(val_data) if val_data else None,
                    max_steps=steps, batch_size=batch_size, size=size, learning_rate=learning_rate, seed=seed,
                    latent_channels=latent_channels, foreground_weight=foreground_weight,
                    init=str(init) if init else None, decoder_only=decoder_only)
    final = run(cfg, progress=not quiet)
    console.print(f"VAE: {final}  ({(out / 'report.json').read_text().strip()})")


@app.command()
def export(
    run: Path = typer.Option(..., "--run", help="Training output folder (config.json, checkpoints/)."),
    out: Path = typer.Option(..., "--out", help="Pipeline checkpoint folder to write."),
    step: Optional[int] = typer.Option(None, "--step", help="Checkpoint step [default: the latest]."),
    ema: bool = typer.Option(True, "--ema/--no-ema", help="Export the EMA weights."),
    fp16: bool = typer.Option(False, "--fp16", help="Store half-precision weights (the shipped assets)."),
) -> None:
    """Turn a training checkpoint into a pipeline checkpoint for `generate` and `demo`."""
    import torch

    from ..training.export import export_run

    path = export_run(run, out, step=step, ema=ema, dtype=torch.float16 if fp16 else None)
    console.print(f"pipeline checkpoint: {path}")


@app.command()
def generate(
    tracklets: Path = typer.Option(..., "--tracklets", help="Tracklets in any supported format, or a split folder."),
    out: Path = typer.Option(..., "--out", help="Output folder (videos, frames, overlays, labels)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Pipeline checkpoint [default: the shipped one]."),
    steps: int = typer.Option(50, "--steps", help="Denoising steps."),
    guidance: float = typer.Option(5.0, "--guidance", help="Classifier-free guidance scale."),
    box_guidance: Optional[float] = typer.Option(None, "--box-guidance", help="Separate box guidance scale."),
    seed: int = typer.Option(0, "--seed", help="Clip i uses seed + i."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="One prompt for every clip [default: captions]."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Use the first T frames of each clip."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first K clips."),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Generate a video per clip, with overlays and labels (CocoVID, YouTube-VIS, MOT)."""
    from ..assets import DEFAULT_CHECKPOINT, require
    from ..pipelines import TrackDiffusionPipeline
    from ..pipelines.generation import GenerationSettings, generate_dataset
    from ..tracklets.captions import load_captions
    from ..tracklets.formats import read_tracklets
    from ..tracklets.loader import CAPTIONS_FILE

    dataset = read_tracklets(tracklets)
    if limit is not None:
        dataset.clips = dataset.clips[:limit]
    caption_file = (tracklets if tracklets.is_dir() else tracklets.parent) / CAPTIONS_FILE
    captions = load_captions(caption_file) if caption_file.is_file() else None
    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint"))
    pipe.set_progress_bar_config(disable=True)
    settings = GenerationSettings(steps=steps, guidance=guidance, box_guidance=box_guidance, seed=seed,
                                  prompt=prompt, num_frames=frames)
    with Progress(disable=quiet, console=console) as bar:
        task = bar.add_task("generating", total=len(dataset))
        labels = generate_dataset(pipe, dataset, out, settings, captions, progress=lambda _: bar.advance(task))
    console.print(f"wrote {len(labels)} clips to {out} (contact sheet: {out / 'contact_sheet.png'})")
