"""``trackdiffusion evaluate --generated G --reference R``: one fidelity table for generated clips.

The paper scores generated clips with pretrained trackers (Table 1); here the grounding tracker
(:mod:`.tracker`) does, on the generated clips and on the real clips of the same tracklets:

* rows ``Oracle (real clips)`` (the reference split's clips that ``G`` was generated from) and
  ``Generated``; clips are paired by name, a reference clip longer than its generated clip is cut
  to the generated clip's first frames (``generate --frames`` takes those). Each row is scored in
  its own resolution against its own labels (the generated labels are the input tracklets at the
  output resolution), so the two may differ in size;
* ``FVD`` (I3D, with ``i3d_weights``; Generated against Oracle clips) or, without weights,
  ``FD-tracker``: the Frechet distance between Gaussians fitted to per-clip grounding-tracker
  features (mean-pooled stride-8 maps) - weight-free but not comparable with any FVD;
* ``TrackAP``, ``TrackAP50``, ``TrackAP75`` (x100) of the tracker's tracks against the tracklets;
* ``Success``, ``NormPrecision`` (x100): OPE of each tracklet followed from its first box (SOT);
* ``Drift`` / ``DriftF2F``: appearance drift of the tracklets' boxes (:mod:`.identity`, colour
  units), read against the Oracle row; ``IDSW``: ID switches of the tracker against the tracklets.

Output (with ``out``): ``generated.json`` in the :mod:`.report` schema (``metric``
``"generated"``; ``columns`` ``[FD-tracker or FVD, *METRIC_COLUMNS]``; ``rows`` ``Oracle (real
clips)`` then ``Generated``, the Oracle's distance ``null``; ``settings`` name both folders, the
tracker, the clip count, frame counts and sizes, and how the distance was computed),
``generated.md``, ``pr_curves.png`` (both rows) and ``iou_over_time.png`` (per clip, each
tracklet's IoU with its best track: the one of highest spatio-temporal IoU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..assets import DEFAULT_TRACKER, require
from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset
from ..tracklets.formats import read_tracklets
from .boxes import box_area, intersection_area
from .frechet import frechet_distance_from_features
from .identity import appearance_drift, identity_switches, mean_drift, switch_summary
from .plots import plot_iou_over_time, plot_pr_curves
from .report import Report
from .sot import sot_evaluate
from .trackap import TrackAPArrays, spatio_temporal_iou, summarize, track_ap_arrays
from .tracker.inference import ClipTracking, track_dataset
from .tracker.model import GroundingTracker

ORACLE, GENERATED = "Oracle (real clips)", "Generated"
METRIC_COLUMNS = ["TrackAP", "TrackAP50", "TrackAP75", "Success", "NormPrecision", "Drift", "DriftF2F", "IDSW"]


@dataclass
class RowResult:
    """Everything measured on one row's clips.

    Attributes:
        values: the row of the table (``METRIC_COLUMNS``; the distance is added for Generated).
        arrays: the TrackAP curves (for the precision-recall plot).
        iou_over_time: ``{clip: {tracklet id: [T] IoU with its best track}}``.
        features: ``[clips, F]`` grounding-tracker features, one row per clip.
        frames: ``{clip: [T, H, W, 3]}``, kept only when FVD needs them.
    """

    values: dict[str, float]
    arrays: TrackAPArrays
    iou_over_time: dict[str, dict[int, np.ndarray]]
    features: np.ndarray
    frames: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class GeneratedEvaluation:
    """The table, what each row measured, and the plots written (none without ``out``)."""

    report: Report
    rows: dict[str, RowResult]
    plots: list[Path]


def paired_reference(generated: TrackletDataset, reference: TrackletDataset) -> TrackletDataset:
    """The reference clips of ``generated``'s clips, by name, cut to their frame counts."""
    clips, problems = [], []
    for gen in generated.clips:
        try:
            ref = reference.clip(gen.name)
        except KeyError:
            problems.append(f"{gen.name!r} is not in the reference")
            continue
        if ref.num_frames < gen.num_frames:
            problems.append(f"{gen.name!r} has {gen.num_frames} frames, its reference only {ref.num_frames}")
            continue
        clips.append(ref if ref.num_frames == gen.num_frames else ref.window(0, gen.num_frames))
    if problems:
        raise ValueError(f"{generated.source} against {reference.source}: " + "; ".join(problems))
    return TrackletDataset(clips, reference.categories, source=reference.source, image_root=reference.image_root)


def best_track_iou(truth: Clip, tracked: Clip) -> dict[int, np.ndarray]:
    """Per tracklet of ``truth``, ``[T]`` IoU with its best track (``nan`` where the tracklet is absent)."""
    out = {}
    gts = [g for g in truth.instances if not g.iscrowd]
    if not gts:
        return out
    tracks = tracked.instances
    if tracks:
        g_boxes, g_present = np.stack([g.boxes for g in gts]), np.stack([g.present for g in gts])
        d_boxes, d_present = np.stack([d.boxes for d in tracks]), np.stack([d.present for d in tracks])
        best = spatio_temporal_iou(d_boxes, d_present, g_boxes, g_present).argmax(0)  # [G]
    for n, g in enumerate(gts):
        iou = np.where(g.present, 0.0, np.nan)
        if tracks:
            d = tracks[best[n]]
            both = g.present & d.present
            inter = intersection_area(g.boxes[both], d.boxes[both])
            iou[both] = inter / (box_area(g.boxes[both]) + box_area(d.boxes[both]) - inter)
        out[g.id] = iou
    return out


