"""The box-following numbers on hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.evaluation.box_following import box_following, colour_std, in_box_contrast
from trackdiffusion.tracklets import Clip, Instance


def _clip(x0: float, name: str = "c", T: int = 2) -> Clip:
    boxes = np.array([[x0, 2, x0 + 4, 6]] * T, dtype=float)
    return Clip(name, 16, 8, T, {1: "square"}, [Instance(1, 1, boxes, np.ones(T, dtype=bool))])


def _frames(x0: int, colour=(200, 100, 0), T: int = 2) -> np.ndarray:
    frames = np.full((T, 8, 16, 3), 50, dtype=np.uint8)
    frames[:, 2:6, x0:x0 + 4] = colour
    return frames


def test_contrast_is_the_box_colour_difference_from_the_background():
    # background 50; box colour (200, 100, 0): |150| + |50| + |50| over 3 channels
    assert in_box_contrast(_frames(2), _clip(2)) == pytest.approx((150 + 50 + 50) / 3)
    assert in_box_contrast(_frames(2), _clip(10)) == pytest.approx(0.0)  # an empty box region


def test_colour_std_sees_colour_changes_over_frames():
    steady = _frames(2)
    changing = steady.copy()
    changing[1, 2:6, 2:6] = (100, 100, 0)
    assert colour_std(steady, _clip(2)) == 0.0
    assert colour_std(changing, _clip(2)) == pytest.approx((50 + 0 + 0) / 3)


def test_mismatched_control_uses_the_other_clips_boxes():
    result = box_following([_frames(2), _frames(10)], [_clip(2, "a"), _clip(10, "b")])
    assert result.contrast == pytest.approx(250 / 3)
    assert result.mismatched_contrast == pytest.approx(0.0)
    assert result.clips == 2
    with pytest.raises(ValueError, match="one video per clip"):
        box_following([_frames(2)], [])
