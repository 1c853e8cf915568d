"""Caption files and category templates."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.tracklets import Clip, Instance, TrackletError
from trackdiffusion.tracklets.captions import (caption_for, category_caption, count_phrase, load_captions, plural,
                                               save_captions)


@pytest.mark.parametrize("noun, expected", [
    ("dog", "dogs"), ("person", "people"), ("bus", "buses"), ("fox", "foxes"), ("butterfly", "butterflies"),
    ("monkey", "monkeys"), ("fish", "fish"), ("mouse", "mice"), ("giant panda", "giant pandas"),
    ("person on vehicle", "people on vehicle"), ("cross", "crosses"), ("red striped circle", "red striped circles"),
])
def test_plural(noun, expected):
    assert plural(noun) == expected


def test_count_phrases():
    assert count_phrase("square", 1) == "a square"
    assert count_phrase("orange circle", 1) == "an orange circle"
    assert count_phrase("unicycle", 1) == "a unicycle"
    assert count_phrase("circle", 2) == "two circles"
    assert count_phrase("star", 13) == "13 stars"


def test_category_template():
    assert category_caption(["dog", "person", "dog"]) == "a video of two dogs and a person"
    assert category_caption(["giant_panda", "earless_seal", "Tennis_Racket"]) == \
        "a video of a giant panda, an earless seal and a tennis racket"
    assert category_caption([]) == "an empty video"


def _clip(name: str, caption: str | None = None) -> Clip:
    inst = [Instance(i, c, np.array([[1.0, 1.0, 5.0, 5.0]]), np.array([True])) for i, c in ((1, 1), (2, 1), (3, 2))]
    return Clip(name=name, width=8, height=8, num_frames=1, categories={1: "circle", 2: "square"},
                instances=inst, caption=caption)


def test_caption_for_prefers_file_then_clip_then_template():
    assert caption_for(_clip("a")) == "a video of two circles and a square"
    assert caption_for(_clip("a", "own")) == "own"
    assert caption_for(_clip("a", "own"), {"a": "from file"}) == "from file"
    assert caption_for(_clip("b"), {"a": "from file"}) == "a video of two circles and a square"


def test_caption_files(tmp_path):
    save_captions({"v1": "a cat", "v2": "two dogs"}, tmp_path / "c.json")
    assert load_captions(tmp_path / "c.json") == {"v1": "a cat", "v2": "two dogs"}
    (tmp_path / "c.tsv").write_text("# name\ttext\nv1\ta cat\n\nv2\t two dogs \n")
    assert load_captions(tmp_path / "c.tsv") == {"v1": "a cat", "v2": "two dogs"}
    (tmp_path / "bad.txt").write_text("v1 no tab\nv2\tok\nv2\tagain\n")
    with pytest.raises(TrackletError) as err:
        load_captions(tmp_path / "bad.txt")
    assert [p.location.split(": ")[-1] for p in err.value.problems] == ["line 1", "line 3"]
    (tmp_path / "bad.json").write_text('{"v1": 3}')
    with pytest.raises(TrackletError, match="must be a string"):
        load_captions(tmp_path / "bad.json")
