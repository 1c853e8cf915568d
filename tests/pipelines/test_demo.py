"""``run_demo`` (the README's main command) end to end with a tiny random checkpoint and tracker."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch

from trackdiffusion import demo
from trackdiffusion.demo import DemoSettings, run_demo
from trackdiffusion.evaluation.tracker import GroundingTracker, TrackerConfig
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.loader import read_clip_frames
from trackdiffusion.tracklets.synthetic import WorldConfig

from .conftest import phrased_pipeline


def _tiny_tracker(path) -> None:
    torch.manual_seed(0)
    categories = {i + 1: name for i, name in enumerate(WorldConfig().categories)}
    model = GroundingTracker(TrackerConfig(categories=categories, widths=(4, 8, 8, 12), head_width=8, roi_width=4,
                                           roi_size=8, embed_dim=6))
    model.save_pretrained(path)


def test_demo_writes_every_promised_file(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "ckpt")
    _tiny_tracker(tmp_path / "tracker")
    lines = []
    summary = run_demo(tmp_path / "out", tmp_path / "ckpt", tmp_path / "tracker",
                       DemoSettings(clips=2, frames=4, steps=2), say=lines.append)
    out = tmp_path / "out"
    real, generated = read_tracklets(out / "world" / "val"), read_tracklets(out / "generated")
    assert [c.name for c in generated.clips] == [c.name for c in real.clips] and len(real) == 2
    assert all(c.num_frames == 4 for c in generated.clips)
    for name in ("summary.md", "summary.json", "contact_sheet.png", "evaluation/generated.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "summary.json").read_text()) == summary
    assert [r["name"] for r in summary["evaluation"]["rows"]] == ["Oracle (real clips)", "Generated"]
    assert set(summary["box_following"]) == {"real", "generated"} and summary["phrases"] is False
    assert lines[0].startswith("1/4") and lines[-1].startswith("done in")


def test_demo_cli_names_a_missing_checkpoint_before_doing_any_work(tmp_path):
    result = subprocess.run([sys.executable, "-m", "trackdiffusion.cli.main", "demo", "--out", str(tmp_path / "o"),
                             "--checkpoint", str(tmp_path / "none")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "error:" in result.stderr and "model_index.json is missing" in result.stderr
    assert not (tmp_path / "o").exists()


def test_the_demo_gives_a_phrase_model_the_worlds_phrases_and_scores_their_colours(text_encoder, tmp_path,
                                                                                   monkeypatch):
    phrased_pipeline(text_encoder).save_pretrained(tmp_path / "ckpt")
    _tiny_tracker(tmp_path / "tracker")
    settings = DemoSettings(clips=2, frames=2, steps=2)
    lines = []
    summary = run_demo(tmp_path / "a", tmp_path / "ckpt", tmp_path / "tracker", settings, say=lines.append)
    assert summary["phrases"] is True and any("world/val/phrases.json" in line for line in lines)
    following = summary["box_following"]
    assert following["real"]["colour_accuracy"] == 100.0  # the world's objects wear their phrases' colours
    assert 0 <= following["generated"]["colour_accuracy"] <= 100
    assert "ColourAcc" in (tmp_path / "a" / "summary.md").read_text()

    monkeypatch.setattr(demo, "read_split_phrases", lambda dataset, split: False)  # as without phrases.json
    without = run_demo(tmp_path / "b", tmp_path / "ckpt", tmp_path / "tracker", settings, say=lambda _: None)
    assert without["phrases"] is False and "colour_accuracy" not in without["box_following"]["generated"]

    def frames(out):
        labels = read_tracklets(out / "generated")
        return read_clip_frames(labels.clips[0], labels.image_root)

    assert not np.array_equal(frames(tmp_path / "a"), frames(tmp_path / "b"))  # the phrases reached the model
