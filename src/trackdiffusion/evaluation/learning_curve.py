"""Generated-clip quality over training: does more compute keep paying?

``trackdiffusion learning-curve score --run RUN --val VAL`` takes every checkpoint of a training
run not scored yet (or those given), exports its EMA weights, generates the first ``clips``
held-out clips (first ``frames`` frames, the clip index as seed) and scores them with the
grounding tracker (:func:`.fidelity.fidelity_row`: TrackAP, AgnAP, ClsAcc, BgStd), plus the mean
opening ``tanh(gate)`` of the gated self-attention and of the gated cross-attention. A run trained
with appearance phrases is sampled with the held-out split's ``phrases.json`` (as it is used), unless
told otherwise. Rows go to ``RUN/learning_curve.csv`` (append-only, so a killed job loses at most the
checkpoint it was scoring); the real clips' row is ``RUN/learning_curve_real.json``.

``trackdiffusion learning-curve plot SOURCE [SOURCE ...] --out PNG`` draws the sources as one curve
against frames seen (given in training order, e.g. a spatial stage then the video stage, they are
placed one after the other, a dotted line where each run starts), with the real clips' values as
dashed lines, and writes the rows it drew to ``PNG`` with the suffix ``.csv``. A source is a run
folder or such a ``.csv`` (its frames seen are already cumulative), so a curve outlives the run
folders it came from.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..pipelines import TrackDiffusionPipeline
from ..pipelines.generation import GenerationSettings, generate_dataset
from ..tracklets.dataset import TrackletDataset
from ..tracklets.formats import read_tracklets
from ..tracklets.phrases import read_split_phrases
from ..training.checkpointing import checkpoint_dir
from ..training.config import load_config
from ..training.export import export_run
from .fidelity import fidelity_row
from .tracker.model import GroundingTracker

CSV_FILE, REAL_FILE = "learning_curve.csv", "learning_curve_real.json"
METRICS = ("TrackAP", "AgnAP", "ClsAcc", "BgStd")
COLUMNS = ("step", "frames_seen", *METRICS, "gate_self_attention", "gate_cross_attention", "phrases")
PLOT_COLUMNS = ("run", "run_start", *COLUMNS)  # run_start: frames seen when the run began


def trained_with_phrases(run: Path) -> bool:
    return bool(load_config(run / "config.json").model.options.get("appearance_phrases", False))


def frames_per_step(run: Path) -> int:
    """Training frames one optimizer step sees (per process; the runs here use one)."""
    cfg = load_config(run / "config.json")
    return cfg.batch_size * cfg.gradient_accumulation_steps * cfg.data.num_frames


def held_out(val: str | Path, clips: int, frames: int, phrases: bool = False) -> TrackletDataset:
    """The first ``clips`` clips of ``val``, cut to their first ``frames`` frames; ``phrases``
    attaches the split's ``phrases.json`` first (the cut may drop instances it names)."""
    dataset = read_tracklets(val)
    if phrases:
        read_split_phrases(dataset, val)
    dataset.clips = [c.window(0, frames) for c in dataset.clips[:clips]]
    return dataset


def gate_openings(unet: torch.nn.Module) -> dict[str, float]:
    """Mean ``|tanh(alpha)|`` over the attention gates of the fusers and of the instance injectors."""
    found: dict[str, list[float]] = {"gate_self_attention": [], "gate_cross_attention": []}
    for name, p in unet.named_parameters():
        if name.endswith("fuser.alpha_attn"):
            found["gate_self_attention"].append(abs(float(torch.tanh(p.detach().float()))))
        elif name.endswith("instance_injector.gamma_attn") or name.endswith("instance_injector.alpha_attn"):
            found["gate_cross_attention"].append(abs(float(torch.tanh(p.detach().float()))))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in found.items()}


def scored_steps(run: Path) -> set[int]:
    path = run / CSV_FILE
    if not path.is_file():
        return set()
    with path.open() as f:
        return {int(row["step"]) for row in csv.DictReader(f)}


