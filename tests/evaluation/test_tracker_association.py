"""Association of the grounding tracker on hand-made detections, and an oracle detector's TrackAP."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.evaluation.trackap import track_ap
from trackdiffusion.evaluation.tracker.association import associate, tracks_to_clip
from trackdiffusion.evaluation.tracker.config import AssociationConfig
from trackdiffusion.evaluation.tracker.decode import Detections
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig

W = H = 64
CATS = {1: "circle", 2: "square"}


def _embedding(k: int, dim: int = 8) -> np.ndarray:
    return np.eye(dim)[k]


def _frames(objects: list[dict[int, list[float]]], score: float = 0.9) -> list[Detections]:
    """Per frame, ``{object key: box}``; object ``k`` has embedding ``e_k`` and category ``1 + k % 2``."""
    out = []
    for frame in objects:
        keys = sorted(frame)
        out.append(Detections(
            boxes=np.array([frame[k] for k in keys], dtype=np.float64).reshape(-1, 4),
            scores=np.full(len(keys), score),
            categories=np.array([1 + k % 2 for k in keys], dtype=np.int64),
            embeddings=np.array([_embedding(k) for k in keys]).reshape(-1, 8),
        ))
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
            dets.append(Detections(
                boxes=np.array([i.boxes[t] for i in here]).reshape(-1, 4), scores=np.full(len(here), 0.9),
                categories=np.array([i.category_id for i in here], dtype=np.int64),
                embeddings=np.array([_embedding(i.id % 8) for i in here]).reshape(-1, 8)))
        predicted.append(tracks_to_clip(associate(dets, config), clip.name, clip.num_frames, clip.width,
                                        clip.height, world.categories, config))
    assert any(not i.present.all() for c in clips for i in c.instances)  # the test covers absences
    result = track_ap(gt, TrackletDataset(predicted, world.categories))
    assert result["AP"] == pytest.approx(100.0)
    assert result["AP75"] == pytest.approx(100.0)
