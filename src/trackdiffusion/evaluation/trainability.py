"""``trackdiffusion trainability``: do generated clips help train a tracker? (paper Tables 2-3)

For each fraction of the real training clips (a seeded subset, the same one for both runs of a
pair) the grounding tracker is trained twice with the same number of gradient steps and the same
batch size: on the real subset alone, and on the real subset plus every generated clip (batches
drawn uniformly over the pooled clips; the paper enlarges QDTrack's batch instead, which needs
more memory than a CPU run has). Each is evaluated by TrackAP on the real validation clips.

Output folder: ``runs/<name>/`` (each a ``train-tracker`` output, resumable; a finished run with
the same settings is reused), ``trainability.json`` / ``.md`` (one row per run; ``gain`` is the
TrackAP difference to the real-only run of the same fraction) and ``trainability.png``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from .plots import plot_trainability
from .report import Report
from .tracker.train import REPORT_FILE, TrackerTrainConfig, train_tracker

COLUMNS = ["real_fraction", "real_clips", "generated_clips", "steps", "TrackAP", "TrackAP50", "TrackAP75", "gain"]
REAL_ONLY, WITH_GENERATED = "real only", "real + generated"


@dataclass
class TrainabilityConfig:
    real: str  # real training split
    generated: str  # generated clips (from the real split's tracklets)
    val: str  # real validation split
    output_dir: str
    fractions: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.75, 1.0])
    steps: int = 1500
    seed: int = 0
    clips_per_batch: int = 8
    frames_per_clip: int = 4


@dataclass
class TrainabilityResult:
    report: Report
    plot: Path


def run_name(fraction: float, with_generated: bool) -> str:
    return f"real{round(100 * fraction):03d}" + ("-generated" if with_generated else "")


def _run(cfg: TrackerTrainConfig, progress: bool, log: Callable[[str], None]) -> dict:
    """The val report of ``cfg``'s run: reused when it finished with the same settings."""
    out = Path(cfg.output_dir)
    saved = out / "train_config.json"
    if (out / REPORT_FILE).is_file() and saved.is_file() and json.loads(saved.read_text()) == asdict(cfg):
        log(f"{out.name}: finished before, reusing its report")
    else:
        train_tracker(cfg, progress=progress, log=log)
    return json.loads((out / REPORT_FILE).read_text())


def run_trainability(cfg: TrainabilityConfig, progress: bool = True,
                     log: Callable[[str], None] | None = None) -> TrainabilityResult:
    """Train and evaluate every (fraction, with / without generated) pair; write table and plot."""
    bad = [f for f in cfg.fractions if not 0 < f <= 1]
    if bad or not cfg.fractions:
        raise ValueError(f"fractions must be in (0, 1] and not empty, got {cfg.fractions}")
    say = log or (lambda _: None)
    out = Path(cfg.output_dir)
    base = TrackerTrainConfig(data=cfg.real, output_dir="", val_data=cfg.val, max_steps=cfg.steps, seed=cfg.seed,
                              clips_per_batch=cfg.clips_per_batch, frames_per_clip=cfg.frames_per_clip,
                              checkpoint_every=min(250, cfg.steps))
    report = Report("trainability", "Trainability: val TrackAP of the grounding tracker trained with and without "
                    "generated clips", COLUMNS, units="TrackAP x100; fractions of the real training clips",
                    settings={"real": cfg.real, "generated": cfg.generated, "val": cfg.val, "steps": cfg.steps,
                              "batch": f"{cfg.clips_per_batch} clips x {cfg.frames_per_clip} frames",
                              "seed": cfg.seed, "mixing": "uniform over the pooled real + generated clips"})
    curves: dict[str, list[float]] = {REAL_ONLY: [], WITH_GENERATED: []}
    for fraction in cfg.fractions:
        baseline = None
        for with_generated in (False, True):
            name = run_name(fraction, with_generated)
            say(f"{name}: training {cfg.steps} steps")
            run_cfg = replace(base, output_dir=str(out / "runs" / name), train_fraction=fraction,
                              extra_data=[cfg.generated] if with_generated else [])
            result = _run(run_cfg, progress, say)
            baseline = result["AP"] if baseline is None else baseline
            curves[WITH_GENERATED if with_generated else REAL_ONLY].append(result["AP"])
            label = f"{round(100 * fraction)}% real" + (" + generated" if with_generated else "")
            report.add_row(label, {"real_fraction": fraction, "real_clips": result["train_clips"],
                                   "generated_clips": result["extra_clips"], "steps": result["steps"],
                                   "TrackAP": result["AP"], "TrackAP50": result["AP50"], "TrackAP75": result["AP75"],
                                   "gain": result["AP"] - baseline if with_generated else None})
    report.write(out)
    return TrainabilityResult(report, plot_trainability(cfg.fractions, curves, out / "trainability.png"))
