"""The synthetic world: determinism, exact annotations, and the events the paper is about."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackdiffusion.tracklets.synthetic import SHAPES, SyntheticWorld, WorldConfig
from trackdiffusion.tracklets.synthetic.shapes import EXTENT, shape_mask

WORLD = SyntheticWorld(WorldConfig())


@pytest.fixture(scope="module")
def rendered():
    """The default world's first 24 clips: enough for every kind of event to occur (checked below)."""
    return [WORLD.render("train", i) for i in range(24)]


def _same(a, b) -> bool:
    """Equal annotations, nan for nan."""
    if len(a.instances) != len(b.instances):
        return False
    for x, y in zip(a.instances, b.instances):
        if (x.id, x.category_id) != (y.id, y.category_id) or not np.array_equal(x.present, y.present):
            return False
        if not (np.array_equal(x.boxes, y.boxes, equal_nan=True) and np.array_equal(x.visibility, y.visibility)):
            return False
    return True


def test_same_config_and_seed_give_bit_identical_clips(rendered):
    other = SyntheticWorld(WorldConfig())
    for index in (0, 7, 23):  # clip i does not depend on the clips rendered before it
        frames, clip = other.render_clip("train", index)
        assert np.array_equal(frames, rendered[index].frames)
        assert _same(clip, rendered[index].clip)
        assert clip.caption == rendered[index].clip.caption


def test_seed_and_split_change_the_clips(rendered):
    frames = rendered[0].frames
    assert not np.array_equal(SyntheticWorld(WorldConfig(seed=1)).render_clip("train", 0)[0], frames)
    assert not np.array_equal(WORLD.render_clip("val", 0)[0], frames)


def test_annotations_are_exact(rendered):
    checked_tight = 0
    for r in rendered:
        clip = r.clip
        assert clip.problems() == []
        assert set(np.unique(r.ids)) - {0} <= {i.id for i in clip.instances}
        for inst in clip.instances:
            for t in range(clip.num_frames):
                ys, xs = np.nonzero(r.ids[t] == inst.id)
                if not inst.present[t]:
                    assert len(xs) == 0
                    continue
                x0, y0, x1, y1 = inst.boxes[t]
                # An instance's own visible pixels lie inside its box ...
                assert np.all((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1))
                assert (len(xs) > 0) == (inst.visibility[t] > 0)
                # ... and a fully visible instance's box is the tight box of its pixels.
                if inst.visibility[t] == 1.0:
                    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
                    checked_tight += 1
    assert checked_tight > 100


def test_default_world_has_occlusion_reentry_and_scale_change(rendered):
    occluded = reentered = scaled = 0
    for r in rendered:
        clip = r.clip
        for inst in clip.instances:
            p = inst.frames()
            b = inst.boxes
            inside = (b[:, 0] > 0) & (b[:, 1] > 0) & (b[:, 2] < clip.width) & (b[:, 3] < clip.height)
            # Not touching a border, so a missing part can only be hidden by another object.
            occluded += int(np.any(inside & inst.present & (inst.visibility < 0.7)))
            reentered += int(len(p) and not inst.present[p[0]:p[-1] + 1].all())
            area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
            scaled += int(np.nanmax(area[inside]) > 1.3 * np.nanmin(area[inside])) if inside.any() else 0
    assert occluded >= 3 and reentered >= 2 and scaled >= 3


def test_object_colours_stand_out_from_the_background(rendered):
    for r in rendered[:8]:
        background = r.frames[r.ids == 0].astype(int)
        for inst in r.clip.instances:
            own = r.frames[r.ids == inst.id].astype(int)
            if len(own):
                # Most object pixels (the main colour; textures use a shade) differ clearly.
                diff = np.abs(own[:, None] - np.median(background, axis=0)).sum(-1)
                assert np.mean(diff > 100) > 0.5


def test_captions_name_the_objects(rendered):
    for r in rendered[:8]:
        caption = r.clip.caption
        assert caption.startswith("a video of ") and caption.endswith(" background")
        for inst in r.clip.instances:
            assert r.clip.categories[inst.category_id] in caption


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_fit_their_extent_and_are_solid(shape):
    g = np.linspace(-1.5, 1.5, 301)
    u, v = np.meshgrid(g, g)
    mask = shape_mask(shape, u, v)
    assert np.hypot(u, v)[mask].max() <= EXTENT[shape]
    assert mask.mean() * 9 > 1.5  # area in squared radii: none is a sliver


def test_config_round_trip_and_problems(tmp_path):
    config = WorldConfig(train_clips=3, categories=("circle", "star"), seed=5)
    config.save(tmp_path / "world.json")
    assert WorldConfig.load(tmp_path / "world.json") == config
    assert json.loads((tmp_path / "world.json").read_text())["categories"] == ["circle", "star"]
    with pytest.raises(ValueError) as err:
        WorldConfig(min_objects=3, max_objects=2, categories=("blob",), p_reentry=2)
    message = str(err.value)
    assert "min_objects/max_objects" in message and "blob" in message and "p_reentry" in message
    with pytest.raises(ValueError, match="unknown field"):
        WorldConfig.from_dict({"clips": 3})


def test_other_sizes_and_lengths_render():
    world = SyntheticWorld(WorldConfig(width=96, height=48, num_frames=3, min_objects=3, max_objects=3))
    frames, clip = world.render_clip("val", 2)
    assert frames.shape == (3, 48, 96, 3) and clip.problems() == []
    frames, clip = SyntheticWorld(WorldConfig(num_frames=1)).render_clip("train", 0)
    assert frames.shape == (1, 64, 64, 3) and clip.problems() == []
