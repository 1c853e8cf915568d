"""Box helpers and the pairing of predicted clips with ground-truth clips."""

from __future__ import annotations

import numpy as np
import pytest
from eval_builders import clip, dataset, track

from trackdiffusion.evaluation.boxes import pair_clips, pairwise_iou


def test_pairwise_iou():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], dtype=float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], dtype=float)
    np.testing.assert_allclose(pairwise_iou(a, b), [[50 / 150, 0.0], [0.0, 0.0]])


def test_pairing_by_name_then_video_id():
    gt = dataset(clip("a", [track(1, [[0, 0, 5, 5]])], video_id=4), clip("b", [track(1, [[0, 0, 5, 5]])]))
    renamed = clip("other", [], num_frames=1, video_id=4)
    pairs = pair_clips(gt, dataset(renamed))
    assert pairs[0] == (gt[0], renamed) and pairs[1] == (gt[1], None)


def test_pairing_problems_are_listed_together():
    gt = dataset(clip("a", [track(1, [[0, 0, 5, 5]] * 2)]))
    pred = dataset(clip("a", [], num_frames=3), clip("zzz", [], num_frames=2))
    with pytest.raises(ValueError, match="has 3 frames.*'zzz'.*matches no ground-truth clip"):
        pair_clips(gt, pred)
    with pytest.raises(ValueError, match="more than one predicted clip"):
        pair_clips(gt, dataset(clip("a", [], num_frames=2), clip("a", [], num_frames=2)))
