"""``learning-curve``, ``evaluate category-probe`` and ``evaluate phrase-colours``: how far training has
taken the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .app import app
from .eval_commands import evaluate_app

console = Console(stderr=True)
curve_app = typer.Typer(help="Generated-clip quality against training frames seen (docs/learning_curve.png).")
app.add_typer(curve_app, name="learning-curve")

_TRACKER = typer.Option(None, "--tracker", help="Grounding tracker folder (default: assets/grounding-tracker).")
_THREADS = typer.Option(1, "--threads", help="torch CPU threads (one is fastest for the tracker's small batches).")


def _tracker(path: Optional[Path]) -> Path:
    from ..assets import DEFAULT_TRACKER, require

    return path if path is not None else require(DEFAULT_TRACKER, "the grounding tracker")


@curve_app.command("score")
def score(
    run: Path = typer.Option(..., "--run", exists=True, file_okay=False, help="Training output folder."),
    val: Path = typer.Option(..., "--val", exists=True, help="Held-out tracklets with frames (e.g. WORLD/val)."),
    step: List[int] = typer.Option([], "--step", help="Checkpoint steps to score [default: every unscored one]."),
    clips: int = typer.Option(16, "--clips", help="First K held-out clips."),
    frames: int = typer.Option(8, "--frames", help="First T frames of each."),
    sampling_steps: int = typer.Option(25, "--sampling-steps"),
    guidance: float = typer.Option(5.0, "--guidance"),
    phrases: Optional[bool] = typer.Option(None, "--phrases/--no-phrases",
                                           help="Sample with VAL's phrases.json [default: if the run trains with phrases]."),
    tracker: Optional[Path] = _TRACKER,
    threads: int = _THREADS,
) -> None:
    """Score the run's checkpoints on held-out clips (appends to RUN/learning_curve.csv)."""
    import torch

    from ..evaluation.learning_curve import score_run

    torch.set_num_threads(threads)
    for row in score_run(run, val, _tracker(tracker), step or None, clips, frames, sampling_steps, guidance, phrases):
        console.print(escape(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})),
                      highlight=False, soft_wrap=True)


@curve_app.command("plot")
def plot(
    sources: List[Path] = typer.Argument(..., exists=True, help="Training runs or curve CSVs, in training order "
                                         "(e.g. the spatial stage, then video)."),
    out: Path = typer.Option(Path("docs/learning_curve.png"), "--out", help="PNG; the rows drawn go beside it as .csv."),
    title: str = typer.Option("generated clips over training", "--title"),
    branch: List[str] = typer.Option([], "--branch", help="RUN=PARENT:STEP: the run folder RUN was continued from "
                                     "PARENT's step STEP (a row of an earlier source), so it is drawn from there."),
) -> None:
    """Plot TrackAP, AgnAP, ClsAcc and background std against frames seen."""
    from ..evaluation.learning_curve import plot_curve

    bad = [b for b in branch if "=" not in b or ":" not in b.partition("=")[2]]
    if bad:
        raise typer.BadParameter(f"expected RUN=PARENT:STEP, got {bad[0]!r}", param_hint="--branch")
    png = plot_curve(sources, out, title, dict(b.split("=", 1) for b in branch))
    console.print(f"wrote {escape(str(png))} and {escape(str(png.with_suffix('.csv')))}", highlight=False)


@evaluate_app.command("category-probe")
def category_probe(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Pipeline checkpoint [default: the shipped one]."),
    val: Path = typer.Option(..., "--val", exists=True, help="Held-out tracklets with frames at the model's size."),
    clips: int = typer.Option(16, "--clips"),
    frames: int = typer.Option(8, "--frames"),
    timesteps: str = typer.Option("100,300,500,700,900", "--timesteps"),
    guidance: float = typer.Option(5.0, "--guidance"),
    tracker: Optional[Path] = _TRACKER,
    out: Optional[Path] = typer.Option(None, "--out", help="Write category_probe.json here."),
    threads: int = _THREADS,
) -> None:
    """Category accuracy of one-step estimates with the true and with forced categories, per noise level."""
    import torch

    from ..assets import DEFAULT_CHECKPOINT, require
    from ..evaluation.category_probe import category_probe as probe
    from ..evaluation.learning_curve import held_out
    from ..evaluation.tracker.model import GroundingTracker
    from ..pipelines import TrackDiffusionPipeline

    torch.set_num_threads(threads)
    try:
        steps = tuple(int(t) for t in timesteps.split(",") if t.strip())
    except ValueError:
        raise typer.BadParameter(f"--timesteps: comma-separated integers, got {timesteps!r}") from None
    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint"))
    bad = [t for t in steps if not 0 <= t < len(pipe.scheduler.alphas_cumprod)]
    if bad:
        raise typer.BadParameter(f"--timesteps {bad} outside [0, {len(pipe.scheduler.alphas_cumprod)})")
    result = probe(pipe, GroundingTracker.from_pretrained(_tracker(tracker)), held_out(val, clips, frames), steps, guidance)
    lines = ["| t | ClsAcc true | forced (vs true) | forced (vs forced) | shift | shift, empty caption |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['t']} | {r['true']:.1f} | {r['forced_vs_true']:.1f} | {r['forced_vs_forced']:.1f} | "
              f"{r['shift']:.1f} | {r['shift_empty_caption']:.1f} |" for r in result["timesteps"]]
    typer.echo("\n".join(lines))
    typer.echo("gates: " + ", ".join(f"{k} {v:.3f}" for k, v in result["gates"].items()))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "category_probe.json").write_text(json.dumps(result, indent=2) + "\n")


