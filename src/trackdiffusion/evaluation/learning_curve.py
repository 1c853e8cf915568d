"""Generated-clip quality over training: does more compute keep paying?

``trackdiffusion learning-curve score --run RUN --val VAL`` takes every checkpoint of a training
run not scored yet (or those given), exports its EMA weights, generates the first ``clips``
held-out clips (first ``frames`` frames, the clip index as seed) and scores them with the
grounding tracker (:func:`.fidelity.fidelity_row`: TrackAP, AgnAP, ClsAcc, BgStd), plus the mean
opening ``tanh(gate)`` of the gated self-attention and of the gated cross-attention. Rows go to
``RUN/learning_curve.csv`` (append-only, so a killed job loses at most the checkpoint it was
scoring); the real clips' row is ``RUN/learning_curve_real.json``.

``trackdiffusion learning-curve plot RUN [RUN ...] --out PNG`` draws the runs as one curve
against frames seen (runs given in training order, e.g. a spatial stage then the video stage,
are placed one after the other), with the real clips' values as dashed lines.
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
COLUMNS = ("step", "frames_seen", *METRICS, "gate_self_attention", "gate_cross_attention")


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
              clips: int = 16, frames: int = 8, sampling_steps: int = 25, guidance: float = 5.0) -> list[dict]:
    """Score the checkpoints ``steps`` (default: every one not yet in the CSV); return the new rows."""
    run = Path(run)
    model = GroundingTracker.from_pretrained(tracker)
    truth = held_out(val, clips, frames)
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
                   **gate_openings(pipe.unet)}
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


def read_curve(runs: list[str | Path]) -> tuple[dict[str, np.ndarray], dict[str, float] | None]:
    """The rows of ``runs`` in training order (frames seen accumulated across runs) and the real row."""
    out: dict[str, list[float]] = {k: [] for k in COLUMNS}
    offset, real = 0, None
    for run in map(Path, runs):
        with (run / CSV_FILE).open() as f:
            rows = sorted(csv.DictReader(f), key=lambda r: int(r["step"]))
        for row in rows:
            for k in COLUMNS:
                out[k].append(float(row[k]) + (offset if k == "frames_seen" else 0))
        last = max(checkpoint_steps(run) or [0])
        offset += last * frames_per_step(run)
        if real is None and (run / REAL_FILE).is_file():
            real = json.loads((run / REAL_FILE).read_text())
    return {k: np.asarray(v) for k, v in out.items()}, real


def plot_curve(runs: list[str | Path], out: str | Path, title: str = "generated clips over training") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve, real = read_curve(runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = curve["frames_seen"] / 1e6
    for name, colour in zip(("TrackAP", "AgnAP", "ClsAcc"), ("C0", "C1", "C2")):
        left.plot(x, curve[name], "o-", color=colour, label=f"{name} (generated)")
        if real is not None:
            left.axhline(real[name], color=colour, linestyle="--", linewidth=1, label=f"{name} (real clips)")
    left.set_xlabel("training frames seen (millions)")
    left.set_ylabel("x100")
    left.set_ylim(0, 100)
    left.legend(fontsize=7)
    right.plot(x, curve["BgStd"], "o-", color="C3", label="background std (generated)")
    if real is not None:
        right.axhline(real["BgStd"], color="C3", linestyle="--", linewidth=1, label="background std (real)")
    right.set_xlabel("training frames seen (millions)")
    right.set_ylabel("0-255")
    right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
