"""SOT metrics: hand cases and a frame-by-frame re-derivation of the toolkits' formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from eval_builders import clip, dataset, track

from trackdiffusion.evaluation.sot import SOTSequence, got10k_ious, ope_curves, sot_evaluate, sot_metrics, sot_sequences


def seq(gt, pred, visible=None, width=640, height=480, name="s"):
    gt, pred = np.asarray(gt, dtype=float), np.asarray(pred, dtype=float)
    visible = np.ones(len(gt), bool) if visible is None else np.asarray(visible, bool)
    return SOTSequence(name, gt, pred, visible, width, height)


BOX = [10, 10, 50, 30]


def test_perfect_tracker():
    out = sot_metrics([seq([BOX] * 4, [BOX] * 4)])
    assert out["success"] == pytest.approx(100 * 20 / 21)  # IoU 1 is not > 1.0
    assert out["precision"] == out["norm_precision"] == out["AO"] == out["SR0.5"] == out["SR0.75"] == 100.0


def test_half_overlap_and_strict_thresholds():
    pred = [10, 10, 30, 30]  # left half of BOX: IoU exactly 0.5
    out = sot_metrics([seq([BOX] * 3, [pred] * 3)])
    assert out["success"] == pytest.approx(100 * 10 / 21)  # thresholds 0 .. 0.45
    assert out["AO"] == pytest.approx(50.0)
    assert out["SR0.5"] == 0.0


def test_missing_predictions_fail():
    out = sot_metrics([seq([BOX] * 3, [[np.nan] * 4] * 3)])
    assert out["success"] == out["precision"] == out["AO"] == 0.0


def test_centre_error_thresholds_are_inclusive():
    at20 = [BOX[0] + 12, BOX[1] + 16, BOX[2] + 12, BOX[3] + 16]  # centre moved by exactly 20 px
    at21 = [BOX[0] + 21, BOX[1], BOX[2] + 21, BOX[3]]
    assert sot_metrics([seq([BOX], [at20])])["precision"] == 100.0
    assert sot_metrics([seq([BOX], [at21])])["precision"] == 0.0
    # normalised by the 40 x 20 gt box: 0.15 * 40 = 6 px passes, 0.25 * 40 = 10 px fails
    assert sot_metrics([seq([BOX], [[16, 10, 56, 30]])])["norm_precision"] == 100.0
    assert sot_metrics([seq([BOX], [[20, 10, 60, 30]])])["norm_precision"] == 0.0


def test_invisible_frames_fail_in_ope_and_are_skipped_by_got10k():
    s = seq([BOX] * 4, [BOX] * 4, visible=[True, True, False, True])
    out = sot_metrics([s])
    assert out["precision"] == pytest.approx(75.0)  # denominator: every frame
    assert out["AO"] == 100.0 and out["got10k_frames"] == 2  # frame 0 and frame 2 excluded


def test_got10k_excludes_the_first_frame():
    s = seq([BOX] * 3, [[0, 0, 1, 1], BOX, BOX])
    assert got10k_ious(s).tolist() == [1.0, 1.0]
    assert sot_metrics([s])["precision"] == pytest.approx(100 * 2 / 3)


def test_aggregation_per_sequence_for_ope_and_pooled_for_got10k():
    good = seq([BOX] * 5, [BOX] * 5)  # 4 got10k frames at IoU 1
    bad = seq([BOX] * 2, [BOX, [200, 200, 220, 220]])  # 1 got10k frame at IoU 0
    out = sot_metrics([good, bad])
    assert out["AO"] == pytest.approx(100 * 4 / 5)  # pooled frames, not (1 + 0) / 2
    assert out["precision"] == pytest.approx(100 * (1.0 + 0.5) / 2)  # mean of sequences


def test_got10k_bounds_boxes_like_the_toolkit():
    # x = -10, w = 20 is bounded to x = 0, w = 20: [0, 20] (the toolkit keeps the width)
    s = seq([[0, 0, 20, 10]] * 2, [[-10, 0, 10, 10]] * 2)
    assert got10k_ious(s)[0] == pytest.approx(1.0)


def test_ope_matches_a_frame_by_frame_derivation():
    rng = np.random.default_rng(3)
    for _ in range(20):
        T = int(rng.integers(1, 12))
        xy = rng.uniform(0, 300, (T, 2))
        gt = np.concatenate([xy, xy + rng.uniform(2, 80, (T, 2))], 1)
        pred = gt + rng.normal(0, 15, (T, 4))
        pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
        vis = rng.random(T) < 0.8
        c = ope_curves(seq(gt, pred, vis))
        succ, prec, norm = np.zeros(21), np.zeros(51), np.zeros(51)
        for t in np.flatnonzero(vis):
            g, p = gt[t], pred[t]
            iw = max(0.0, min(g[2], p[2]) - max(g[0], p[0]))
            ih = max(0.0, min(g[3], p[3]) - max(g[1], p[1]))
            union = (g[2] - g[0]) * (g[3] - g[1]) + (p[2] - p[0]) * (p[3] - p[1]) - iw * ih
            iou = iw * ih / max(union, 1e-6)
            cg, cp = (g[:2] + g[2:]) / 2, (p[:2] + p[2:]) / 2
            wh = g[2:] - g[:2] + 1e-16
            d, dn = math.dist(cg, cp), math.dist(cg / wh, cp / wh)
            succ += iou > np.arange(0, 1.05, 0.05)
            prec += d <= np.arange(0, 51)
            norm += dn <= np.arange(0, 51) / 100
        np.testing.assert_allclose(c.success, succ / T)
        np.testing.assert_allclose(c.precision, prec / T)
        np.testing.assert_allclose(c.norm_precision, norm / T)


def test_sequences_from_datasets_start_at_first_appearance_and_match_ids():
    gt = dataset(clip("v", [
        track(1, [None, BOX, BOX, BOX]),
        track(2, [BOX, BOX, None, None], visibility=[1, 0, 0, 0]),
        track(3, [BOX] * 4, iscrowd=True),
    ]))
    pred = dataset(clip("v", [track(1, [BOX, BOX, BOX, None], score=1.0)]))
    seqs = sot_sequences(gt, pred)
    assert [s.name for s in seqs] == ["v/1", "v/2"]
    assert len(seqs[0]) == 3 and len(seqs[1]) == 4
    assert seqs[1].visible.tolist() == [True, False, False, False]
    assert np.isnan(seqs[1].pred_boxes).all()  # no predicted instance 2
    out = sot_evaluate(gt, pred)
    assert out["per_sequence"]["v/1"]["precision"] == pytest.approx(100 * 2 / 3)
    assert out["overall"]["sequences"] == 2


def test_nothing_to_average_is_nan():
    assert math.isnan(sot_metrics([])["success"])


def test_mmtracking_trackingnet_case_scores_boxes_as_given(tmp_path):
    """mmtracking's SOTMetric test (tests/test_evaluation/test_metrics/test_sot_metrics.py, 1.x):
    two 25-frame videos of a 512x256 frame, expected success 67.5238, precision 50.0, norm. precision
    70.0. Video 2's tracker boxes reach past x = 512: clipping them on read gave 70.00 / 74.00."""
    from pathlib import Path

    from trackdiffusion.tracklets.formats import read_tracklets

    fixtures = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "trackingnet"
    for side in ("gt", "pred"):
        for video in ("video-1", "video-2"):
            rows = [[float(v) for v in line.split(",")] for line in
                    (fixtures / video / ("gt_for_eval.txt" if side == "gt" else "track_results.txt")).read_text().split()]
            if side == "pred":  # the tracker wrote x1,y1,x2,y2; GOT-10k files hold x,y,w,h
                rows = [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in rows]
            (tmp_path / side / video).mkdir(parents=True)
            (tmp_path / side / video / "groundtruth.txt").write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    gt = read_tracklets(tmp_path / "gt", "got10k", width=512, height=256)
    pred = read_tracklets(tmp_path / "pred", "got10k", width=512, height=256)
    assert pred.clip("video-2").instances[0].boxes[:, 2].max() == 578.0  # kept as the tracker gave it
    out = sot_evaluate(gt, pred)["overall"]
    assert round(out["success"], 4) == 67.5238
    assert out["precision"] == pytest.approx(50.0) and out["norm_precision"] == pytest.approx(70.0)