def evaluate_row(model: GroundingTracker, truth: TrackletDataset, keep_frames: bool = False) -> RowResult:
    """Track ``truth``'s clips and measure everything of one table row."""
    drifts, switches, iou_series, frames_by_clip = {}, {}, {}, {}

    def measure(clip: Clip, frames: np.ndarray, result: ClipTracking) -> None:
        drifts.update({(clip.name, k): v for k, v in appearance_drift(frames, clip).items()})
        switches.update({(clip.name, k): v for k, v in identity_switches(clip, result.clip).items()})
        iou_series[clip.name] = best_track_iou(clip, result.clip)
        if keep_frames:
            frames_by_clip[clip.name] = frames

    results = track_dataset(model, truth, on_clip=measure)
    arrays = track_ap_arrays(truth, results.tracks)
    ap = summarize(arrays)
    sot = sot_evaluate(truth, results.followed)["overall"]
    drift = mean_drift(drifts)
    values = {"TrackAP": ap["AP"], "TrackAP50": ap["AP50"], "TrackAP75": ap["AP75"], "Success": sot["success"],
              "NormPrecision": sot["norm_precision"], "Drift": drift["to_mean"], "DriftF2F": drift["frame_to_frame"],
              "IDSW": switch_summary(switches)["id_switches"]}
    return RowResult(values, arrays, iou_series, results.features, frames_by_clip)


def evaluate_generated(generated: str | Path, reference: str | Path, tracker: str | Path | None = None,
                       i3d_weights: str | Path | None = None, out: str | Path | None = None,
                       device: str = "cpu") -> GeneratedEvaluation:
    """The table of the module docstring; with ``out``: ``generated.json`` / ``.md`` and the plots.

    ``tracker`` defaults to the shipped ``assets/grounding-tracker``.
    """
    tracker = tracker if tracker is not None else require(DEFAULT_TRACKER, "the grounding tracker")
    gen = read_tracklets(generated)
    ref = paired_reference(gen, read_tracklets(reference))
    if len(gen) < 2:
        raise ValueError(f"{generated}: a Frechet distance needs at least 2 clips, found {len(gen)}")
    model = GroundingTracker.from_pretrained(tracker, device)
    rows = {ORACLE: evaluate_row(model, ref, keep_frames=i3d_weights is not None),
            GENERATED: evaluate_row(model, gen, keep_frames=i3d_weights is not None)}
    distance_column, distance, distance_setting = _distance(rows, i3d_weights, device)
    rows[GENERATED].values[distance_column] = distance
    report = Report("generated", "Generated clips against real clips of the same tracklets (grounding tracker)",
                    [distance_column, *METRIC_COLUMNS],
                    units="TrackAP, Success, NormPrecision x100; Drift in colour units [0, 1]; IDSW a count",
                    settings={"generated": str(generated), "reference": str(reference), "tracker": str(tracker),
                              "clips": len(gen), "frames": sorted({c.num_frames for c in gen.clips}),
                              "generated_size": _sizes(gen), "reference_size": _sizes(ref),
                              distance_column: distance_setting,
                              "sot": "each tracklet followed from its first box (OPE, mean over tracklets)",
                              "idsw": "tracker ids against the tracklets, per-frame Hungarian at IoU >= 0.5"})
    for name, row in rows.items():
        report.add_row(name, row.values)
    plots = []
    if out is not None:
        report.write(out)
        plots = [plot_pr_curves({name: row.arrays for name, row in rows.items()}, Path(out) / "pr_curves.png"),
                 plot_iou_over_time({name: row.iou_over_time for name, row in rows.items()},
                                    Path(out) / "iou_over_time.png")]
    return GeneratedEvaluation(report, rows, plots)


def _distance(rows: dict[str, RowResult], i3d_weights: str | Path | None, device: str) -> tuple[str, float, str]:
    """(column name, value, how it was computed) of the Generated row's distance to the Oracle clips."""
    if i3d_weights is None:
        # A squared distance: round-off of the matrix square root can leave -1e-12 for equal sets.
        value = max(0.0, frechet_distance_from_features(rows[ORACLE].features, rows[GENERATED].features))
        return "FD-tracker", value, ("Frechet distance of per-clip grounding-tracker features (mean-pooled "
                                     "stride-8 maps); weight-free, NOT FVD")
    from .fvd import fvd
    from .i3d import load_i3d

    real, fake = rows[ORACLE].frames, rows[GENERATED].frames
    length = min(16, *(len(v) for v in real.values()))
    result = fvd(list(real.values()), list(fake.values()), load_i3d(i3d_weights, device), clip_length=length,
                 real_names=list(real), generated_names=list(fake))
    return "FVD", result.fvd, str(result)


def _sizes(dataset: TrackletDataset) -> str:
    return ", ".join(sorted({f"{c.width}x{c.height}" for c in dataset.clips}))
