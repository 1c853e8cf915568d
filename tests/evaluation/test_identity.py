"""Identity consistency: ROI colours, appearance drift and ID switches."""

from __future__ import annotations

import numpy as np
import pytest
from eval_builders import clip, track

from trackdiffusion.evaluation.identity import (
    appearance_drift,
    identity_switches,
    mean_drift,
    roi_colors,
    switch_summary,
)


def test_roi_colors_are_block_means_on_pixel_aligned_cells():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    got = roi_colors(frame, np.array([4.0, 6.0, 12.0, 14.0]), grid=4).reshape(4, 4, 3)
    blocks = frame[6:14, 4:12].astype(float).reshape(4, 2, 4, 2, 3).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(got, blocks)


def _moving_patch_video(patches, width=64, height=48):
    """One 16 x 16 patch per frame pasted at x = 4 + 6 t; returns frames and the boxes."""
    frames = np.full((len(patches), height, width, 3), 30, np.uint8)
    boxes = []
    for t, patch in enumerate(patches):
        x = 4 + 6 * t
        frames[t, 10:26, x:x + 16] = patch
        boxes.append([x, 10, x + 16, 26])
    return frames, boxes


def test_drift_is_zero_for_a_consistent_instance_and_grows_when_it_changes():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 128, (16, 16, 3), dtype=np.uint8)  # a dark object ...
    b = rng.integers(128, 256, (16, 16, 3), dtype=np.uint8)  # ... replaced by a bright one
    frames, boxes = _moving_patch_video([a, a, a, a])
    same = appearance_drift(frames, clip("c", [track(1, boxes)], width=64, height=48))[1]
    assert same.to_mean == pytest.approx(0.0, abs=1e-12) and same.frame_to_frame == pytest.approx(0.0, abs=1e-12)
    frames, boxes = _moving_patch_video([a, a, b, b])
    swapped = appearance_drift(frames, clip("c", [track(1, boxes)], width=64, height=48))[1]
    assert swapped.to_mean > 0.2 and swapped.frame_to_frame > 0.1
    # one change among three steps: frame_to_frame = |v_b - v_a| / 3, to_mean = |v_b - v_a| / 2
    assert swapped.frame_to_frame == pytest.approx(swapped.to_mean * 2 / 3)
    assert swapped.frames == 4


def test_single_frame_instances_have_no_drift_and_are_left_out_of_the_mean():
    frames, boxes = _moving_patch_video([np.zeros((16, 16, 3), np.uint8)] * 3)
    c = clip("c", [track(1, boxes), track(2, [boxes[0], None, None])], width=64, height=48)
    drifts = appearance_drift(frames, c)
    assert np.isnan(drifts[2].to_mean)
    assert mean_drift(drifts)["instances"] == 1


def test_frames_must_match_the_clip():
    c = clip("c", [track(1, [[0, 0, 4, 4]])], width=64, height=48)
    with pytest.raises(ValueError, match="do not match"):
        appearance_drift(np.zeros((1, 48, 63, 3), np.uint8), c)


L = [[10 + 5 * t, 10, 60 + 5 * t, 110] for t in range(6)]
R = [[300 - 5 * t, 10, 350 - 5 * t, 110] for t in range(6)]


def test_consistent_tracker_has_no_switches():
    gt = clip("w", [track(1, L), track(2, R)])
    out = identity_switches(gt, clip("w", [track(7, L, score=1), track(8, R, score=1)]))
    assert out[1].switches == out[2].switches == 0 and out[1].matched == 6
    assert switch_summary(out)["consistent_fraction"] == 1.0


def test_swapped_ids_are_counted_once_per_tracklet():
    gt = clip("w", [track(1, L), track(2, R)])
    pred = clip("w", [track(7, L[:3] + R[3:], score=1), track(8, R[:3] + L[3:], score=1)])
    out = identity_switches(gt, pred)
    assert out[1].switches == out[2].switches == 1
    summary = switch_summary(out)
    assert summary["id_switches"] == 2 and summary["consistent_fraction"] == 0.0


def test_gaps_and_poor_overlaps_are_not_switches():
    gt = clip("w", [track(1, L)])
    shifted = [[b[0] + 40, b[1], b[2] + 40, b[3]] for b in L]  # IoU 1/9 with the tracklet
    pred = clip("w", [track(7, L[:2] + [None] * 2 + L[4:], score=1),
                      track(8, [None] * 2 + shifted[2:4] + [None] * 2, score=1)])
    out = identity_switches(gt, pred)
    assert out[1].switches == 0 and out[1].matched == 4 and out[1].present == 6
