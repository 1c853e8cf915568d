"""Clips as padded tensors and back: property tests over any N (including 0) and any T >= 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackdiffusion.tracklets.clip import Clip, Instance
from trackdiffusion.tracklets.tensors import TrackletTensors, clip_to_tensors, collate_tracklets, tensors_to_clip

CATEGORIES = {1: "person", 2: "car", 3: "bus"}
PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def clips(draw, num_frames: int | None = None) -> Clip:
    """Any clip: T >= 1, N >= 0, ids >= 0 (-1 marks padding), valid boxes anywhere in the frame, nan where absent."""
    T = num_frames or draw(st.integers(1, 8))
    width, height = draw(st.integers(1, 4096)), draw(st.integers(1, 4096))
    ids = draw(st.lists(st.integers(0, 2**40), max_size=5, unique=True))
    instances = []
    for iid in ids:
        present = draw(arrays(np.bool_, T))
        xs = np.sort(draw(arrays(np.float64, (T, 2), elements=st.floats(0, width))), axis=1)
        ys = np.sort(draw(arrays(np.float64, (T, 2), elements=st.floats(0, height))), axis=1)
        present &= (xs[:, 1] > xs[:, 0]) & (ys[:, 1] > ys[:, 0])  # valid boxes only
        boxes = np.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1)
        boxes[~present] = np.nan
        visibility = draw(st.none() | arrays(np.float64, T, elements=st.floats(0, 1)))
        instances.append(Instance(iid, draw(st.sampled_from(sorted(CATEGORIES))), boxes, present, visibility))
    return Clip("c", width, height, T, CATEGORIES, instances)


def assert_same_tracklets(a: Clip, b: Clip, exact: bool) -> None:
    """What the tensors carry: ids, categories, presence, boxes, visibility where present."""
    assert (b.width, b.height, b.num_frames) == (a.width, a.height, a.num_frames)
    assert [(i.id, i.category_id) for i in b.instances] == [(i.id, i.category_id) for i in a.instances]
    for x, y in zip(a.instances, b.instances):
        np.testing.assert_array_equal(x.present, y.present)
        assert np.isnan(y.boxes[~y.present]).all()
        if exact:
            np.testing.assert_array_equal(x.boxes, y.boxes)
        else:
            assert np.allclose(x.boxes[x.present], y.boxes[y.present], rtol=1e-12)
        vis_x = np.ones(a.num_frames) if x.visibility is None else x.visibility
        vis_y = np.ones(b.num_frames) if y.visibility is None else y.visibility
        np.testing.assert_array_equal(vis_x[x.present], vis_y[y.present])


@PROPERTY
@given(clips(), st.booleans())
def test_clip_round_trip(clip, normalize):
    t = clip_to_tensors(clip, dtype=torch.float64, normalize=normalize)
    N, T = len(clip.instances), clip.num_frames
    assert t.boxes.shape == (T, N, 4) and t.present.shape == (T, N) and t.instance_ids.shape == (N,)
    assert not torch.isnan(t.boxes).any() and (t.boxes[~t.present] == 0).all()
    assert (t.visibility[~t.present] == 0).all()
    if normalize and N:
        assert t.boxes.min() >= 0 and t.boxes.max() <= 1
    back = tensors_to_clip(t, clip.width, clip.height, CATEGORIES, normalized=normalize)
    assert_same_tracklets(clip, back, exact=not normalize)


@PROPERTY
@given(st.integers(1, 6).flatmap(lambda T: st.lists(clips(num_frames=T), min_size=1, max_size=4)), st.booleans())
def test_collate_round_trip(items, normalize):
    tensors = [clip_to_tensors(c, dtype=torch.float64, normalize=normalize) for c in items]
    batch = collate_tracklets(tensors)
    B, T, N = len(items), items[0].num_frames, max(len(c.instances) for c in items)
    assert batch.boxes.shape == (B, T, N, 4) and batch.present.shape == (B, T, N)
    assert batch.category_ids.shape == batch.instance_ids.shape == (B, N)
    for b, clip in enumerate(items):
        n = len(clip.instances)
        assert (batch.instance_ids[b, n:] == -1).all() and (batch.category_ids[b, n:] == -1).all()
        assert not batch.present[b, :, n:].any() and (batch.boxes[b, :, n:] == 0).all()
        one = TrackletTensors(batch.boxes[b], batch.present[b], batch.category_ids[b], batch.instance_ids[b],
                              batch.visibility[b])
        back = tensors_to_clip(one, clip.width, clip.height, CATEGORIES, normalized=normalize)
        assert_same_tracklets(clip, back, exact=not normalize)


def test_unknown_visibility_is_one_and_clip_fields_pass_through():
    box = np.array([[0.0, 0.0, 10.0, 5.0], [np.nan] * 4])
    clip = Clip("c", 20, 10, 2, CATEGORIES, [Instance(3, 2, box, np.array([True, False]))])
    t = clip_to_tensors(clip)
    assert t.boxes.dtype == torch.float32 and t.present.dtype == torch.bool and t.instance_ids.dtype == torch.long
    assert t.boxes[0, 0].tolist() == [0.0, 0.0, 0.5, 0.5]
    assert t.visibility[:, 0].tolist() == [1.0, 0.0]
    back = tensors_to_clip(t, 20, 10, CATEGORIES, name="again", fps=5.0)
    assert (back.name, back.fps, back.instances[0].visibility) == ("again", 5.0, None)


def test_to_casts_only_float_tensors():
    t = clip_to_tensors(Clip("c", 4, 4, 1, CATEGORIES), dtype=torch.float64).to(dtype=torch.float16)
    assert (t.boxes.dtype, t.visibility.dtype) == (torch.float16, torch.float16)
    assert (t.present.dtype, t.instance_ids.dtype) == (torch.bool, torch.long)
    assert (t.num_frames, t.num_instances) == (1, 0)


def test_collate_and_unbatch_errors():
    one = clip_to_tensors(Clip("c", 4, 4, 1, CATEGORIES))
    two = clip_to_tensors(Clip("c", 4, 4, 2, CATEGORIES))
    with pytest.raises(ValueError, match="at least one item"):
        collate_tracklets([])
    with pytest.raises(ValueError, match=r"items \[1\] have a different number of frames than item 0 \(1\)"):
        collate_tracklets([one, two])
    with pytest.raises(ValueError, match="expected unbatched tensors"):
        tensors_to_clip(collate_tracklets([one]), 4, 4, CATEGORIES)


def test_conditioning_clips_boxes_to_the_frame_and_counts_them():
    boxes = np.array([[-10.0, 5.0, 20.0, 30.0], [120.0, 5.0, 130.0, 30.0]])  # partly, then wholly outside
    clip = Clip("c", 100, 50, 2, CATEGORIES, [Instance(3, 1, boxes, np.array([True, True]))])
    with pytest.warns(UserWarning, match=r"clip 'c': 1 box\(es\) clipped to the 100x50 frame, 1 left the frame"):
        t = clip_to_tensors(clip, dtype=torch.float64)
    assert t.boxes[0, 0].tolist() == [0.0, 0.1, 0.2, 0.6] and t.present[:, 0].tolist() == [True, False]
    assert clip.instances[0].boxes[0, 0] == -10.0  # the clip keeps its boxes as annotated
