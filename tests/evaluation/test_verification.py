"""Closed-loop verification: exact STIoU and matching, and the shipped tracker on real and shifted clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackdiffusion.assets import DEFAULT_TRACKER
from trackdiffusion.evaluation.tracker.inference import track_dataset
from trackdiffusion.evaluation.tracker.model import GroundingTracker
from trackdiffusion.evaluation.verification import Thresholds, judge, st_iou, verify_dataset
from trackdiffusion.evaluation.verification_report import write_report
from trackdiffusion.tracklets import Clip, Instance, TrackletDataset
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world


def _inst(iid, cat, boxes, present=None):
    boxes = np.array(boxes, dtype=float)
    present = np.ones(len(boxes), bool) if present is None else np.array(present)
    boxes[~present] = np.nan
    return Instance(iid, cat, boxes, present)


def test_st_iou_sums_areas_over_frames():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [np.nan] * 4])
    # frame 0: intersection 50, union 150; frame 1: only a (area 100) -> 50 / 250
    assert st_iou(a, np.array([True, True]), b, np.array([True, False])) == pytest.approx(0.2)
    assert st_iou(a, np.array([True, True]), a, np.array([True, True])) == 1.0


def test_judge_matches_one_to_one_and_checks_category():
    cats = {1: "circle", 2: "square"}
    gt = Clip("c", 32, 32, 2, cats, [_inst(1, 1, [[0, 0, 10, 10]] * 2), _inst(2, 2, [[20, 20, 30, 30]] * 2)])
    pred = Clip("c", 32, 32, 2, cats, [_inst(8, 2, [[20, 20, 30, 30]] * 2), _inst(9, 2, [[0, 0, 10, 10]] * 2)])
    result = judge(gt, pred, Thresholds(0.5))
    assert result["instances"]["1"] == {"iou": 1.0, "track": 9, "category_ok": False}
    assert result["instances"]["2"] == {"iou": 1.0, "track": 8, "category_ok": True}
    assert result["failed_instances"] == [1] and not result["passed"]
    assert judge(gt, pred, Thresholds(0.5, require_category=False))["passed"]
    nothing = Clip("c", 32, 32, 2, cats, [])
    assert judge(gt, nothing, Thresholds(0.5))["failed_instances"] == [1, 2]
    gt.instances[0].iscrowd = True  # an ignore region is not checked
    assert list(judge(gt, nothing, Thresholds(0.5))["instances"]) == ["2"]


def _shifted(dataset: TrackletDataset, dx: float) -> TrackletDataset:
    clips = [c.transform_boxes(1.0, 1.0, -dx, 0.0) for c in dataset.clips]
    return TrackletDataset(clips, dataset.categories, source="shifted", image_root=dataset.image_root)


@pytest.mark.filterwarnings("ignore:clip .* clipped")
def test_shipped_tracker_passes_real_clips_and_fails_shifted_boxes(tmp_path):
    write_world(WorldConfig(train_clips=0, val_clips=4, num_frames=6, seed=2026), tmp_path / "w")
    real = read_tracklets(tmp_path / "w" / "val")
    model = GroundingTracker.from_pretrained(DEFAULT_TRACKER)
    tracks = track_dataset(model, real, follow=False).tracks
    thresholds = Thresholds(0.5)
    on_real = verify_dataset(real, tracks, thresholds)
    assert sum(r["passed"] for r in on_real.values()) >= 3
    shifted = _shifted(real, 20.0)  # a third of the 64-pixel frame: the boxes miss their objects
    on_shifted = verify_dataset(shifted, tracks, thresholds)
    assert sum(r["passed"] for r in on_shifted.values()) == 0
    summary = write_report(on_real, thresholds, real, tracks, tmp_path / "report")
    saved = json.loads((tmp_path / "report" / "verification.json").read_text())
    assert saved["summary"] == summary and summary["clips"] == 4
    assert (tmp_path / "report" / "worst_clips.png").is_file() and (tmp_path / "report" / "st_iou.png").is_file()
