"""HOTA / MOTA / IDF1 through TrackEval on tiny hand cases."""

from __future__ import annotations

import pytest
from eval_builders import clip, dataset, track

from trackdiffusion.evaluation.hota import hota_metrics
from trackdiffusion.evaluation.trackeval_layouts import write_class_agnostic

L = [[10 + 5 * t, 10, 60 + 5 * t, 110] for t in range(6)]  # moving right
R = [[300 - 5 * t, 10, 350 - 5 * t, 110] for t in range(6)]  # moving left


def gt_set():
    return dataset(clip("walk", [track(1, L), track(2, R)]))


def test_perfect_tracking_is_100():
    pred = dataset(clip("walk", [track(5, L, score=0.9), track(9, R, score=0.8)]))
    out = hota_metrics(gt_set(), pred)
    for name in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"):
        assert out[name] == pytest.approx(100.0)
    assert out["IDSW"] == 0 and out["CLR_FP"] == 0 and out["CLR_FN"] == 0


def test_identity_swap_counts_idsw_and_lowers_idf1():
    swapped_a = L[:3] + R[3:]
    swapped_b = R[:3] + L[3:]
    pred = dataset(clip("walk", [track(5, swapped_a, score=1), track(9, swapped_b, score=1)]))
    out = hota_metrics(gt_set(), pred)
    assert out["IDSW"] == 2
    assert out["IDF1"] == pytest.approx(50.0)  # each gt keeps its best id for 3 of 6 frames
    assert out["MOTA"] == pytest.approx(100 * (1 - 2 / 12))
    assert out["DetA"] == pytest.approx(100.0) and out["AssA"] < 100.0


def test_missing_clip_prediction_and_category_filter():
    gt = dataset(clip("walk", [track(1, L), track(2, R, category=2)]), clip("empty", [track(1, L)]))
    pred = dataset(clip("walk", [track(1, L, score=1)]))
    out = hota_metrics(gt, pred, category_ids=[1])
    assert out["sequences"] == 2
    assert out["CLR_FN"] == 6 and out["CLR_TP"] == 6  # the clip without predictions misses all
    assert hota_metrics(gt, pred)["CLR_FN"] == 12


def test_crowd_ground_truth_neither_counts_nor_penalises():
    gt = dataset(clip("walk", [track(1, L), track(2, R, iscrowd=True)]))
    pred = dataset(clip("walk", [track(1, L, score=1), track(2, R, score=1)]))
    out = hota_metrics(gt, pred)
    assert out["CLR_FP"] == 0 and out["MOTA"] == pytest.approx(100.0)


def test_layout_is_motchallenge(tmp_path):
    gt = dataset(clip("a/b c", [track(7, [L[0], None])], num_frames=2))
    names = write_class_agnostic(gt, dataset(), tmp_path)
    assert names == ["seq00000"]
    assert (tmp_path / "gt/seq00000/gt/gt.txt").read_text() == "1,1,10,10,50,100,1,1,-1\n"
    assert "seqLength=2" in (tmp_path / "gt/seq00000/seqinfo.ini").read_text()
    assert (tmp_path / "trackers/pred/data/seq00000.txt").read_text() == ""


def test_no_clips_is_a_clear_error():
    with pytest.raises(ValueError, match="no clips"):
        hota_metrics(dataset(), dataset())
