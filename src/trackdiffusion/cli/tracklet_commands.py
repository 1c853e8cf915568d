"""``tracklets augment`` and ``tracklets sample``: new tracklets for ``generate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from .app import app

console = Console(stderr=True)
tracklets_app = typer.Typer(help="Make new tracklets: augment existing ones, or sample from fitted statistics.",
                            no_args_is_help=True)
app.add_typer(tracklets_app, name="tracklets")


def _say(message: str) -> None:
    console.print(escape(message), highlight=False, soft_wrap=True)


def write_tracklet_set(dataset, out: Path, to: str, caption: Optional[str], records: dict | None = None) -> None:
    """Tracklets in format ``to`` under ``out`` (a folder ``generate --tracklets`` reads), a caption
    per clip (``caption`` or the category template), ``phrases.json`` when instances have appearance
    phrases and, for augmented sets, ``augmentations.json``."""
    from ..tracklets.augment import AUGMENTATIONS_FILE
    from ..tracklets.captions import category_caption, save_captions
    from ..tracklets.formats import FORMATS, write_tracklets
    from ..tracklets.loader import CAPTIONS_FILE
    from ..tracklets.phrases import PHRASES_FILE, save_phrases

    if to not in FORMATS:
        raise typer.BadParameter(f"--to must be one of {', '.join(FORMATS)}, got {to!r}")
    out.mkdir(parents=True, exist_ok=True)
    for clip in dataset.clips:
        clip.caption = caption or category_caption([clip.categories[i.category_id] for i in clip.instances])
    target = {"cocovid": out / "cocovid.json", "ytvis": out / "ytvis.json", "bdd": out / "bdd.json"}.get(to, out)
    write_tracklets(dataset, target, to)
    save_captions({c.name: c.caption for c in dataset.clips}, out / CAPTIONS_FILE)
    if any(i.phrase for c in dataset.clips for i in c.instances):
        save_phrases(dataset, out / PHRASES_FILE)
    if records is not None:
        (out / AUGMENTATIONS_FILE).write_text(json.dumps(records, indent=1) + "\n")


@tracklets_app.command()
def augment(
    src: Path = typer.Argument(..., help="Tracklets in any supported format."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    ops: str = typer.Option("flip,jitter", "--ops", help="Comma-separated, applied in order: flip, reverse, speed, "
                            "jitter, paste, crowd, cross, exit."),
    copies: int = typer.Option(1, "--copies", help="Augmented versions of each clip."),
    seed: int = typer.Option(0, "--seed"),
    keep_source: bool = typer.Option(False, "--keep-source", help="Also write the source clips unchanged."),
    to: str = typer.Option("cocovid", "--to", help="Output format: cocovid, ytvis, mot, got10k, bdd."),
    caption: Optional[str] = typer.Option(None, "--caption", help="One caption for every clip [default: template]."),
) -> None:
    """Augmented tracklets, each clip's ops recorded in augmentations.json (generate copies them to its
    manifest); the appearance phrases of a phrases.json beside SRC go with their objects."""
    from ..tracklets.augment import augment_dataset
    from ..tracklets.dataset import sidecar_folder
    from ..tracklets.formats import read_tracklets
    from ..tracklets.phrases import read_split_phrases

    names = [o.strip() for o in ops.split(",") if o.strip()]
    source = read_tracklets(src)
    read_split_phrases(source, sidecar_folder(src))  # motion ops do not change looks
    data, records = augment_dataset(source, names, copies, seed, keep_source)
    write_tracklet_set(data, out, to, caption, records)
    _say(f"wrote {len(data)} clips ({', '.join(names)}; {copies} per source clip) to {out}")


@tracklets_app.command()
def sample(
    fit_: Path = typer.Option(..., "--fit", help="Tracklets to fit the statistics to (any supported format)."),
    out: Path = typer.Option(..., "--out", help="Output folder (tracklets, captions, report.md, statistics.png)."),
    clips: int = typer.Option(..., "--clips", help="Clips to sample."),
    seed: int = typer.Option(0, "--seed"),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames per clip [default: the median of the source]."),
    to: str = typer.Option("cocovid", "--to", help="Output format: cocovid, ytvis, mot, got10k, bdd."),
    caption: Optional[str] = typer.Option(None, "--caption", help="One caption for every clip [default: template]."),
) -> None:
    """New tracklets from fitted statistics, with a report comparing sampled and source statistics."""
    from ..tracklets.formats import read_tracklets
    from ..tracklets.sampling import describe, fit, sample as draw

    if clips < 0:
        raise typer.BadParameter(f"--clips must be >= 0, got {clips}")
    source = read_tracklets(fit_)
    stats = fit(source)
    data = draw(stats, source.categories, clips, seed, num_frames=frames)
    write_tracklet_set(data, out, to, caption)
    mine, theirs = describe(data), describe(source)
    lines = [f"# Sampled tracklets: {clips} clips from the statistics of {fit_} (seed {seed})", "",
             "| statistic | source | sampled |", "|---|---:|---:|"]
    lines += [f"| {k} | {theirs[k]:.4g} | {mine[k]:.4g} |" for k in theirs]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    _plot(source, data, out / "statistics.png")
    _say("\n".join(lines[2:]))
    _say(f"wrote {len(data)} clips to {out} (report: {out / 'report.md'})")


def _plot(source, sampled, path: Path) -> None:
    import numpy as np

    from ..evaluation.plots import _pyplot, _save
    from ..tracklets.sampling import histograms

    plt = _pyplot()
    a, b = histograms(source), histograms(sampled)
    fig, axes = plt.subplots(1, len(a), figsize=(4 * len(a), 3), dpi=100)
    for ax, key in zip(axes, a):
        both = [x for x in (a[key], b[key]) if x.size]
        bins = np.histogram_bin_edges(np.concatenate(both), bins=20) if both else 10
        ax.hist(a[key], bins=bins, alpha=0.5, density=True, label="source")
        ax.hist(b[key], bins=bins, alpha=0.5, density=True, label="sampled")
        ax.set_title(key)
    axes[0].legend()
    fig.tight_layout()
    _save(fig, plt, path)