def checkpoint_steps(run: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in checkpoint_dir(run).glob("step-*") if (p / "model.safetensors").is_file())


def score_run(run: str | Path, val: str | Path, tracker: str | Path, steps: list[int] | None = None,
              clips: int = 16, frames: int = 8, sampling_steps: int = 25, guidance: float = 5.0,
              phrases: bool | None = None) -> list[dict]:
    """Score the checkpoints ``steps`` (default: every one not yet in the CSV); return the new rows.
    ``phrases``: sample with ``val``'s appearance phrases (default: when the run trains with them)."""
    run = Path(run)
    phrases = trained_with_phrases(run) if phrases is None else phrases
    model = GroundingTracker.from_pretrained(tracker)
    truth = held_out(val, clips, frames, phrases=phrases)
    if not (run / REAL_FILE).is_file():
        (run / REAL_FILE).write_text(json.dumps(fidelity_row(model, truth), indent=2) + "\n")
    done = scored_steps(run)
    todo = [s for s in (steps if steps is not None else checkpoint_steps(run)) if s not in done]
    rows = []
    for step in todo:
        with tempfile.TemporaryDirectory() as tmp:
            pipe = TrackDiffusionPipeline.from_checkpoint(export_run(run, Path(tmp) / "pipeline", step=step))
            pipe.set_progress_bar_config(disable=True)
            settings = GenerationSettings(steps=sampling_steps, guidance=guidance, seed=0, num_frames=frames)
            generated = generate_dataset(pipe, truth, Path(tmp) / "generated", settings)
            row = {"step": step, "frames_seen": step * frames_per_step(run), **fidelity_row(model, generated),
                   **gate_openings(pipe.unet), "phrases": int(phrases)}
        _append(run / CSV_FILE, row)
        rows.append(row)
    return rows


def _append(path: Path, row: dict) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: row[k] for k in COLUMNS})


def read_curve(sources: list[str | Path], branches: dict[str, str] | None = None) -> tuple[list[dict], dict[str, float] | None]:
    """The rows of ``sources`` (run folders or curve CSVs) in training order, frames seen accumulated
    across them, and the real clips' row (the first source's that has one).

    ``branches`` maps a run folder's name to ``"RUN:STEP"``, an earlier run's scored checkpoint the
    run was continued from (``model.init_checkpoint``): its frames start there, not where the source
    before it ended, so a run that branches off an earlier point is drawn from that point.
    """
    rows: list[dict] = []
    offset, real, branches = 0, None, dict(branches or {})
    for source in map(Path, sources):
        if source.suffix == ".csv":
            with source.open() as f:
                reader = csv.DictReader(f)
                missing = [k for k in ("run", "run_start", "step", "frames_seen", *METRICS) if k not in (reader.fieldnames or [])]
                if missing:
                    raise ValueError(f"{source}: not a curve CSV that `learning-curve plot` writes (no column {missing})")
                found = [_numbers(r, r["run"], 0, float(r["run_start"])) for r in reader]
            real_file, end = _real_beside(source), max((r["frames_seen"] for r in found), default=0)
        else:
            start = _branch_point(rows, source.name, branches.pop(source.name)) if source.name in branches else offset
            with (source / CSV_FILE).open() as f:
                found = [_numbers(r, source.name, start, start) for r in sorted(csv.DictReader(f), key=lambda r: int(r["step"]))]
            real_file, end = source / REAL_FILE, start + max(checkpoint_steps(source) or [0]) * frames_per_step(source)
        rows += found
        offset = max(offset, end)
        if real is None and real_file.is_file():
            real = json.loads(real_file.read_text())
    if branches:
        raise ValueError(f"branches name runs that are not among the sources: {sorted(branches)}")
    return rows, real


def _branch_point(rows: list[dict], run: str, parent: str) -> float:
    """Frames seen at ``parent`` (``"RUN:STEP"``, a row read before ``run``)."""
    name, _, step = parent.rpartition(":")
    found = [r["frames_seen"] for r in rows if r["run"] == name and step.isdigit() and r["step"] == int(step)]
    if not found:
        known = sorted({f"{r['run']}:{int(r['step'])}" for r in rows})
        raise ValueError(f"{run} branches off {parent!r}, which is no row of the sources before it (rows: {known})")
    return found[0]


