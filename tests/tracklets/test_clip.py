"""Clip and Instance: inspection, validation and the window / resize / crop transforms."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.tracklets.clip import Clip, Instance, resize_crop_params
from trackdiffusion.tracklets.errors import TrackletError


def make_clip() -> Clip:
    """100x50, 4 frames: instance 1 in every frame, instance 2 in frames 2 and 3."""
    T = 4
    a = np.array([[10, 10, 30, 20], [12, 10, 32, 20], [14, 10, 34, 20], [16, 10, 36, 20]], dtype=float)
    b = np.full((T, 4), np.nan)
    b[2:] = [[60, 5, 90, 45], [70, 5, 99, 45]]
    return Clip("c", 100, 50, T, {1: "person", 2: "car"}, [
        Instance(1, 1, a, np.ones(T, bool), visibility=np.array([1.0, 0.5, 0.25, 1.0]),
                 score=np.array([0.5, 0.5, 0.5, 0.5]), attributes={"occluded": np.array([0.0, 1.0, 1.0, 0.0])}),
        Instance(2, 2, b, np.array([False, False, True, True])),
    ], fps=10.0, frame_names=[f"c/{t}.png" for t in range(T)])


def test_inspection_and_track_score():
    clip = make_clip()
    assert len(clip) == 2 and clip.instance(2).frames().tolist() == [2, 3]
    with pytest.raises(KeyError, match="no instance with id 5"):
        clip.instance(5)
    assert clip.instance(1).track_score() == 0.5
    clip.instance(1).score[:] = 0.1  # np.mean of four 0.1 is not 0.1; a constant score comes back as is
    assert clip.instance(1).track_score() == 0.1
    clip.instance(1).score[0] = 0.5
    assert clip.instance(1).track_score() == pytest.approx(0.2)
    assert clip.instance(2).track_score() is None


def test_problems_and_validate():
    clip = make_clip()
    assert clip.validate() is clip
    clip.instances[1].id = 1
    clip.instances[1].category_id = 9
    clip.instances[0].boxes[2] = [200, 10, 180, 20]
    with pytest.raises(TrackletError) as err:
        clip.validate()
    assert [str(p) for p in err.value.problems] == [
        "clip 'c': instance 1: frame 2: box [200.0, 10.0, 180.0, 20.0] has zero or negative width/height",
        "clip 'c': instance 1: duplicate instance id",
        "clip 'c': instance 1: unknown category_id 9",
    ]


def test_window_picks_frames_with_stride():
    clip = make_clip()
    w = clip.window(1, 2, stride=2)
    assert (w.num_frames, w.frame_names, w.fps) == (2, ["c/1.png", "c/3.png"], 10.0)
    assert w.instance(1).boxes[:, 0].tolist() == [12.0, 16.0]
    assert w.instance(1).visibility.tolist() == [0.5, 1.0]
    assert w.instance(1).attributes["occluded"].tolist() == [1.0, 0.0]
    assert w.instance(2).present.tolist() == [False, True]
    assert clip.num_frames == 4  # the source is untouched


def test_window_drops_instances_absent_from_every_frame():
    clip = make_clip()
    assert [i.id for i in clip.window(0, 2).instances] == [1]
    assert [i.id for i in clip.window(0, 2, drop_empty=False).instances] == [1, 2]


@pytest.mark.parametrize("start, length, stride", [(3, 2, 1), (0, 3, 2), (-1, 1, 1), (0, 0, 1), (0, 2, 0)])
def test_window_that_does_not_fit(start, length, stride):
    with pytest.raises(ValueError, match="does not fit clip 'c' of 4 frames"):
        make_clip().window(start, length, stride)


def test_resize_scales_each_axis():
    clip = make_clip()
    out = clip.resize(200, 25)
    assert (out.width, out.height) == (200, 25)
    assert out.instance(1).boxes[0].tolist() == [20.0, 5.0, 60.0, 10.0]
    assert out.instance(2).boxes[3].tolist() == [140.0, 2.5, 198.0, 22.5]
    assert clip.instance(1).boxes[0].tolist() == [10.0, 10.0, 30.0, 20.0]


def test_crop_clips_and_drops_with_one_warning():
    clip = make_clip()
    with pytest.warns(UserWarning, match=r"clip 'c': 0 box\(es\) clipped to the 40x40 frame, 2 left the frame"):
        out = clip.crop(0, 5, 40, 45)
    assert (out.width, out.height) == (40, 40)
    assert out.instance(1).boxes[0].tolist() == [10.0, 5.0, 30.0, 15.0]
    assert [i.id for i in out.instances] == [1]  # instance 2 lies right of x = 40 in both its frames
    with pytest.warns(UserWarning, match=r"2 box\(es\) clipped to the 20x50 frame, 4 left"):
        out = clip.crop(80, 0, 100, 50)
    assert out.instance(2).boxes[3].tolist() == [0.0, 5.0, 19.0, 45.0]
    assert [i.id for i in out.instances] == [2]


@pytest.mark.parametrize("box", [(-1, 0, 10, 10), (0, 0, 101, 10), (5, 0, 5, 10)])
def test_crop_must_lie_inside_the_frame(box):
    with pytest.raises(ValueError, match="is not inside 100x50"):
        make_clip().crop(*box)


def test_resize_crop_covers_then_centre_crops():
    assert resize_crop_params(100, 50, 40, 40) == (0.8, 0.8, 20.0, 0.0)
    clip = make_clip()
    with pytest.warns(UserWarning, match="40x40 frame"):
        out = clip.resize_crop(40, 40)
    assert (out.width, out.height) == (40, 40)
    np.testing.assert_allclose(out.instance(1).boxes[0], [0.0, 8.0, 4.0, 16.0])  # 10*0.8-20 clipped to 0
    # no scaling needed: the same as a centred crop
    with pytest.warns(UserWarning):
        same = clip.resize_crop(50, 50)
    with pytest.warns(UserWarning):
        crop = clip.crop(25, 0, 75, 50)
    for a, b in zip(same.instances, crop.instances):
        np.testing.assert_array_equal(a.boxes, b.boxes)
