"""``app``: the web app (draw or upload tracklets, generate, verify, download the labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("app")
def web_app(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="[default: the shipped checkpoint]"),
    tracker: Optional[Path] = typer.Option(None, "--tracker", help="Grounding tracker that verifies each instance "
                                           "[default: the shipped one]"),
    no_tracker: bool = typer.Option(False, "--no-tracker", help="Do not verify generated clips."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (localhost: this machine only)."),
    port: int = typer.Option(7860, "--port"),
) -> None:
    """Start the web app on http://HOST:PORT (offline; nothing is shared or fetched)."""
    from ..assets import DEFAULT_CHECKPOINT, DEFAULT_TRACKER, require
    from ..webapp import serve

    chosen_tracker = None if no_tracker else tracker or require(DEFAULT_TRACKER, "the shipped grounding tracker")
    serve(checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint"), chosen_tracker, host, port)
