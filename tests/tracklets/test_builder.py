"""ClipBuilder and ProblemLog: validating construction with locations."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.tracklets.builder import ClipBuilder, ProblemLog
from trackdiffusion.tracklets.errors import TrackletError

CATEGORIES = {1: "person", 2: "car"}


def builder(num_frames: int | None = 4, width=100, height=50) -> ClipBuilder:
    return ClipBuilder(ProblemLog("f.json"), "clip", width, height, num_frames, CATEGORIES, "f.json: videos[0]",
                       fps=5.0)


def messages(b: ClipBuilder) -> list[str]:
    return [str(p) for p in b.log.problems]


def test_builds_instances_in_order_of_appearance():
    b = builder()
    b.add_box(7, 2, [1, 2, 3, 4], 2, "r0", visibility=0.5, attributes={"occluded": 1.0})
    b.add_box(3, 0, [5, 6, 7, 8], 1, "r1", score=0.25, iscrowd=True)
    b.add_box(7, 3, [1, 2, 3, 5], 2, "r2")
    clip = b.build()
    b.log.finish()
    assert (clip.name, clip.num_frames, clip.fps, clip.categories) == ("clip", 4, 5.0, CATEGORIES)
    seven, three = clip.instances
    assert (seven.id, three.id, seven.category_id) == (7, 3, 2)
    assert seven.present.tolist() == [False, False, True, True]
    assert np.isnan(seven.boxes[0]).all() and seven.boxes[3].tolist() == [1, 2, 3, 5]
    assert seven.visibility.tolist() == [1.0, 1.0, 0.5, 1.0]  # 1 where a row gave none
    assert seven.attributes["occluded"][2] == 1.0 and np.isnan(seven.attributes["occluded"][3])
    assert seven.score is None and three.score[0] == 0.25 and np.isnan(three.score[1])
    assert three.iscrowd and not seven.iscrowd


def test_infers_the_length_from_the_last_frame():
    b = builder(num_frames=None)
    b.add_box(1, 5, [1, 1, 2, 2], 1, "r")
    assert b.build().num_frames == 6


@pytest.mark.parametrize("args, kwargs, expected", [
    ((1, 0, [1, 2, 3], 1), {}, "r: box: expected 4 box numbers, got [1.0, 2.0, 3.0]"),
    ((1, 4, [1, 1, 2, 2], 1), {}, "r: frame: frame index 4 out of range [0, 4)"),
    ((1, 0, [1, 1, 2, 2], 9), {}, "r: category: unknown category 9 (known: [1, 2])"),
    ((1, 0, [1, np.nan, 2, 2], 1), {}, "r: box: box [1.0, nan, 2.0, 2.0] has a non-finite coordinate"),
    ((1, 0, [5, 1, 5, 2], 1), {}, "r: box: box [5.0, 1.0, 5.0, 2.0] has zero or negative width/height"),
    ((1, 0, [1, 1, 2, 2], 1), {"visibility": 1.5}, "r: visibility: visibility 1.5 is not in [0, 1]"),
    ((1, 0, [1, 1, 2, 2], 1), {"score": np.inf}, "r: score: score inf is not finite"),
])
def test_each_check_names_the_field(args, kwargs, expected):
    b = builder()
    fields = {"box": "box", "frame": "frame", "category": "category", "visibility": "visibility", "score": "score"}
    b.add_box(*args[:4], "r", fields=fields, **kwargs)
    assert messages(b) == [expected]


def test_without_fields_problems_point_at_the_record():
    b = builder()
    b.add_box(1, -1, [1, 1, 2, 2], 1, "rec")
    assert messages(b) == ["rec: frame index -1 out of range [0, 4)"]
    b = builder(num_frames=None)
    b.add_box(1, -2, [1, 1, 2, 2], 1, "rec")
    assert messages(b) == ["rec: frame index -2 is negative"]


def test_duplicates_and_category_changes():
    b = builder()
    b.add_box(1, 0, [1, 1, 2, 2], 1, "first")
    b.add_box(1, 0, [1, 1, 3, 3], 1, "second")
    b.add_box(1, 1, [1, 1, 3, 3], 2, "third")
    assert messages(b) == ["second: duplicate box for instance 1 in frame 0 (first at first)",
                           "third: instance 1 changes category from 1 to 2"]


def test_frame_size_problems_do_not_crash():
    for width, height in ((None, 50), (0, 50), (100.0, 50), (True, 50)):
        b = builder(width=width, height=height)
        b.add_box(1, 0, [1, 1, 2, 2], 1, "r")
        clip = b.build()
        assert messages(b) == [f"f.json: videos[0]: frame size must be integers in 1..1048576, got width={width!r} "
                               "height=50"]
        assert len(clip.instances) == 1


def test_check_size():
    b = builder()
    b.check_size(100, 50, "images[0]")
    b.check_size(64, 50, "images[1]")
    assert messages(b) == ["images[1]: frame size 64x50 differs from the 100x50 of f.json: videos[0]"]


def test_boxes_outside_the_frame_are_kept_and_finish_raises_everything(recwarn):
    b = builder()
    b.add_box(1, 0, [-5, 1, 20, 60], 1, "r")
    b.add_box(4, 0, [100, 1, 120, 2], 1, "r")  # wholly outside the 100x50 frame: a tracker's lost box
    clip = b.build()
    b.log.finish()
    assert clip.instance(1).boxes[0].tolist() == [-5, 1, 20, 60] and len(recwarn) == 0
    assert clip.instance(4).boxes[0].tolist() == [100, 1, 120, 2]
    b.add_box(2, 0, [1, 1, 1, 1], 1, "a")
    b.add_box(3, 9, [1, 1, 2, 2], 1, "b")
    with pytest.raises(TrackletError) as err:
        b.log.finish()
    assert len(err.value.problems) == 2 and str(err.value).startswith("2 problem(s) in tracklets:")
