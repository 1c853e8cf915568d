"""``mix``: assemble the training set a tracker reads from real and (verified) generated clips."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from .app import app

console = Console(stderr=True)


@app.command()
def mix(
    generated: Path = typer.Option(..., "--generated", help="A generate output folder."),
    out: Path = typer.Option(..., "--out", help="Output data set folder."),
    real: Optional[Path] = typer.Option(None, "--real", help="Real clips with frames (any format) [default: none]."),
    ratio: Optional[float] = typer.Option(None, "--ratio", help="Generated clips per real clip."),
    generated_clips: Optional[int] = typer.Option(None, "--generated-clips", help="Number of generated clips."),
    to: str = typer.Option("cocovid", "--to", help="Layout: cocovid, ytvis or mot."),
    unverified: bool = typer.Option(False, "--unverified", help="Use generated clips that were not verified "
                                    "(default: only clips whose verification passed)."),
) -> None:
    """One data set of real + generated clips: unique ids, sources.json, splits/*.txt, frames laid out per format."""
    from ..pipelines.training_set import choose_count, mix as run, verified_clips
    from ..tracklets.formats import read_tracklets

    gen = read_tracklets(generated)
    pool, skipped = verified_clips(gen, generated, require_verified=not unverified)
    real_data = read_tracklets(real) if real is not None else None
    count = choose_count(len(pool), len(real_data) if real_data else 0, ratio, generated_clips)
    data = run(real_data, pool[:count], gen.image_root or generated, out, to)
    n_real = len(real_data) if real_data else 0
    left = f"; {skipped} generated clip(s) failed verification and were left out" if skipped else ""
    console.print(escape(f"wrote {len(data)} clips ({n_real} real + {count} generated) to {out} as {to}{left}"),
                  highlight=False, soft_wrap=True)
