"""``verify``: do generated clips show their labels? (closed loop with a tracker)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from .app import app

console = Console(stderr=True)


@app.command()
def verify(
    generated: Path = typer.Argument(..., help="Generated clips with their labels (a generate output folder, or "
                                     "any data set with frames)."),
    out: Path = typer.Option(..., "--out", help="Report folder (verification.json, report.md, st_iou.png, "
                             "worst_clips.png)."),
    tracker: Optional[Path] = typer.Option(None, "--tracker", help="Grounding tracker [default: the shipped one]."),
    tracks: Optional[Path] = typer.Option(None, "--tracks", help="Instead of running a tracker: any tracker's "
                                          "MOTChallenge results (a folder of <clip>.txt)."),
    min_iou: float = typer.Option(0.5, "--min-iou", help="An instance passes at this spatio-temporal IoU."),
    any_category: bool = typer.Option(False, "--any-category", help="Do not require the track's category to agree "
                                      "(e.g. MOT results, which carry no class)."),
) -> None:
    """Re-detect the objects of generated clips and compare them with the conditioning tracklets."""
    from ..assets import DEFAULT_TRACKER, require
    from ..evaluation.verification import Thresholds, verify_dataset
    from ..evaluation.verification_report import write_report
    from ..tracklets.formats import read_mot_results, read_tracklets

    if tracker is not None and tracks is not None:
        raise typer.BadParameter("pass --tracker or --tracks, not both")
    thresholds = Thresholds(min_iou, require_category=not any_category)
    conditioning = read_tracklets(generated)
    if tracks is not None:
        predicted = read_mot_results(tracks, conditioning)
    else:
        from ..evaluation.tracker.inference import track_dataset
        from ..evaluation.tracker.model import GroundingTracker

        model = GroundingTracker.from_pretrained(tracker or require(DEFAULT_TRACKER, "the shipped grounding tracker"))
        predicted = track_dataset(model, conditioning, follow=False).tracks
    results = verify_dataset(conditioning, predicted, thresholds)
    summary = write_report(results, thresholds, conditioning, predicted, out)
    console.print(escape(f"{summary['passed']} of {summary['clips']} clips pass (mean STIoU "
                         f"{summary['mean_st_iou']}); report: {out / 'report.md'}"), highlight=False, soft_wrap=True)