@evaluate_app.command("vae-round-trip")
def vae_round_trip(
    vae: Path = typer.Option(..., "--vae", exists=True, file_okay=False, help="Autoencoder folder (e.g. CKPT/vae)."),
    val: Path = typer.Option(..., "--val", exists=True, help="Real tracklets with frames (e.g. WORLD/val)."),
    out: Path = typer.Option(..., "--out", help="Folder for the reconstructed split and vae_round_trip.json."),
    clips: Optional[int] = typer.Option(None, "--clips", help="First K clips [default: all]."),
    tracker: Optional[Path] = _TRACKER,
    threads: int = _THREADS,
) -> None:
    """TrackAP, AgnAP, ClsAcc, BgStd and PSNR of real clips after one VAE encode / decode, and
    OUT/round_trip_sheet.png (real and reconstructed frames of the first 6 clips, boxes drawn)."""
    import torch
    from ..evaluation.fidelity import fidelity_row
    from ..evaluation.tracker.model import GroundingTracker
    from ..evaluation.vae_round_trip import round_trip_split
    from ..models.autoencoder import load_autoencoder
    from ..pipelines.generation import pairs_sheet
    from ..tracklets.formats import read_tracklets
    from ..training.vae import load_frames, psnr

    torch.set_num_threads(threads)
    model = load_autoencoder(vae).eval()
    dataset = read_tracklets(val)
    if clips is not None:
        dataset.clips = dataset.clips[:clips]
    tracked = GroundingTracker.from_pretrained(_tracker(tracker))
    out.mkdir(parents=True, exist_ok=True)
    rebuilt = round_trip_split(model, dataset, out / "split")
    result = {"real": fidelity_row(tracked, dataset), "round_trip": fidelity_row(tracked, rebuilt)}
    if clips is None:
        result["psnr"] = psnr(model, *load_frames(str(val), dataset.clips[0].width))
    (out / "vae_round_trip.json").write_text(json.dumps(result, indent=2) + "\n")
    pairs_sheet(dataset, rebuilt, out / "round_trip_sheet.png", "through the VAE")
    typer.echo(json.dumps(result, indent=2))


@evaluate_app.command("phrase-colours")
def phrase_colours(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Pipeline checkpoint [default: the shipped one]."),
    val: Path = typer.Option(..., "--val", exists=True, file_okay=False,
                             help="Held-out split with frames and phrases.json (e.g. WORLD/val)."),
    clips: int = typer.Option(16, "--clips"),
    frames: int = typer.Option(8, "--frames"),
    sampling_steps: int = typer.Option(25, "--sampling-steps"),
    guidance: float = typer.Option(5.0, "--guidance"),
    box_guidance: Optional[float] = typer.Option(None, "--box-guidance",
                                                 help="Separate box (and phrase) guidance scale [default: none]."),
    guidance_rescale: float = typer.Option(0.0, "--guidance-rescale", help="Guidance rescale phi in [0, 1] (0: off)."),
    only: Optional[str] = typer.Option(None, "--only", help="Generate one variant: 'with phrases' or 'category only'."),
    seed: int = typer.Option(0, "--seed", help="Clip i is sampled with seed SEED + i."),
    tracker: Optional[Path] = _TRACKER,
    out: Optional[Path] = typer.Option(None, "--out", help="Write phrase_colours.json here."),
    threads: int = _THREADS,
) -> None:
    """TrackAP, ClsAcc and ColourAcc of clips generated with appearance phrases and with the category only."""
    import tempfile

    import torch

    from ..assets import DEFAULT_CHECKPOINT, require
    from ..evaluation.learning_curve import held_out
    from ..evaluation.phrase_colours import compare_phrases, phrase_variants
    from ..evaluation.tracker.model import GroundingTracker
    from ..pipelines import TrackDiffusionPipeline
    from ..pipelines.generation import GenerationSettings
    from ..tracklets.phrases import PHRASES_FILE

    torch.set_num_threads(threads)
    if not (val / PHRASES_FILE).is_file():
        raise typer.BadParameter(f"{val / PHRASES_FILE} does not exist: ColourAcc needs each object's phrase")
    truth = held_out(val, clips, frames, phrases=True)
    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint"))
    pipe.set_progress_bar_config(disable=True)
    settings = GenerationSettings(steps=sampling_steps, guidance=guidance, box_guidance=box_guidance,
                                  guidance_rescale=guidance_rescale, seed=seed, num_frames=frames)
    try:
        variants = phrase_variants(pipe, only)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--only") from None
    with tempfile.TemporaryDirectory() as tmp:
        rows = compare_phrases(pipe, GroundingTracker.from_pretrained(_tracker(tracker)), truth, settings, Path(tmp),
                               variants)
    lines = ["| clips | TrackAP | AgnAP | ClsAcc | BgStd | ColourAcc |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | " + " | ".join(f"{r[k]:.2f}" for k in ("TrackAP", "AgnAP", "ClsAcc", "BgStd", "ColourAcc"))
              + " |" for name, r in rows.items()]
    typer.echo("\n".join(lines))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "phrase_colours.json").write_text(json.dumps(rows, indent=2) + "\n")