def _numbers(row: dict, run: str, offset: float, run_start: float) -> dict:
    """A CSV row as numbers (a missing or empty value, e.g. an older CSV's phrases, is NaN), its
    frames seen moved by ``offset``."""
    out = {k: float(row[k]) if row.get(k) not in (None, "") else float("nan") for k in COLUMNS}
    return {**out, "run": run, "run_start": run_start, "frames_seen": out["frames_seen"] + offset}


def _real_beside(curve_csv: Path) -> Path:
    return curve_csv.with_name(curve_csv.stem + "_real.json")


def _integral(key: str, value):
    """Steps, frames and the phrases flag back as the integers they are (NaN stays NaN)."""
    return int(value) if key in ("step", "frames_seen", "run_start", "phrases") and value == value else value


def write_curve(rows: list[dict], real: dict | None, path: Path) -> None:
    """``rows`` (cumulative frames seen) as a curve CSV ``read_curve`` takes, the real row beside it."""
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PLOT_COLUMNS)
        writer.writeheader()
        writer.writerows({k: _integral(k, row[k]) for k in PLOT_COLUMNS} for row in rows)
    if real is not None:
        _real_beside(path).write_text(json.dumps(real, indent=2) + "\n")


def plot_curve(sources: list[str | Path], out: str | Path, title: str = "generated clips over training",
               branches: dict[str, str] | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if len(sources) > 1 and out.with_suffix(".csv").resolve() in {Path(s).resolve() for s in sources}:
        raise ValueError(f"{out.with_suffix('.csv')} is one of the sources and would be rewritten with the other "
                         "sources' rows added to it again: write the plot elsewhere")
    rows, real = read_curve(sources, branches)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_curve(rows, real, out.with_suffix(".csv"))
    curve = {k: np.asarray([r[k] for r in rows]) for k in (*METRICS, "frames_seen")}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = curve["frames_seen"] / 1e6
    for i, row in enumerate(rows):
        if i > 0 and row["run"] != rows[i - 1]["run"]:  # where the next run (or stage, or branch) starts
            start = row["run_start"] / 1e6
            for ax in (left, right):
                ax.axvline(start, color="grey", linestyle=":", linewidth=1)
            left.annotate(row["run"], (start, 98), fontsize=7, color="grey", rotation=90, ha="left", va="top")
    # one line and marker per run: a run that branches off an earlier point stays apart from the run
    # it overlaps and is not joined to the run before it
    names = list(dict.fromkeys(r["run"] for r in rows))
    runs = [[i for i, r in enumerate(rows) if r["run"] == run] for run in names]
    markers = "os^Dvp*"

    def draw(ax, key: str, colour: str, label: str) -> None:
        for k, mine in enumerate(runs):
            ax.plot(x[mine], curve[key][mine], markers[k % len(markers)] + "-", color=colour,
                    label=label if k == 0 else None)

    for name, colour in zip(("TrackAP", "AgnAP", "ClsAcc"), ("C0", "C1", "C2")):
        draw(left, name, colour, f"{name} (generated)")
        if real is not None:
            left.axhline(real[name], color=colour, linestyle="--", linewidth=1, label=f"{name} (real clips)")
    left.set_xlabel("training frames seen (millions)")
    left.set_ylabel("x100")
    left.set_ylim(0, 100)
    left.legend(fontsize=7)
    draw(right, "BgStd", "C3", "background std (generated)")
    if real is not None:
        right.axhline(real["BgStd"], color="C3", linestyle="--", linewidth=1, label="background std (real)")
    if len(names) > 1:
        for k, name in enumerate(names):
            right.plot([], [], markers[k % len(markers)], color="grey", label=name)
    right.set_xlabel("training frames seen (millions)")
    right.set_ylabel("0-255")
    right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
