"""``evaluate_generated``: pairing, rescaling, the table's schema and its plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trackdiffusion.evaluation.generated import (GENERATED, METRIC_COLUMNS, ORACLE, best_track_iou,
                                                 evaluate_generated, paired_reference)
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig
from trackdiffusion.evaluation.tracker.inference import detect
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.loader import read_clip_frames
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world
from trackdiffusion.tracklets.synthetic.writer import write_clip, write_split_annotations
from trackdiffusion.video.transform import scale_frames

from eval_builders import clip as make_clip
from eval_builders import track


def _eager_tracker(categories: dict[int, str]) -> GroundingTracker:
    """An untrained tracker whose heatmaps start at 0.5, so it detects (and tracks) plenty."""
    torch.manual_seed(0)
    model = GroundingTracker(TrackerConfig(categories=categories, widths=(4, 8, 8, 12), head_width=8, roi_width=4,
                                           roi_size=8, embed_dim=6))
    torch.nn.init.zeros_(model.heat_head.bias)
    return model.eval()


def _write_scaled(reference: TrackletDataset, out, scale: int, frames: int) -> None:
    """A "generated" split: the reference's first ``frames`` frames upscaled ``scale`` times."""
    clips = []
    for ref in reference.clips:
        pixels = scale_frames(read_clip_frames(ref, reference.image_root)[:frames], scale)
        clip = ref.window(0, frames).resize(ref.width * scale, ref.height * scale)
        clips.append(write_clip(pixels, clip, out))
    write_split_annotations(TrackletDataset(clips, reference.categories, source=str(out), image_root=str(out)), out)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    write_world(WorldConfig(train_clips=0, val_clips=3, num_frames=8, seed=4), root / "world", workers=1)
    reference = read_tracklets(root / "world" / "val")
    _write_scaled(reference, root / "generated", scale=2, frames=6)
    model = _eager_tracker(reference.categories)
    model.save_pretrained(root / "tracker")
    return root, reference, model


def test_detections_are_rescaled_to_the_clip(setup):
    _, reference, model = setup
    small = read_clip_frames(reference[0], reference.image_root)
    a, features_a = detect(model, small)
    b, features_b = detect(model, scale_frames(small, 2))
    assert sum(len(d) for d in a) > 0
    for da, db in zip(a, b):
        np.testing.assert_allclose(db.boxes, 2 * da.boxes, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(db.embeddings, da.embeddings, atol=1e-4)
    np.testing.assert_allclose(features_b, features_a, atol=1e-5)


def test_pairing_cuts_reference_clips_and_names_missing_ones(setup):
    root, reference, _ = setup
    generated = read_tracklets(root / "generated")
    paired = paired_reference(generated, reference)
    assert [c.num_frames for c in paired] == [6, 6, 6] and [c.name for c in paired] == [c.name for c in generated]
    generated.clips[1].name = "elsewhere"
    with pytest.raises(ValueError, match="'elsewhere' is not in the reference"):
        paired_reference(generated, reference)


def test_real_split_against_itself_gives_equal_rows(setup, tmp_path):
    root, _, _ = setup
    result = evaluate_generated(root / "world" / "val", root / "world" / "val", root / "tracker", out=tmp_path)
    doc = json.loads((tmp_path / "generated.json").read_text())
    assert doc["metric"] == "generated" and doc["columns"] == ["FD-tracker", *METRIC_COLUMNS]
    assert [r["name"] for r in doc["rows"]] == [ORACLE, GENERATED]
    oracle, generated = (r["values"] for r in doc["rows"])
    assert oracle["FD-tracker"] is None and generated["FD-tracker"] == pytest.approx(0.0, abs=1e-6)
    assert {k: v for k, v in oracle.items() if k != "FD-tracker"} == \
        {k: v for k, v in generated.items() if k != "FD-tracker"}
    assert "NOT FVD" in doc["settings"]["FD-tracker"]
    assert [p.name for p in result.plots] == ["pr_curves.png", "iou_over_time.png"]
    assert all(p.stat().st_size > 1000 for p in result.plots)
    assert (tmp_path / "generated.md").read_text().count(ORACLE) == 1


def test_generated_at_another_resolution(setup, tmp_path):
    root, _, _ = setup
    result = evaluate_generated(root / "generated", root / "world" / "val", root / "tracker")
    assert result.report.settings["generated_size"] == "128x128" and result.report.settings["reference_size"] == "64x64"
    assert result.report.settings["frames"] == [6]
    oracle, generated = (dict(result.report.rows)[name] for name in (ORACLE, GENERATED))
    # The generated clips are the real ones upscaled 2x: the tracker sees the same frames and
    # its boxes scale with the labels, so everything but the drift (sampled in pixels) agrees.
    assert generated["FD-tracker"] == pytest.approx(0.0, abs=1e-6)
    for column in ("TrackAP", "TrackAP50", "TrackAP75", "Success", "NormPrecision", "IDSW"):
        assert generated[column] == pytest.approx(oracle[column]), column
    assert generated["Drift"] == pytest.approx(oracle["Drift"], rel=0.1)
    series = result.rows[GENERATED].iou_over_time
    assert sorted(series) == sorted(c.name for c in read_tracklets(root / "generated"))
    assert all(len(v) == 6 for clip in series.values() for v in clip.values())


def test_best_track_iou_follows_the_best_overlapping_track():
    gt = make_clip("c", [track(1, [[0, 0, 10, 10], [0, 0, 10, 10], None])])
    good = track(7, [[0, 0, 10, 5], [0, 0, 10, 10], [0, 0, 10, 10]], score=0.5)
    bad = track(8, [[20, 20, 30, 30], [0, 0, 10, 10], None], score=0.9)
    series = best_track_iou(gt, make_clip("c", [bad, good]))
    np.testing.assert_allclose(series[1], [0.5, 1.0, np.nan])
    np.testing.assert_allclose(best_track_iou(gt, make_clip("c", [], num_frames=3))[1], [0.0, 0.0, np.nan])
