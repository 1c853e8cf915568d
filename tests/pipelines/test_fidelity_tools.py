"""The category probe, the fidelity row and the learning curve on a tiny random model."""

from __future__ import annotations

import csv

import pytest
import torch

from trackdiffusion.evaluation.category_probe import category_probe
from trackdiffusion.evaluation.fidelity import fidelity_row
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.synthetic import WorldConfig


@pytest.fixture
def tiny_tracker() -> GroundingTracker:
    torch.manual_seed(0)
    categories = {i + 1: name for i, name in enumerate(WorldConfig().categories)}
    return GroundingTracker(TrackerConfig(categories=categories, widths=(4, 8, 8, 12), head_width=8, roi_width=4,
                                          roi_size=8, embed_dim=6)).eval()


def test_probe_and_fidelity_run_on_a_tiny_model(pipe, tiny_tracker, tmp_path):
    from trackdiffusion.tracklets.synthetic import write_world

    write_world(WorldConfig(train_clips=1, val_clips=2, num_frames=4, width=64, height=64, seed=5), tmp_path)
    val = read_tracklets(tmp_path / "val")
    result = category_probe(pipe, tiny_tracker, val, timesteps=(200, 800), guidance=2.0)
    assert [r["t"] for r in result["timesteps"]] == [200, 800]
    total = sum(len(i.frames()) for c in val.clips for i in c.instances)
    for row in result["timesteps"]:
        assert 0 <= row["true"] <= 100 and row["shift"] == pytest.approx(row["true"] - row["forced_vs_true"])
    assert set(result["gates"]) == {"gate_self_attention", "gate_cross_attention"} and total > 0
    row = fidelity_row(tiny_tracker, val)
    assert set(row) == {"TrackAP", "AgnAP", "ClsAcc", "BgStd"} and row["BgStd"] > 0


def test_learning_curve_scores_each_checkpoint_once(tiny_world, tmp_path, tiny_tracker):
    from trackdiffusion.evaluation.learning_curve import CSV_FILE, plot_curve, score_run
    from trackdiffusion.training.trainer import train

    from ..training.conftest import tiny_config

    run = tmp_path / "run"
    train(tiny_config(tiny_world, run), progress=False)
    tiny_tracker.save_pretrained(tmp_path / "tracker")
    rows = score_run(run, tiny_world / "val", tmp_path / "tracker", clips=1, frames=4, sampling_steps=2)
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[1]["frames_seen"] == 4 * 2 * 4  # steps x batch x frames
    assert score_run(run, tiny_world / "val", tmp_path / "tracker", clips=1, frames=4, sampling_steps=2) == []
    with (run / CSV_FILE).open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [2, 4]
    assert plot_curve([run], tmp_path / "curve.png").stat().st_size > 1000
