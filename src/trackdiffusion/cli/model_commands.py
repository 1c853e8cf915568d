"""``train``, ``train-vae`` and ``export``: the diffusion model from the command line (``generate``: generate_command)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
import yaml
from rich.console import Console

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
    block_channels: Optional[str] = typer.Option(
        None, "--block-channels", metavar="C1,C2,...",
        help="Widths of the encoder and decoder blocks [default: 32,64,64]; n blocks downsample by 2^(n-1) "
             "(32,64: by 2, latents 32x32 at 64x64)."),
    foreground_weight: float = typer.Option(1.0, "--foreground-weight",
                                            help="Loss weight of pixels inside a box (the objects' shapes)."),
    edge_weight: float = typer.Option(0.0, "--edge-weight",
                                      help="Weight of an L1 loss on pixel differences (sharper edges)."),
    init: Optional[Path] = typer.Option(None, "--init", exists=True, file_okay=False,
                                        help="Continue from this autoencoder folder (its architecture)."),
    decoder_only: bool = typer.Option(False, "--decoder-only",
                                      help="With --init: train the decoder only (latents unchanged)."),
    decoder_channels: Optional[str] = typer.Option(
        None, "--decoder-channels", metavar="C1,C2,...",
        help="With --decoder-only: a fresh, wider decoder of these block widths (one per encoder block)."),
    decoder_layers: int = typer.Option(1, "--decoder-layers", help="Resnets per block of that decoder."),
    latent_noise: float = typer.Option(0.0, "--latent-noise",
                                       help="Std of noise added to the latents before decoding, in units of "
                                            "their std (a decoder for a diffusion model's samples)."),
    seed: int = typer.Option(0, "--seed"),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Train the small AutoencoderKL of the embedded default (resumes from its last checkpoint)."""
    from ..training.vae import VAEConfig
    from ..training.vae import train_vae as run

    if block_channels is not None and init is not None:
        raise typer.BadParameter("--block-channels builds a new VAE; with --init the architecture is the init's")
    blocks = {"block_out_channels": _widths(block_channels, "--block-channels")} if block_channels else {}
    cfg = VAEConfig(data=str(data), output_dir=str(out), val_data=str(val_data) if val_data else None, **blocks,
                    max_steps=steps, batch_size=batch_size, size=size, learning_rate=learning_rate, seed=seed,
                    latent_channels=latent_channels, foreground_weight=foreground_weight,
                    edge_weight=edge_weight, init=str(init) if init else None, decoder_only=decoder_only,
                    decoder_channels=_widths(decoder_channels, "--decoder-channels"),
                    decoder_layers_per_block=decoder_layers, latent_noise=latent_noise)
    final = run(cfg, progress=not quiet)
    console.print(f"VAE: {final}  ({(out / 'report.json').read_text().strip()})")


def _widths(text: str | None, flag: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{flag} {text!r}: expected comma-separated integers, e.g. 64,128,128") from None
    if any(w <= 0 for w in widths):
        raise typer.BadParameter(f"{flag} {text!r}: every width must be positive")
    return widths


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
