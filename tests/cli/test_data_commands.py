"""``trackdiffusion synth`` and ``trackdiffusion show``."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.video import read_video

runner = CliRunner()


def _synth(out, *extra):
    args = ["synth", "--out", str(out), "--clips", "3", "--val-clips", "1", "--frames", "4", "--size", "32",
            "--seed", "7", "--objects", "2", "3", "--workers", "1", *extra]
    return runner.invoke(app, args)


def test_synth_writes_a_world_with_the_given_options(tmp_path):
    result = _synth(tmp_path / "w")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "w" / "world.json").read_text())
    assert (config["train_clips"], config["val_clips"], config["num_frames"], config["width"]) == (3, 1, 4, 32)
    assert (config["min_objects"], config["max_objects"], config["seed"]) == (2, 3, 7)
    assert (tmp_path / "w" / "val" / "frames" / "val_00000" / "000003.png").is_file()
    assert _synth(tmp_path / "w").exit_code == 1  # refuses to replace without --overwrite
    assert _synth(tmp_path / "w", "--overwrite").exit_code == 0
    bad = runner.invoke(app, ["synth", "--out", str(tmp_path / "x"), "--objects", "3", "1"])
    assert bad.exit_code != 0 and "min_objects" in bad.output


def test_show_draws_sheets_and_videos(tmp_path):
    assert _synth(tmp_path / "w").exit_code == 0
    split = tmp_path / "w" / "train"
    result = runner.invoke(app, ["show", str(split), "--out", str(tmp_path / "sheet.png"), "--height", "64"])
    assert result.exit_code == 0, result.output
    sheet = read_video(tmp_path / "sheet.png")[0]
    assert sheet.shape[0] == 2 + 3 * (64 + 2)  # three clips, one row each
    result = runner.invoke(app, ["show", str(split), "--out", str(tmp_path / "one.gif"), "--clip", "train_00002"])
    assert result.exit_code == 0, result.output
    assert read_video(tmp_path / "one.gif").shape[1:] == (192, 192, 3)
    result = runner.invoke(app, ["show", str(split), "--out", str(tmp_path / "one.mp4"), "--max-frames", "2"])
    assert result.exit_code == 0 and read_video(tmp_path / "one.mp4").shape[0] == 2
    missing = runner.invoke(app, ["show", str(split), "--out", str(tmp_path / "x.png"), "--clip", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.output


def test_show_without_frames_uses_a_grey_canvas(tmp_path):
    assert _synth(tmp_path / "w").exit_code == 0
    result = runner.invoke(app, ["show", str(tmp_path / "w" / "val" / "ytvis.json"), "--out", str(tmp_path / "v.mp4"),
                                 "--height", "32"])
    assert result.exit_code == 0, result.output
    assert "grey canvas" in result.output
    frames = read_video(tmp_path / "v.mp4")
    assert frames.shape == (4, 32, 32, 3) and abs(int(np.median(frames)) - 128) <= 2


def test_show_prints_the_readers_warnings_as_one_line_messages(tmp_path):
    seq = tmp_path / "mot" / "S1"
    (seq / "gt").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=S1\nseqLength=2\nimWidth=64\nimHeight=48\n")
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,77,1\n2,1,10,10,20,20,1,77,1\n")
    result = runner.invoke(app, ["show", str(tmp_path / "mot"), "--out", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "class_<id>: [77]" in result.output
    assert "UserWarning" not in result.output and ".py:" not in result.output
