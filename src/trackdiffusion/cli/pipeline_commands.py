"""``convert-checkpoint``: an old ``trackdiffusion.json`` checkpoint -> a diffusers pipeline folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .app import app

console = Console(stderr=True)


@app.command("convert-checkpoint")
def convert_checkpoint(
    source: Path = typer.Argument(..., exists=True, file_okay=False, help="Checkpoint folder (any layout from_pretrained reads)."),
    out: Path = typer.Argument(..., help="Pipeline folder to write (model_index.json, every component inside)."),
    fp16: bool = typer.Option(False, "--fp16", help="Store half-precision weights."),
) -> None:
    """Rewrite a checkpoint as a standard diffusers pipeline folder (text encoder included)."""
    import torch

    from ..pipelines import TrackDiffusionPipeline

    pipe = TrackDiffusionPipeline.from_pretrained(source)
    pipe.save_pretrained(out, dtype=torch.float16 if fp16 else None)
    console.print(f"pipeline folder: {out}")
