"""Identity consistency of generated clips: appearance drift inside boxes, and ID switches.

**Appearance drift** (is an instance the same object from frame to frame?). For an instance and
each frame ``t`` where it is present, its box is cut into a ``grid x grid`` lattice (4 x 4); each
cell's colour is the mean of ``2 x 2`` bilinear samples at the cell's sub-centres (ROIAlign with
``aligned=True`` and ``sampling_ratio=2``: pixel ``k`` covers ``[k, k + 1)``, coordinates clamped
to the frame), giving ``v_t`` in ``[0, 1]^(3 grid^2)``. With ``D = 3 grid^2`` and the instance's
present frames ``t_1 < ... < t_n`` (``n >= 2``; instances present once have no drift):

* ``to_mean = mean_k ||v_{t_k} - mean_j v_{t_j}|| / sqrt(D)``: RMS colour distance to the
  instance's own average appearance;
* ``frame_to_frame = mean_k ||v_{t_{k+1}} - v_{t_k}|| / sqrt(D)``: RMS colour change between
  consecutive present frames.

Both are in colour units of ``[0, 1]``. Motion, lighting and occlusion move them on real videos
too, so they are read against the same numbers on the real clip of the same tracklets: a
generated instance that changes identity drifts more than its real counterpart.

**ID switches** of a tracker's output against the input tracklets. In every frame the present
non-crowd tracklet boxes and the tracker's present boxes are matched one-to-one, maximising the
total IoU among pairs with ``IoU >= 0.5`` (Hungarian; categories ignored). Walking a tracklet's
matched frames in order, a switch is counted each time its matched tracker id differs from the
one it was last matched to (unmatched frames in between are skipped, as in CLEAR-MOT's IDSW).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..tracklets.clip import Clip
from .boxes import pairwise_iou


@dataclass
class InstanceDrift:
    """Drift of one instance (``nan`` when present in fewer than two frames)."""

    to_mean: float
    frame_to_frame: float
    frames: int


@dataclass
class InstanceSwitches:
    """ID switches of one tracklet: ``switches``, frames ``matched`` out of ``present``."""

    switches: int
    matched: int
    present: int


def roi_colors(frame: np.ndarray, box: np.ndarray, grid: int = 4, samples: int = 2) -> np.ndarray:
    """``[grid * grid * 3]`` mean colours in [0, 1] of the cells of ``box`` (xyxy) in ``frame [H, W, 3]``."""
    h, w = frame.shape[:2]
    n = grid * samples
    offsets = (np.arange(n) + 0.5) / n  # sub-centres: ``samples`` per cell, evenly spaced
    xs = box[0] + offsets * (box[2] - box[0])
    ys = box[1] + offsets * (box[3] - box[1])
    (x0, x1, wx), (y0, y1, wy) = _bilinear_taps(xs, w), _bilinear_taps(ys, h)
    img = frame.astype(np.float64) / 255.0
    wx, wy = wx[None, :, None], wy[:, None, None]
    values = ((1 - wy) * ((1 - wx) * img[np.ix_(y0, x0)] + wx * img[np.ix_(y0, x1)])
              + wy * ((1 - wx) * img[np.ix_(y1, x0)] + wx * img[np.ix_(y1, x1)]))  # [n, n, 3]
    return values.reshape(grid, samples, grid, samples, 3).mean(axis=(1, 3)).reshape(-1)


def _bilinear_taps(coords: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour indices and weight of the upper one for continuous ``coords`` (pixel centres
    at ``k + 0.5``), clamped to ``[0, size - 1]``."""
    u = np.clip(coords - 0.5, 0.0, size - 1)
    lo = np.floor(u).astype(int)
    return lo, np.minimum(lo + 1, size - 1), u - lo


def _check_frames(frames: np.ndarray, clip: Clip) -> None:
    expected = (clip.num_frames, clip.height, clip.width, 3)
    if frames.shape != expected:
        raise ValueError(f"clip {clip.name!r}: frames {frames.shape} do not match the tracklets' {expected}")


def appearance_drift(frames: np.ndarray, clip: Clip, grid: int = 4) -> dict[int, InstanceDrift]:
    """Drift of every instance of ``clip`` in ``frames`` (uint8 ``[T, H, W, 3]``), by instance id."""
    _check_frames(frames, clip)
    out = {}
    for inst in clip.instances:
        idx = inst.frames()
        if len(idx) < 2:
            out[inst.id] = InstanceDrift(float("nan"), float("nan"), len(idx))
            continue
        v = np.stack([roi_colors(frames[t], inst.boxes[t], grid) for t in idx])  # [n, D]
        scale = np.sqrt(v.shape[1])
        out[inst.id] = InstanceDrift(
            to_mean=float(np.mean(np.linalg.norm(v - v.mean(axis=0), axis=1)) / scale),
            frame_to_frame=float(np.mean(np.linalg.norm(np.diff(v, axis=0), axis=1)) / scale),
            frames=len(idx),
        )
    return out


def mean_drift(drifts: dict[int, InstanceDrift]) -> dict[str, float]:
    """Mean ``to_mean`` and ``frame_to_frame`` over the instances that have a drift."""
    valid = [d for d in drifts.values() if np.isfinite(d.to_mean)]
    if not valid:
        return {"to_mean": float("nan"), "frame_to_frame": float("nan"), "instances": 0}
    return {"to_mean": float(np.mean([d.to_mean for d in valid])),
            "frame_to_frame": float(np.mean([d.frame_to_frame for d in valid])),
            "instances": len(valid)}


def identity_switches(tracklets: Clip, tracked: Clip, iou_threshold: float = 0.5) -> dict[int, InstanceSwitches]:
    """ID switches of ``tracked`` (a tracker's output) per tracklet of ``tracklets``, by id."""
    if tracked.num_frames != tracklets.num_frames:
        raise ValueError(f"tracked clip has {tracked.num_frames} frames, tracklets {tracklets.num_frames}")
    gts = [i for i in tracklets.instances if not i.iscrowd]
    last = {g.id: None for g in gts}
    out = {g.id: InstanceSwitches(0, 0, int(g.present.sum())) for g in gts}
    for t in range(tracklets.num_frames):
        g_here = [g for g in gts if g.present[t]]
        p_here = [p for p in tracked.instances if p.present[t]]
        if not g_here or not p_here:
            continue
        ious = pairwise_iou(np.stack([g.boxes[t] for g in g_here]), np.stack([p.boxes[t] for p in p_here]))
        ious[ious < iou_threshold] = 0.0
        for r, c in zip(*linear_sum_assignment(ious, maximize=True)):
            if ious[r, c] <= 0.0:
                continue
            gid, pid = g_here[r].id, p_here[c].id
            out[gid].matched += 1
            if last[gid] is not None and last[gid] != pid:
                out[gid].switches += 1
            last[gid] = pid
    return out


def switch_summary(switches: dict[int, InstanceSwitches]) -> dict[str, float]:
    """Total switches, switches per tracklet, and the fraction of matched tracklets with none."""
    matched = [s for s in switches.values() if s.matched]
    total = int(sum(s.switches for s in switches.values()))
    return {
        "id_switches": total,
        "switches_per_tracklet": total / len(switches) if switches else float("nan"),
        "consistent_fraction": (sum(s.switches == 0 for s in matched) / len(matched)) if matched else float("nan"),
        "tracklets": len(switches),
    }
