"""PNG plots of the evaluation tables (matplotlib, Agg backend: no display needed).

* :func:`plot_pr_curves` - TrackAP precision-recall curves at IoU 0.50 and 0.75, one colour per row.
* :func:`plot_iou_over_time` - per clip, the IoU in every frame between each input tracklet and
  the track that matches it best, one colour per tracklet, one line style per row.
* :func:`plot_trainability` - val TrackAP against the fraction of real training clips.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .trackap import IOU_THRESHOLDS, MAX_DETS, RECALL_POINTS, TrackAPArrays

_STYLES = ("-", "--", ":", "-.")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mean_precision(arrays: TrackAPArrays, iou: float) -> np.ndarray:
    """``[R]`` precision at the recall points for IoU threshold ``iou`` (area all, 100 detections),
    averaged over the categories that have ground truth; ``nan`` where none has."""
    t = int(np.flatnonzero(np.isclose(IOU_THRESHOLDS, iou))[0])
    p = arrays.precision[t, :, :, 0, MAX_DETS.index(100)]  # [R, K]
    valid = p > -1
    counts = valid.sum(1)
    return np.where(counts > 0, np.where(valid, p, 0.0).sum(1) / np.maximum(counts, 1), np.nan)


def plot_pr_curves(curves: dict[str, TrackAPArrays], path: str | Path, title: str = "TrackAP precision-recall") -> Path:
    """One line per row and IoU threshold (solid 0.50, dashed 0.75)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for k, (name, arrays) in enumerate(curves.items()):
        for iou, style in ((0.5, "-"), (0.75, "--")):
            ax.plot(RECALL_POINTS, mean_precision(arrays, iou), style, color=f"C{k}", label=f"{name}, IoU {iou:.2f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return _save(fig, plt, path)


def plot_iou_over_time(series: dict[str, dict[str, dict[int, np.ndarray]]], path: str | Path,
                       max_clips: int = 16) -> Path:
    """``series[row][clip][instance id]`` is ``[T]`` IoU (``nan`` where the tracklet is absent);
    a grid of the first ``max_clips`` clips of the first row."""
    plt = _pyplot()
    rows = list(series)
    clips = list(series[rows[0]])[:max_clips] if rows else []
    cols = max(1, min(4, len(clips)))
    lines = max(1, math.ceil(len(clips) / cols))
    fig, axes = plt.subplots(lines, cols, figsize=(3 * cols, 2.2 * lines), dpi=100, squeeze=False, sharey=True)
    for ax, clip in zip(axes.flat, clips):
        for r, row in enumerate(rows):
            for k, (inst_id, iou) in enumerate(series[row].get(clip, {}).items()):
                ax.plot(np.arange(len(iou)), iou, _STYLES[r % len(_STYLES)], color=f"C{k % 10}", lw=1.2,
                        label=f"{row}" if k == 0 else None)
        ax.set_title(clip, fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(clips):]:
        ax.axis("off")
    if clips:
        axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.supxlabel("frame", fontsize=9)
    fig.supylabel("IoU with best track", fontsize=9)
    fig.tight_layout()
    return _save(fig, plt, path)


def plot_trainability(fractions: list[float], values: dict[str, list[float]], path: str | Path,
                      metric: str = "TrackAP") -> Path:
    """One line per setting (e.g. real only / real + generated) over the real-data fractions."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    x = [100 * f for f in fractions]
    for k, (name, ys) in enumerate(values.items()):
        ax.plot(x, ys, "o" + _STYLES[k % len(_STYLES)], color=f"C{k}", label=name)
    ax.set(xlabel="real training clips (%)", ylabel=f"val {metric}", title="Trainability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig, plt, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
