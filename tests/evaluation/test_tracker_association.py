"""Association of the grounding tracker on hand-made detections, and an oracle detector's TrackAP."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.evaluation.trackap import track_ap
from trackdiffusion.evaluation.tracker.association import associate, tracks_to_clip
from trackdiffusion.evaluation.tracker.config import AssociationConfig
from trackdiffusion.evaluation.tracker.decode import Detections
from trackdiffusion.evaluation.tracker.inference import follow_instances
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig

from eval_builders import clip as make_clip
from eval_builders import track

W = H = 64
CATS = {1: "circle", 2: "square"}


def _embedding(k: int, dim: int = 8) -> np.ndarray:
    return np.eye(dim)[k]


def _detections(boxes: list, categories: list[int], category_ids: list[int], keys: list[int],
                score: float = 0.9) -> Detections:
    """Certain detections: one-hot category probabilities, embedding ``e_key`` for each."""
    ids = np.array(category_ids)
    return Detections(boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4), scores=np.full(len(boxes), score),
                      class_probs=(np.array(categories)[:, None] == ids[None]).astype(float).reshape(-1, len(ids)),
                      embeddings=np.array([_embedding(k % 8) for k in keys]).reshape(-1, 8), category_ids=ids)


def _frames(objects: list[dict[int, list[float]]], score: float = 0.9) -> list[Detections]:
    """Per frame, ``{object key: box}``; object ``k`` has embedding ``e_k`` and category ``1 + k % 2``."""
    out = []
    for frame in objects:
        keys = sorted(frame)
        out.append(_detections([frame[k] for k in keys], [1 + k % 2 for k in keys], sorted(CATS), keys, score))
    return out


def _tracks_by_object(tracks, objects):
    """For every track, the set of object keys its boxes came from."""
    owners = []
    for tr in tracks:
        keys = set()
        for t, box in zip(tr.frames, tr.boxes):
            keys |= {k for k, b in objects[t].items() if np.allclose(b, box)}
        owners.append(keys)
    return owners


def test_crossing_objects_keep_their_ids_by_appearance():
    # Two same-sized objects swap places through each other; around the crossing their boxes
    # overlap with both predictions, so only appearance tells them apart.
    objects = [{0: [8 + 5 * t, 20, 24 + 5 * t, 36], 1: [48 - 5 * t, 22, 64 - 5 * t, 38]} for t in range(9)]
    tracks = associate(_frames(objects), AssociationConfig())
    assert _tracks_by_object(tracks, objects) == [{0}, {1}]
    assert all(len(tr.frames) == 9 for tr in tracks)


def test_appearance_breaks_the_swap_iou_alone_would_make():
    # Object 1 stops right where object 0's velocity predicts it: IoU alone hands it object 0's id.
    objects = [{0: [10 + 4 * t, 20, 26 + 4 * t, 36]} for t in range(4)]
    objects += [{1: [26, 20, 42, 36]}, {1: [26, 20, 42, 36]}]
    iou_only = AssociationConfig(iou_weight=1.0, min_similarity=-1.0)
    assert _tracks_by_object(associate(_frames(objects), iou_only), objects) == [{0, 1}]
    assert _tracks_by_object(associate(_frames(objects), AssociationConfig()), objects) == [{0}, {1}]


def test_reentry_is_reidentified_and_not_filled():
    # The object leaves on the right, is away for 3 frames and comes back on the left.
    objects = [{0: [40 + 6 * t, 10, min(56 + 6 * t, W), 26]} for t in range(3)]
    objects += [{}, {}, {}]
    objects += [{0: [0, 30, 10, 46]}, {0: [0, 30, 16, 46]}, {0: [4, 30, 20, 46]}]
    objects[2][3] = [20, 40, 30, 50]  # another object, seen twice: its own track
    objects[3][3] = [21, 40, 31, 50]
    config = AssociationConfig()
    tracks = associate(_frames(objects), config)
    assert _tracks_by_object(tracks, objects) == [{0}, {3}]
    clip = tracks_to_clip(tracks, "reentry", len(objects), W, H, CATS, config)
    first = clip.instance(tracks[0].id)
    assert first.present.tolist() == [True] * 3 + [False] * 3 + [True] * 3  # left the frame: no fill
    assert clip.instance(tracks[1].id).frames().tolist() == [2, 3]


def test_births_deaths_occlusion_fill_and_flickers():
    objects = [{} for _ in range(10)]
    for t in range(2, 8):
        objects[t][0] = [20 + t, 20, 36 + t, 36]
    del objects[4][0], objects[5][0]  # hidden for two frames in mid-frame: interpolated
    objects[6][1] = [50, 50, 60, 60]  # a one-frame flicker: dropped
    dets = _frames(objects)
    dets[3].scores[:] = 0.5
    config = AssociationConfig()
    tracks = associate(dets, config)
    assert len(tracks) == 1
    inst = tracks_to_clip(tracks, "c", 10, W, H, CATS, config).instances[0]
    assert inst.frames().tolist() == [2, 3, 4, 5, 6, 7]
    np.testing.assert_allclose(inst.boxes[4], [24, 20, 40, 36])
    scores = [0.9, 0.5, 0.9, 0.9]
    np.testing.assert_allclose(inst.score[[4, 5]], np.mean(scores))
    assert inst.track_score() == pytest.approx(np.mean(scores))


def test_low_scores_do_not_start_tracks():
    objects = [{0: [10, 10, 30, 30]} for _ in range(4)]
    assert associate(_frames(objects, score=0.4), AssociationConfig()) == []
    assert len(associate(_frames(objects, score=0.5), AssociationConfig())) == 1


def test_oracle_detections_give_trackap_100():
    """Ground-truth boxes of synthetic clips (crossings, occlusions, re-entries) fed to association."""
    world = SyntheticWorld(WorldConfig(num_frames=16, seed=5, min_objects=2, max_objects=4, p_reentry=0.5))
    clips = [world.render_clip("val", i)[1] for i in range(6)]
    gt = TrackletDataset(clips, world.categories)
    config = AssociationConfig(min_detections=1)
    predicted = []
    for clip in clips:
        dets = []
        for t in range(clip.num_frames):
            here = [i for i in clip.instances if i.present[t]]
            dets.append(_detections([i.boxes[t] for i in here], [i.category_id for i in here],
                                    sorted(world.categories), [i.id for i in here]))
        predicted.append(tracks_to_clip(associate(dets, config), clip.name, clip.num_frames, clip.width,
                                        clip.height, world.categories, config))
    assert any(not i.present.all() for c in clips for i in c.instances)  # the test covers absences
    result = track_ap(gt, TrackletDataset(predicted, world.categories))
    assert result["AP"] == pytest.approx(100.0)
    assert result["AP75"] == pytest.approx(100.0)


def test_tracks_extend_behind_the_object_that_hides_them():
    # Object 1 (in front, static) hides object 0 until frame 3; object 0 then moves right by 3 px
    # per frame. Object 2 appears in the open at frame 3 and is not extended.
    objects = [{1: [20, 20, 40, 40]} for _ in range(8)]
    for t in range(3, 8):
        objects[t][0] = [22 + 3 * t, 24, 36 + 3 * t, 38]
        objects[t][2] = [50, 2, 60, 12]
    config = AssociationConfig()
    tracks = associate(_frames(objects), config)
    clip = tracks_to_clip(tracks, "hidden", 8, W, H, CATS, config)
    hidden = clip.instance(next(tr.id for tr in tracks if np.allclose(tr.boxes[0], objects[3][0])))
    assert hidden.frames().tolist() == list(range(8))
    np.testing.assert_allclose(hidden.boxes[1], [25, 24, 39, 38])  # 3 px per frame back from frame 3
    np.testing.assert_allclose(hidden.score[:3], hidden.track_score())
    open_air = clip.instance(next(tr.id for tr in tracks if np.allclose(tr.boxes[0], objects[3][2])))
    assert open_air.frames().tolist() == [3, 4, 5, 6, 7]
    unextended = tracks_to_clip(tracks, "hidden", 8, W, H, CATS, AssociationConfig(extend_hidden=False))
    assert unextended.instance(hidden.id).frames().tolist() == [3, 4, 5, 6, 7]


def test_sot_follows_the_overlapping_track_or_the_most_similar_one():
    # Object 0 is tracked from frame 0; object 1 is hidden in its first ground-truth frame and only
    # tracked from frame 2, far from where its given box was: appearance has to find it.
    objects = [{0: [10 + 2 * t, 10, 26 + 2 * t, 26]} for t in range(5)]
    for t in (2, 3, 4):
        objects[t][1] = [40, 40, 56, 56]
    config = AssociationConfig()
    tracks = associate(_frames(objects), config)
    tracked = tracks_to_clip(tracks, "sot", 5, W, H, CATS, config)
    given = make_clip("sot", [track(7, [[11, 10, 27, 26]] + [[12 + 2 * t, 10, 28 + 2 * t, 26] for t in range(1, 5)]),
                              track(8, [None, [5, 5, 20, 20], [40, 40, 56, 56], [40, 40, 56, 56], None])],
                      width=W, height=H)
    queries = {7: _embedding(0), 8: _embedding(1)}
    followed = follow_instances(tracked, tracks, given, queries, config.reid_similarity)
    first, second = followed.instances
    assert [first.id, second.id] == [7, 8]
    np.testing.assert_allclose(first.boxes[0], [11, 10, 27, 26])  # the given box in the first frame
    np.testing.assert_allclose(first.boxes[1:], np.array([objects[t][0] for t in range(1, 5)]))
    assert second.frames().tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(second.boxes[1], [5, 5, 20, 20])
    np.testing.assert_allclose(second.boxes[2:], [[40, 40, 56, 56]] * 3)
    lost = follow_instances(tracked, tracks, given, {7: _embedding(0), 8: _embedding(5)}, config.reid_similarity)
    assert lost.instances[1].frames().tolist() == [1]  # nothing looks like it: only the given box
