"""Drawing tracklets and contact sheets."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.tracklets import Clip, Instance
from trackdiffusion.video import contact_sheet, draw_tracklets, instance_colour


def _clip() -> Clip:
    boxes = np.array([[4, 6, 20, 18], [np.nan] * 4, [10, 10, 30, 30]], dtype=np.float64)
    a = Instance(id=3, category_id=1, boxes=boxes, present=np.array([True, False, True]),
                 visibility=np.array([1.0, 1.0, 0.2]))
    b = Instance(id=7, category_id=2, boxes=np.tile([[20.0, 20.0, 31.0, 31.0]], (3, 1)), present=np.ones(3, bool))
    return Clip(name="c", width=32, height=32, num_frames=3, categories={1: "circle", 2: "star"}, instances=[a, b])


def test_box_border_has_the_instance_colour():
    frames = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    out = draw_tracklets(frames, _clip(), scale=4, labels=False)
    assert out.shape == (3, 128, 128, 3)
    colour = instance_colour(3)
    # Box x 4..20, y 6..18 at scale 4: left edge column 16, right edge column 79, rows 24..71.
    assert tuple(out[0, 48, 16]) == colour and tuple(out[0, 48, 79]) == colour
    assert tuple(out[0, 24, 40]) == colour and tuple(out[0, 71, 40]) == colour
    assert tuple(out[0, 48, 48]) == (0, 0, 0)  # inside stays untouched
    assert tuple(out[0, 48, 15]) == (0, 0, 0)  # nothing drawn outside the box
    # Frame 1: instance 3 is absent, so its colour appears nowhere.
    assert not np.any(np.all(out[1] == colour, axis=-1))
    assert tuple(out[1, 100, 80]) == instance_colour(7)


def test_low_visibility_box_is_dashed_and_colours_are_stable():
    frames = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    out = draw_tracklets(frames, _clip(), scale=4, labels=False)
    edge = np.all(out[2, 40:119, 40] == instance_colour(3), axis=-1)  # left edge of the low-visibility box
    assert 0.3 < edge.mean() < 0.8
    assert instance_colour(3) == instance_colour(3) and instance_colour(3) != instance_colour(4)


def test_labels_are_drawn_and_sizes_checked():
    frames = np.full((3, 32, 32, 3), 50, dtype=np.uint8)
    plain = draw_tracklets(frames, _clip(), scale=4, labels=False)
    labelled = draw_tracklets(frames, _clip(), scale=4)
    assert np.any(plain != labelled)
    with pytest.raises(ValueError, match="32x32"):
        draw_tracklets(frames[:, :16], _clip())


def test_contact_sheet_shape_and_labels():
    rows = [np.zeros((5, 10, 12, 3), np.uint8), np.full((3, 10, 12, 3), 255, np.uint8)]
    sheet = contact_sheet(rows, gap=2)
    assert sheet.shape == (2 + 2 * 12, 2 + 5 * 14, 3)
    assert np.all(sheet[14:24, 2:14] == 255) and np.all(sheet[2:12, 2:14] == 0)
    limited = contact_sheet(rows, max_frames=2, gap=2)
    assert limited.shape == (26, 2 + 2 * 14, 3)
    labelled = contact_sheet(rows, labels=["first", "second"], gap=2)
    assert labelled.shape[0] == 26 and labelled.shape[1] > sheet.shape[1]
    with pytest.raises(ValueError, match="labels"):
        contact_sheet(rows, labels=["one"])
