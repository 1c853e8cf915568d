"""TrackAP: hand-computed cases, and agreement with a ytvoseval oracle on random cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_builders import clip, dataset, track
from ytvis_oracle import YTVISOracle, to_ytvis

from trackdiffusion.evaluation.trackap import (
    SUMMARY,
    spatio_temporal_iou,
    track_ap,
    track_ap_arrays,
)
from trackdiffusion.tracklets.clip import Clip, Instance
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.formats import read_tracklets, read_ytvis_results, write_tracklets, write_ytvis_results

A = [0, 0, 10, 10]
B = [100, 100, 120, 130]


def ap(gt_tracks, pred_tracks, **kw):
    return track_ap(dataset(clip("v", gt_tracks, **kw)), dataset(clip("v", pred_tracks, **kw)))


# ------------------------------------------------------------------ hand-computed cases
def test_perfect_match_is_100():
    gts = [track(1, [A, A, B]), track(2, [B, B, None], category=2)]
    preds = [track(7, [A, A, B], score=0.9), track(8, [B, B, None], category=2, score=0.8)]
    out = ap(gts, preds)
    for name in ("AP", "AP50", "AP75", "AP_s", "AR@1", "AR@10", "AR@100", "AR_s"):
        assert out[name] == pytest.approx(100.0)
    # no medium or large ground truth: undefined, the reference's -1
    assert out["AP_m"] == out["AP_l"] == out["AR_m"] == out["AR_l"] == -1.0


def test_disjoint_is_0():
    out = ap([track(1, [A, A])], [track(1, [B, B], score=0.9)])
    assert out["AP"] == 0.0 and out["AR@100"] == 0.0


def test_partial_overlap_counts_thresholds_below_the_iou():
    # frame 0 identical (I=U=100); frame 1 pred is 10x3 inside the 10x10 gt: I=30, U=100 -> 130/200
    gts = [track(1, [A, A])]
    preds = [track(1, [A, [0, 0, 10, 3]], score=0.5)]
    iou = spatio_temporal_iou(preds[0].boxes[None], preds[0].present[None], gts[0].boxes[None], gts[0].present[None])
    assert iou[0, 0] == pytest.approx(0.65)
    out = ap(gts, preds)
    assert out["AP"] == pytest.approx(40.0)  # matched at .50 .55 .60 .65, not above
    assert out["AP50"] == pytest.approx(100.0) and out["AP75"] == 0.0


def test_absent_frames_add_only_to_the_union():
    gts = [track(1, [A, A, None])]
    preds = [track(1, [A, A, A], score=1.0)]  # I = 200, U = 300
    iou = spatio_temporal_iou(preds[0].boxes[None], preds[0].present[None], gts[0].boxes[None], gts[0].present[None])
    assert iou[0, 0] == pytest.approx(2 / 3)
    assert ap(gts, preds)["AP"] == pytest.approx(40.0)  # .50 ... .65 pass, .70 fails


def test_score_order_decides_precision():
    gts = [track(1, [A])]
    fp_first = ap(gts, [track(1, [B], score=0.9), track(2, [A], score=0.1)])
    tp_first = ap(gts, [track(1, [B], score=0.1), track(2, [A], score=0.9)])
    assert fp_first["AP"] == pytest.approx(50.0)
    assert tp_first["AP"] == pytest.approx(100.0)
    assert fp_first["AR@1"] == 0.0 and tp_first["AR@1"] == pytest.approx(100.0)


def test_empty_predictions_give_zero_not_undefined():
    out = track_ap(dataset(clip("v", [track(1, [A])])), dataset())
    assert out["AP"] == 0.0 and out["AR@100"] == 0.0


def test_duplicate_predictions_are_false_positives():
    gts = [track(1, [A]), track(2, [B])]
    preds = [track(1, [A], score=0.9), track(2, [A], score=0.8), track(3, [B], score=0.7)]
    # precision after monotone: 1 up to recall .5 (51 points), 2/3 after (50 points)
    assert ap(gts, preds)["AP"] == pytest.approx(100 * (51 + 50 * 2 / 3) / 101)


def test_crowd_ground_truth_absorbs_predictions_and_is_not_counted():
    gts = [track(1, [A]), track(2, [B], iscrowd=True)]
    preds = [track(1, [B], score=0.9), track(2, [B], score=0.8), track(3, [A], score=0.7)]
    assert ap(gts, preds)["AP"] == pytest.approx(100.0)
    gts[1].iscrowd = False  # now B is a regular object, the second B prediction a duplicate
    assert ap(gts, preds)["AP"] == pytest.approx(100 * (51 + 50 * 2 / 3) / 101)


def test_area_ranges_are_inclusive_at_both_ends():
    edge = [0, 0, 128, 128]  # area exactly 128^2: both small and medium
    out = ap([track(1, [edge])], [track(1, [edge], score=1.0)])
    assert out["AP_s"] == pytest.approx(100.0) and out["AP_m"] == pytest.approx(100.0)
    assert out["AP_l"] == -1.0


def test_a_prediction_present_nowhere_still_ranks_as_a_false_positive():
    gt = dataset(clip("v", [track(1, [A, A])]))
    pred = dataset(clip("v", [track(1, [None, None], score=0.9), track(2, [A, A], score=0.5)]))
    out = track_ap(gt, pred)
    assert out["AP"] == pytest.approx(50.0)
    assert out["AP"] / 100 == pytest.approx(YTVISOracle(*to_ytvis(gt, pred)).run()[0][0])


def test_predictions_of_unknown_clips_are_refused():
    with pytest.raises(ValueError, match="matches no ground-truth clip"):
        track_ap(dataset(clip("v", [track(1, [A])])), dataset(clip("w", [track(1, [A], score=1)])))


def test_predictions_without_scores_are_refused():
    with pytest.raises(ValueError, match="tracks without a score"):
        ap([track(1, [A])], [track(1, [A])])


# ------------------------------------------------------------------ reference oracle
def _valid(boxes, width, height):
    """Integer boxes of at least 1 x 1 pixel inside the frame (what the data model accepts)."""
    boxes = np.array(boxes, dtype=np.float64)
    boxes[..., 0] = np.clip(boxes[..., 0], 0, width - 1)
    boxes[..., 1] = np.clip(boxes[..., 1], 0, height - 1)
    boxes[..., 2] = np.clip(boxes[..., 2], boxes[..., 0] + 1, width)
    boxes[..., 3] = np.clip(boxes[..., 3], boxes[..., 1] + 1, height)
    return boxes


def _random_track(rng, inst_id, num_frames, width, height, category, score=None, base=None):
    present = rng.random(num_frames) < 0.8
    present[rng.integers(num_frames)] = True
    if base is None:
        w, h = (int(v) for v in np.exp(rng.uniform(np.log(4), np.log(400), 2)))
        w, h = min(w, width - 1), min(h, height - 1)
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        box = np.array([x, y, x + w, y + h], dtype=np.float64)
        boxes = []
        for _ in range(num_frames):
            box = _valid(box + rng.integers(-6, 7, 4), width, height)
            boxes.append(box.copy())
        boxes = np.array(boxes)
    else:  # a jittered copy of another track
        jitter = rng.integers(-3, 4, (num_frames, 4)) * (rng.random() < 0.7)
        boxes = _valid(np.nan_to_num(base.boxes, nan=10.0) + jitter, width, height)
        present = np.where(rng.random(num_frames) < 0.85, base.present, present)
        present[rng.integers(num_frames)] = True
    boxes[~present] = np.nan
    return Instance(id=inst_id, category_id=category, boxes=boxes, present=present,
                    score=None if score is None else np.full(num_frames, score),
                    iscrowd=bool(score is None and rng.random() < 0.1))


def random_case(seed: int, mixed_ids: bool = False) -> tuple[TrackletDataset, TrackletDataset]:
    rng = np.random.default_rng(seed)
    cats = {1: "a", 2: "b", 3: "c"}
    width, height = 640, 480
    gclips, pclips = [], []
    if mixed_ids:  # some clips with ids (one repeated), some without: the writer renumbers
        video_ids = [7, None, 3, 7]
    else:
        video_ids = rng.permutation(np.arange(1, 5)) if rng.random() < 0.5 else [None] * 4
    for v in range(int(rng.integers(1, 4)) + int(mixed_ids)):
        T = int(rng.integers(1, 6))
        # ids from 1 as in real data: ytvoseval takes a match with annotation id 0 for no match
        gts = [_random_track(rng, i, T, width, height, int(rng.choice([1, 2], p=[0.6, 0.4])))
               for i in range(1, int(rng.integers(1, 6)))]
        preds = []
        many = rng.random() < 0.08  # a group past maxDets=100
        for n, g in enumerate(gts):
            for _ in range(int(rng.integers(0, 4)) + (105 if many and n == 0 else 0)):
                cat = g.category_id if rng.random() < 0.9 else 3 - g.category_id
                preds.append(_random_track(rng, len(preds) + 1, T, width, height, cat,
                                           score=round(float(rng.random()), 1), base=g))
        for _ in range(int(rng.integers(0, 5))):
            preds.append(_random_track(rng, len(preds) + 1, T, width, height, int(rng.integers(1, 4)),
                                       score=round(float(rng.random()), 1)))
        order = rng.permutation(len(preds))
        preds = [preds[i] for i in order]
        name, vid = f"video{v}", None if video_ids[v] is None else int(video_ids[v])
        gclips.append(Clip(name, width, height, T, cats, gts, video_id=vid))
        pclips.append(Clip(name, width, height, T, cats, preds, video_id=vid))
    return TrackletDataset(gclips, cats), TrackletDataset(pclips, cats)


def _compare(seed: int) -> float:
    gt, pred = random_case(seed)
    assert not gt.problems() and not pred.problems()
    stats, precision, recall = YTVISOracle(*to_ytvis(gt, pred)).run()
    arrays = track_ap_arrays(gt, pred)
    np.testing.assert_array_equal(arrays.precision, precision)
    np.testing.assert_array_equal(arrays.recall, recall)
    ours = track_ap(gt, pred)
    diffs = [abs((ours[name] / 100 if ours[name] != -1 else -1) - ref) for name, ref in zip(SUMMARY, stats)]
    return max(diffs)


@pytest.mark.parametrize("start", range(0, 60, 20))
def test_agrees_with_ytvoseval_oracle_on_random_cases(start):
    worst = max(_compare(seed) for seed in range(start, start + 20))
    assert worst < 1e-12


def test_agrees_with_the_oracle_through_the_project_ytvis_files(tmp_path):
    """What a reference run sees: gt and results written by the project's YouTube-VIS writers;
    ours reads them back with the project's readers."""
    for seed in range(8):
        gt, pred = random_case(seed, mixed_ids=seed % 2 == 0)
        write_tracklets(gt, tmp_path / "gt.json", "ytvis")
        write_ytvis_results(pred, tmp_path / "results.json")
        reference = YTVISOracle(json.loads((tmp_path / "gt.json").read_text()),
                                json.loads((tmp_path / "results.json").read_text())).run()[0]
        truth = read_tracklets(tmp_path / "gt.json")
        ours = track_ap(truth, read_ytvis_results(tmp_path / "results.json", truth))
        for name, ref in zip(SUMMARY, reference):
            assert (ours[name] / 100 if ours[name] != -1 else -1) == pytest.approx(ref, abs=1e-12), (seed, name)


def test_random_cases_exercise_the_interesting_paths():
    crowds = ties = many = 0
    for seed in range(60):
        gt, pred = random_case(seed)
        crowds += any(i.iscrowd for c in gt for i in c.instances)
        scores = [i.score[0] for c in pred for i in c.instances]
        ties += len(scores) != len(set(scores))
        many += any(len(c.instances) > 100 for c in pred)
    assert crowds >= 5 and ties >= 30 and many >= 1
