"""Keyframes -> clip: linear boxes between keyframes, present from the first to the last, checks."""

import math

import numpy as np
import pytest

from trackdiffusion.webapp import drawing


def _marks():
    marks = drawing.set_keyframe([], 1, "circle", 0, [0, 0, 10, 10])
    marks = drawing.set_keyframe(marks, 1, "circle", 4, [8, 4, 18, 14])
    return drawing.set_keyframe(marks, 2, "square", 3, [20, 20, 30, 30])


def test_boxes_interpolate_between_keyframes_and_exist_only_from_first_to_last():
    clip = drawing.keyframes_to_clip(_marks(), 8, 32, 32)
    a, b = clip.instances
    assert (a.id, clip.categories[a.category_id], b.id, clip.categories[b.category_id]) == (1, "circle", 2, "square")
    assert a.present.tolist() == [True] * 5 + [False] * 3
    np.testing.assert_array_equal(a.boxes[:5], [[0, 0, 10, 10], [2, 1, 12, 11], [4, 2, 14, 12], [6, 3, 16, 13],
                                                [8, 4, 18, 14]])
    assert np.isnan(a.boxes[5:]).all()
    assert b.present.tolist() == [False] * 3 + [True] + [False] * 4
    clip.validate()


def test_a_keyframe_on_the_same_frame_replaces_and_a_new_category_renames_the_instance():
    marks = drawing.set_keyframe(_marks(), 1, "star", 4, [1, 1, 5, 5])
    assert [(k["frame"], k["category"], k["box"]) for k in marks if k["id"] == 1] == [
        (0, "star", [0, 0, 10, 10]), (4, "star", [1, 1, 5, 5])]
    assert drawing.keyframe_rows(drawing.remove_instance(marks, 1)) == [[2, "square", 3, 20, 20, 30, 30]]


@pytest.mark.parametrize("box, frame, needle", [
    ([0, 0, 33, 10], 0, "outside the 32x32 canvas"),
    ([-1, 0, 10, 10], 0, "outside the 32x32 canvas"),
    ([5, 5, 5, 9], 0, "0 <= x0 < x1 <= 32"),
    ([0, 0, 10, math.nan], 0, "empty or non-numeric"),
    ([0, 0, 10, 10], 8, "frame 8 is outside the clip's frames 0..7"),
])
def test_bad_keyframes_get_a_message_naming_the_value(box, frame, needle):
    assert needle in drawing.check_keyframe(box, frame, 32, 32, 8)


def test_fewer_frames_than_a_keyframe_needs_name_the_instance_and_frame():
    with pytest.raises(ValueError, match=r"instance 1, frame 4: frame 4 is outside the clip's frames 0\.\.2"):
        drawing.keyframes_to_clip(_marks(), 3, 32, 32)


def test_the_frame_strip_and_canvas_show_every_frame_at_their_scales():
    clip = drawing.keyframes_to_clip(_marks(), 8, 32, 32)
    strip = drawing.frame_strip(clip)
    assert strip.shape == (2 + 96 + 2, 2 + 8 * (96 + 2), 3)
    canvas = drawing.canvas_frame(clip, 3)
    assert canvas.shape == (128, 128, 3)
    grey = drawing.canvas_frame(drawing.keyframes_to_clip([], 8, 32, 32), 3)
    assert (grey == drawing.BACKGROUND).all() and (canvas != grey).any()
