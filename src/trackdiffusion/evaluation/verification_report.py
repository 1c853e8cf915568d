"""The report of ``trackdiffusion verify``: pass rate, an STIoU histogram and the worst clips drawn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..tracklets import TrackletDataset
from ..tracklets.loader import read_clip_frames
from ..video.draw import draw_tracklets
from ..video.io import save_image
from ..video.sheet import contact_sheet
from .plots import _pyplot, _save
from .verification import Thresholds


def summarize(results: dict[str, dict], thresholds: Thresholds) -> dict:
    ious = [r["iou"] for res in results.values() for r in res["instances"].values()]
    passed = sum(res["passed"] for res in results.values())
    return {"clips": len(results), "passed": passed, "pass_rate": round(passed / len(results), 6) if results else None,
            "instances": len(ious), "mean_st_iou": round(float(np.mean(ious)), 6) if ious else None,
            "min_iou": thresholds.min_iou, "require_category": thresholds.require_category}


def write_report(results: dict[str, dict], thresholds: Thresholds, conditioning: TrackletDataset,
                 predicted: TrackletDataset, out: str | Path, worst: int = 6) -> dict:
    """``out/verification.json`` (summary + per clip), ``report.md``, ``st_iou.png`` and ``worst_clips.png``
    (worst clips first: conditioning boxes on the upper row, re-detected boxes below)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results, thresholds)
    (out / "verification.json").write_text(json.dumps({"summary": summary, "clips": results}, indent=1) + "\n")
    lines = ["# Verification", "",
             f"{summary['passed']} of {summary['clips']} clips pass (STIoU >= {thresholds.min_iou}"
             f"{', category agrees' if thresholds.require_category else ''}); mean STIoU {summary['mean_st_iou']}.", "",
             "| clip | passed | lowest STIoU | failed instances |", "|---|---|---:|---|"]
    order = sorted(results, key=lambda n: results[n]["min_iou"])
    lines += [f"| {n} | {'yes' if results[n]['passed'] else 'no'} | {results[n]['min_iou']:.3f} | "
              f"{', '.join(map(str, results[n]['failed_instances'])) or '-'} |" for n in order]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.hist([r["iou"] for res in results.values() for r in res["instances"].values()], bins=20, range=(0, 1))
    ax.axvline(thresholds.min_iou, color="k", linestyle="--")
    ax.set(xlabel="spatio-temporal IoU of the matched track", ylabel="instances")
    fig.tight_layout()
    _save(fig, plt, out / "st_iou.png")
    _worst_sheet(order[:worst], conditioning, predicted, out / "worst_clips.png")
    return summary


def _worst_sheet(names: list[str], conditioning: TrackletDataset, predicted: TrackletDataset, path: Path) -> None:
    if not names or conditioning.image_root is None:
        return
    found = {c.name: c for c in predicted.clips}
    rows, labels = [], []
    for name in names:
        clip = conditioning.clip(name)
        frames = read_clip_frames(clip, conditioning.image_root)
        scale = max(1, 128 // clip.height)
        rows.append(draw_tracklets(frames, clip, scale=scale, labels=False))
        labels.append(f"{name} conditioning")
        if name in found:
            rows.append(draw_tracklets(frames, found[name], scale=scale, labels=False))
            labels.append(f"{name} re-detected")
    save_image(contact_sheet(rows, labels, max_frames=8), path)
