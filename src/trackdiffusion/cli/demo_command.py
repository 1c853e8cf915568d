"""``demo``: the README's main command (``make demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .app import app

console = Console()


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder."),
    clips: int = typer.Option(12, "--clips", help="Held-out clips to generate."),
    frames: int = typer.Option(8, "--frames", help="Frames per clip."),
    steps: int = typer.Option(25, "--steps", help="Denoising steps (50 measured no better on the shipped model)."),
    guidance: float = typer.Option(5.0, "--guidance", help="Classifier-free guidance scale."),
    seed: int = typer.Option(0, "--seed"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="[default: the shipped checkpoint]"),
    tracker: Optional[Path] = typer.Option(None, "--tracker", help="[default: the shipped grounding tracker]"),
) -> None:
    """Synthesize held-out tracklets, generate clips with the shipped model, write labels, evaluate."""
    from ..assets import DEFAULT_CHECKPOINT, DEFAULT_TRACKER, require
    from ..demo import DemoSettings, run_demo

    run_demo(out, checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint"),
             tracker or require(DEFAULT_TRACKER, "the shipped grounding tracker"),
             DemoSettings(clips=clips, frames=frames, steps=steps, guidance=guidance, seed=seed),
             say=console.print)
