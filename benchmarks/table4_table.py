"""The table of `benchmarks/table4_analog.sh`: one CSV row per run, then the mean per variant.

    .venv/bin/python benchmarks/table4_table.py OUT [PREFIX]    # PREFIX: t4 (default) or t4-x10 (LR_MULT=10)
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

VARIANTS = ("vanilla", "embedding", "enhancer")


def run_row(out: Path, prefix: str, variant: str, seed: int) -> dict | None:
    run = out / f"{prefix}-{variant}-s{seed}"
    demo = Path(f"{run}-demo") / "summary.json"
    if not demo.is_file():
        return None
    lines = [line for line in Path(f"{run}.score.log").read_text().splitlines() if line.startswith("{")]
    score = json.loads(lines[-1])  # learning-curve score prints one JSON object per step
    summary = json.loads(demo.read_text())
    losses = [line.split(",") for line in (run / "loss.csv").read_text().splitlines()[1:]]
    # the mean logged loss of the last 250 steps: with one seed every variant draws the same batches,
    # noise, timesteps and guidance dropout (each step has its own generator; only the phrase dropout,
    # drawn after the identity slots, differs), so the variants' losses compare pair by pair
    last = [float(loss) for step, loss, *_ in losses if int(step) > int(losses[-1][0]) - 250]
    generated = next(r["values"] for r in summary["evaluation"]["rows"] if r["name"] == "Generated")
    return dict(variant=variant, seed=seed, loss_last250=statistics.mean(last), TrackAP16=score["TrackAP"],
                AgnAP16=score["AgnAP"], ClsAcc16=score["ClsAcc"], BgStd16=score["BgStd"], demo_TrackAP=generated["TrackAP"],
                demo_Success=generated["Success"], demo_IDSW=generated["IDSW"], demo_DriftF2F=generated["DriftF2F"],
                demo_colour_std=summary["box_following"]["generated"]["colour_std"])


def fmt(key: str, value) -> str:
    if isinstance(value, (str, int)):
        return str(value)
    return f"{value:.4f}" if key.startswith("loss") else f"{value:.2f}"


def main(out: Path, prefix: str = "t4") -> None:
    names = [p.name for v in VARIANTS for p in out.glob(f"{prefix}-{v}-s*")
             if p.is_dir() and p.name.rsplit("-s", 1)[1].isdigit()]
    seeds = sorted({int(name.rsplit("-s", 1)[1]) for name in names})
    rows = [r for s in seeds for v in VARIANTS if (r := run_row(out, prefix, v, s)) is not None]
    if not rows:
        sys.exit(f"{out}: no scored run ({prefix}-VARIANT-sSEED-demo/summary.json)")
    keys = list(rows[0])
    print(",".join(keys))
    for r in rows:
        print(",".join(fmt(k, r[k]) for k in keys))
    for v in VARIANTS:
        chosen = [r for r in rows if r["variant"] == v]
        if chosen:
            means = [fmt(k, float(statistics.mean(r[k] for r in chosen))) for k in keys[2:]]
            print(f"{v},mean of {len(chosen)}," + ",".join(means))


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:3])
