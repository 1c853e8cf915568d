"""``train-tracker``, ``trainability`` and ``evaluate --generated --reference`` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_world")
    write_world(WorldConfig(train_clips=3, val_clips=2, num_frames=6, seed=6), root, workers=1)
    return root


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_tracker")
    result = runner.invoke(app, ["train-tracker", "--data", str(world / "train"), "--val-data", str(world / "val"),
                                 "--out", str(out), "--steps", "2", "--clips-per-batch", "2", "--frames-per-clip",
                                 "2", "--min-visibility", "0.1", "--threads", "1", "--quiet"])
    return out, result


def test_train_tracker_reports_val_metrics(trained):
    out, result = trained
    assert result.exit_code == 0, result.output
    assert "val TrackAP" in result.output and "NormPrecision" in result.output
    assert (out / "final" / "model.safetensors").is_file()
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["max_steps"] == 2 and saved["min_visibility"] == 0.1


def test_train_tracker_refuses_bad_options(world, tmp_path):
    result = runner.invoke(app, ["train-tracker", "--data", str(world / "train"), "--out", str(tmp_path),
                                 "--train-fraction", "0", "--quiet"])
    assert result.exit_code == 1 and "train_fraction" in result.output
    result = runner.invoke(app, ["train-tracker", "--data", str(world / "train"), "--out", str(tmp_path),
                                 "--min-visibility", "1.5", "--quiet"])
    assert result.exit_code == 1 and "min_visibility: must be in [0, 1], got 1.5" in result.output
    result = runner.invoke(app, ["trainability", "--real", str(world / "train"), "--generated", str(world / "train"),
                                 "--val", str(world / "val"), "--out", str(tmp_path), "--fractions", "half"])
    assert result.exit_code == 2 and "comma-separated" in result.output


def test_evaluate_generated_against_reference(world, trained, tmp_path):
    tracker, _ = trained
    result = runner.invoke(app, ["evaluate", "--generated", str(world / "val"), "--reference", str(world / "val"),
                                 "--tracker", str(tracker / "final"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| Oracle (real clips) |" in result.output and "| Generated |" in result.output
    assert "FD-tracker" in result.output
    doc = json.loads((tmp_path / "generated.json").read_text())
    assert doc["schema"] == "trackdiffusion.evaluation.report" and doc["metric"] == "generated"
    assert (tmp_path / "pr_curves.png").is_file() and (tmp_path / "iou_over_time.png").is_file()


def test_evaluate_generated_needs_both_folders_and_no_subcommand(world):
    result = runner.invoke(app, ["evaluate", "--generated", str(world / "val")])
    assert result.exit_code == 2 and "go together" in result.output
    result = runner.invoke(app, ["evaluate", "--generated", str(world / "val"), "--reference", str(world / "val"),
                                 "trackap", "--gt", str(world / "val"), "--pred", str(world / "val")])
    assert result.exit_code == 2 and "without a subcommand" in result.output
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 0 and "--generated" in result.output and "trackap" in result.output


def test_trainability_command(world, tmp_path):
    result = runner.invoke(app, ["trainability", "--real", str(world / "train"), "--generated", str(world / "val"),
                                 "--val", str(world / "val"), "--out", str(tmp_path), "--fractions", "1.0",
                                 "--steps", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| 100% real + generated |" in result.output
    assert (tmp_path / "trainability.png").is_file()
