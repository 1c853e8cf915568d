"""The category probe, the fidelity row and the learning curve on a tiny random model."""

from __future__ import annotations

import csv
import json

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
    assert rows[0]["phrases"] == 0  # trained without phrases: sampled without them
    assert plot_curve([run], tmp_path / "curve.png").stat().st_size > 1000


def test_a_run_trained_with_phrases_is_scored_with_them(tiny_world, tmp_path, tiny_tracker, monkeypatch):
    from trackdiffusion.evaluation import learning_curve
    from trackdiffusion.training.trainer import train

    from ..training.conftest import tiny_config

    cfg = tiny_config(tiny_world, tmp_path / "run", max_steps=2, stage="spatial")
    cfg.model.options = {**cfg.model.options, "appearance_phrases": True}
    train(cfg, progress=False)
    tiny_tracker.save_pretrained(tmp_path / "tracker")
    seen = []
    real_generate = learning_curve.generate_dataset
    monkeypatch.setattr(learning_curve, "generate_dataset",
                        lambda pipe, data, *a: seen.append(data) or real_generate(pipe, data, *a))
    score = lambda **kw: learning_curve.score_run(tmp_path / "run", tiny_world / "val", tmp_path / "tracker",  # noqa: E731
                                                  clips=1, frames=4, sampling_steps=2, **kw)
    assert [r["phrases"] for r in score()] == [1]
    assert all(i.phrase for i in seen[0].clips[0].instances)  # the val split's phrases.json, attached
    (tmp_path / "run" / learning_curve.CSV_FILE).unlink()
    assert [r["phrases"] for r in score(phrases=False)] == [0]
    assert not any(i.phrase for i in seen[1].clips[0].instances)


def test_a_plotted_curve_is_a_source_that_outlives_its_runs(tmp_path):
    from trackdiffusion.evaluation.learning_curve import CSV_FILE, COLUMNS, plot_curve, read_curve

    def run(name, steps, frames_per_step=8):
        folder = tmp_path / name
        (folder / "checkpoints" / f"step-{steps[-1]:08d}").mkdir(parents=True)
        (folder / "checkpoints" / f"step-{steps[-1]:08d}" / "model.safetensors").write_bytes(b"")
        (folder / "config.json").write_text(json.dumps({"batch_size": 2, "data": {"path": str(tmp_path), "num_frames": frames_per_step // 2}}))
        with (folder / CSV_FILE).open("w") as f:
            f.write(",".join(COLUMNS) + "\n")
            for i, step in enumerate(steps):
                f.write(f"{step},{step * frames_per_step},{10 + i},20,30,4,0.7,0.7,0\n")
        return folder

    first, second = run("first", [2, 4]), run("second", [3])
    (first / "learning_curve_real.json").write_text(json.dumps({"TrackAP": 80, "AgnAP": 80, "ClsAcc": 97, "BgStd": 5}))
    plot_curve([first], tmp_path / "docs" / "curve.png")
    rows, real = read_curve([tmp_path / "docs" / "curve.csv", second])  # the first run's folder is not needed any more
    assert [(r["run"], r["step"], r["frames_seen"]) for r in rows] == [("first", 2, 16), ("first", 4, 32), ("second", 3, 56)]
    assert [r["run_start"] for r in rows] == [0, 0, 32]
    assert real["TrackAP"] == 80 and rows[0]["gate_cross_attention"] == 0.7 and rows[0]["TrackAP"] == 10
    plot_curve([tmp_path / "docs" / "curve.csv", second], tmp_path / "all.png")
    assert read_curve([tmp_path / "all.csv"])[0] == rows
    with pytest.raises(ValueError, match="one of the sources"):
        plot_curve([tmp_path / "all.csv", second], tmp_path / "all.png")
    # a run continued from first's step 2 is drawn from there, and keeps its place when read back
    branch = run("branch", [1, 3])
    rows, _ = read_curve([tmp_path / "all.csv", branch], {"branch": "first:2"})
    assert [(r["run"], r["frames_seen"], r["run_start"]) for r in rows[3:]] == [("branch", 24, 16), ("branch", 40, 16)]
    plot_curve([tmp_path / "all.csv", branch], tmp_path / "branched.png", branches={"branch": "first:2"})
    assert read_curve([tmp_path / "branched.csv"])[0] == rows
    with pytest.raises(ValueError, match=r"branch branches off 'first:3', which is no row .*'first:2', 'first:4'"):
        read_curve([tmp_path / "all.csv", branch], {"branch": "first:3"})
    with pytest.raises(ValueError, match=r"not among the sources: \['third'\]"):
        read_curve([tmp_path / "all.csv"], {"third": "first:2"})
    from typer.testing import CliRunner

    from trackdiffusion.cli.main import app

    cli = ["learning-curve", "plot", str(tmp_path / "all.csv"), str(branch), "--out", str(tmp_path / "cli.png")]
    assert CliRunner().invoke(app, cli + ["--branch", "branch=first:2"]).exit_code == 0
    assert read_curve([tmp_path / "cli.csv"])[0] == rows
    bad = CliRunner().invoke(app, cli + ["--branch", "branch:first:2"])
    assert bad.exit_code != 0 and "RUN=PARENT:STEP" in bad.output
    (tmp_path / "bad.csv").write_text("step,TrackAP\n1,2\n")
    with pytest.raises(ValueError, match=r"bad.csv: not a curve CSV .*'run', 'run_start', 'frames_seen'"):
        read_curve([tmp_path / "bad.csv"])
