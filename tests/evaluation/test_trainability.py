"""The trainability experiment end to end on tiny worlds (a second world plays the generated clips)."""

from __future__ import annotations

import json

import pytest

from trackdiffusion.evaluation.trainability import COLUMNS, TrainabilityConfig, run_name, run_trainability
from trackdiffusion.evaluation.tracker.data import read_split, subset_clips
from trackdiffusion.evaluation.tracker.train import TrackerTrainConfig, training_clips
from trackdiffusion.tracklets.synthetic import WorldConfig, write_world


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("worlds")
    write_world(WorldConfig(train_clips=4, val_clips=2, num_frames=6, seed=1), root / "real", workers=1)
    write_world(WorldConfig(train_clips=3, val_clips=0, num_frames=6, seed=9), root / "fake", workers=1)
    return root


def test_subsets_are_seeded_and_nested_in_order(worlds):
    real = read_split(worlds / "real" / "train")
    half = subset_clips(real, 0.5, seed=3)
    assert len(half) == 2 and [c.name for c in half] == [c.name for c in subset_clips(real, 0.5, seed=3)]
    names = [c.name for c in real]
    assert [names.index(c.name) for c in half] == sorted(names.index(c.name) for c in half)
    assert len(subset_clips(real, 0.01, seed=3)) == 1
    with pytest.raises(ValueError, match="fraction"):
        subset_clips(real, 0.0, seed=3)


def test_trainability_writes_its_table_and_reuses_finished_runs(worlds, tmp_path):
    cfg = TrainabilityConfig(real=str(worlds / "real" / "train"), generated=str(worlds / "fake" / "train"),
                             val=str(worlds / "real" / "val"), output_dir=str(tmp_path), fractions=[0.5, 1.0],
                             steps=2, clips_per_batch=2, frames_per_clip=2)
    result = run_trainability(cfg, progress=False)
    doc = json.loads((tmp_path / "trainability.json").read_text())
    assert doc["columns"] == COLUMNS
    assert [r["name"] for r in doc["rows"]] == ["50% real", "50% real + generated", "100% real",
                                                "100% real + generated"]
    values = [r["values"] for r in doc["rows"]]
    assert [v["real_clips"] for v in values] == [2, 2, 4, 4]
    assert [v["generated_clips"] for v in values] == [0, 3, 0, 3]
    assert all(v["steps"] == 2 for v in values)
    assert values[0]["gain"] is None
    assert values[1]["gain"] == pytest.approx(values[1]["TrackAP"] - values[0]["TrackAP"])
    assert result.plot.is_file() and (tmp_path / "trainability.md").is_file()
    mixed = json.loads((tmp_path / "runs" / run_name(0.5, True) / "train_config.json").read_text())
    assert mixed["extra_data"] == [cfg.generated] and mixed["train_fraction"] == 0.5

    messages = []
    run_trainability(cfg, progress=False, log=messages.append)
    assert sum("reusing" in m for m in messages) == 4


def test_bad_fractions_are_refused(worlds, tmp_path):
    cfg = TrainabilityConfig(real="r", generated="g", val="v", output_dir=str(tmp_path), fractions=[0.5, 1.5])
    with pytest.raises(ValueError, match="fractions"):
        run_trainability(cfg, progress=False)


def test_training_clips_from_a_clip_list_plus_extra_splits(worlds, tmp_path):
    names = [c.name for c in read_split(worlds / "real" / "train")][1:3]
    (tmp_path / "clips.txt").write_text("\n".join(names) + "\n")
    cfg = TrackerTrainConfig(data=str(worlds / "real" / "train"), output_dir=str(tmp_path),
                             clip_list=str(tmp_path / "clips.txt"), extra_data=[str(worlds / "fake" / "train")])
    real, extra = training_clips(cfg)
    assert [c.name for c in real] == names and [len(d) for d in extra] == [3]
    assert "clip_list and train_fraction" in "; ".join(TrackerTrainConfig(**{**vars(cfg), "train_fraction": 0.5})
                                                       .problems())
    write_world(WorldConfig(train_clips=1, val_clips=0, num_frames=6, seed=3, categories=("circle", "star")),
                tmp_path / "other", workers=1)
    with pytest.raises(ValueError, match="category table"):
        training_clips(TrackerTrainConfig(data=str(worlds / "real" / "train"), output_dir=str(tmp_path),
                                          extra_data=[str(tmp_path / "other" / "train")]))
