"""Verification with the shipped grounding tracker: real clips pass, boxes of another clip do not."""

import numpy as np
import pytest

from trackdiffusion.assets import DEFAULT_TRACKER
from trackdiffusion.evaluation.tracker.model import GroundingTracker
from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig
from trackdiffusion.webapp.verify import check_rows, verify_clip


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(WorldConfig(train_clips=0, val_clips=3, num_frames=8, seed=2026))


@pytest.fixture(scope="module")
def tracker():
    return GroundingTracker.from_pretrained(DEFAULT_TRACKER)


def test_the_visible_instances_of_a_real_clip_are_re_detected_with_their_category(world, tracker):
    rendered = world.render("val", 1)
    checks = verify_clip(tracker, rendered.frames, rendered.clip)
    assert [(c.id, c.category, c.detected_category, c.verified) for c in checks] == [
        (1, "diamond", "diamond", False), (2, "triangle", "triangle", True), (3, "star", "star", True),
        (4, "cross", "cross", True)]
    # the diamond is hidden behind the others for most of the clip: its boxes are not found
    assert rendered.clip.instances[0].visibility.min() < 0.05 and checks[0].mean_iou < 0.5
    assert all(c.mean_iou > 0.7 for c in checks[1:])


def test_boxes_where_the_objects_are_not_fail(world, tracker):
    rendered = world.render("val", 2)
    moved = rendered.clip.copy()
    for inst in moved.instances:  # the same box shifted to the opposite corner of the frame
        inst.boxes = np.where(np.isfinite(inst.boxes), 64 - inst.boxes[:, [2, 3, 0, 1]], np.nan)
    checks = verify_clip(tracker, rendered.frames, moved)
    assert [c.verified for c in checks] == [False] * len(moved.instances)
    assert check_rows(checks)[0][-1] == "no"
