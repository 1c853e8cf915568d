"""AgnAP, ClsAcc, BgStd and the category permutation of the probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trackdiffusion.evaluation.category_probe import category_permutation, force_categories
from trackdiffusion.evaluation.fidelity import agnostic, agnostic_ap, background_std, class_counts
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig
from trackdiffusion.tracklets import Clip, Instance
from trackdiffusion.tracklets.synthetic import WorldConfig

from eval_builders import clip, dataset, track


@pytest.fixture
def tiny_tracker() -> GroundingTracker:
    torch.manual_seed(0)
    categories = {i + 1: name for i, name in enumerate(WorldConfig().categories)}
    return GroundingTracker(TrackerConfig(categories=categories, widths=(4, 8, 8, 12), head_width=8, roi_width=4,
                                          roi_size=8, embed_dim=6)).eval()


def test_agnostic_ap_ignores_the_category():
    gt = dataset(clip("v", [track(1, [[0, 0, 10, 10]] * 3, category=1)]))
    wrong = dataset(clip("v", [track(5, [[0, 0, 10, 10]] * 3, category=2, score=0.9)]))
    assert agnostic_ap(gt, wrong) == pytest.approx(100.0)
    assert {i.category_id for c in agnostic(wrong).clips for i in c.instances} == {1}
    assert wrong.clips[0].instances[0].category_id == 2  # the input is not changed


def test_background_std_is_exact_outside_the_boxes():
    frames = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    frames[:, :, 8:] = 10  # half the frame 0, half 10 -> std 5 per channel
    frames[:, 2:6, 2:6] = 255  # the object, inside its box (and margin)
    c = Clip("v", 16, 16, 2, {1: "circle"}, [Instance(1, 1, np.array([[2, 2, 6, 6]] * 2, float), np.ones(2, bool))])
    # Outside the box and its 1-pixel margin: rows/cols 1..6 removed from the zero half.
    outside = np.ones((16, 16), bool)
    outside[1:7, 1:7] = False
    values = frames[0][outside].astype(float)
    assert background_std(frames, c) == pytest.approx(values.std(0).mean())


def test_class_counts_scores_visible_boxes_against_the_labels(tiny_tracker):
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    boxes = np.array([[4, 4, 20, 20]] * 3, float)
    inst = Instance(1, 1, boxes, np.ones(3, bool), visibility=np.array([1.0, 0.2, 0.9]))
    c = Clip("v", 32, 32, 3, {1: "circle"}, [inst])
    counts = class_counts(tiny_tracker, frames, c)
    assert counts.total == 2  # the 20 % visible frame is left out
    names = list(tiny_tracker.config.categories.values())
    per_label = [class_counts(tiny_tracker, frames, c, {1: n}).correct for n in names]
    assert sum(per_label) == 2  # every box is called exactly one category
    with pytest.raises(ValueError, match="'blob' is not one of the tracker's"):
        class_counts(tiny_tracker, frames, c, {1: "blob"})


def test_force_categories_permutes_instances_and_caption():
    mapping = category_permutation(["circle", "square", "star"])
    assert mapping == {"circle": "square", "square": "star", "star": "circle"}
    c = Clip("v", 8, 8, 1, {1: "circle", 2: "square", 3: "star"},
             [Instance(1, 1, np.array([[0, 0, 4, 4]], float), np.ones(1, bool)),
              Instance(2, 3, np.array([[2, 2, 6, 6]], float), np.ones(1, bool))],
             caption="a video of a red circle and a blue star on a grey square background")
    forced = force_categories(c, mapping)
    assert [forced.categories[i.category_id] for i in forced.instances] == ["square", "circle"]
    assert forced.caption == "a video of a red square and a blue circle on a grey star background"
    assert c.caption.startswith("a video of a red circle")  # the input is not changed
