"""Writing the synthetic world: the split layout, read back through the format readers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.loader import ClipDataset
from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig, write_world
from trackdiffusion.video import read_video

TINY = WorldConfig(train_clips=3, val_clips=2, num_frames=4, width=32, height=32, seed=3)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    calls = []
    splits = write_world(TINY, out, progress=lambda done, total: calls.append((done, total)), workers=1)
    assert calls[-1] == (5, 5) and sorted(splits) == ["train", "val"]
    return out


def test_layout_and_world_json(world_dir):
    assert WorldConfig.load(world_dir / "world.json") == TINY
    split = world_dir / "train"
    for rel in ("cocovid.json", "ytvis.json", "captions.json", "mot/train_00002/gt/gt.txt",
                "mot/train_00002/seqinfo.ini", "frames/train_00002/000003.png", "videos/train_00002.mp4"):
        assert (split / rel).is_file(), rel
    captions = json.loads((split / "captions.json").read_text())
    assert sorted(captions) == ["train_00000", "train_00001", "train_00002"]


def test_files_hold_the_rendered_clips(world_dir):
    world = SyntheticWorld(TINY)
    dataset = read_tracklets(world_dir / "val")
    assert [c.name for c in dataset] == ["val_00000", "val_00001"]
    for clip in dataset:
        frames, truth = world.render_clip("val", int(clip.name[-5:]))
        assert np.array_equal(read_video(world_dir / "val" / "frames" / clip.name), frames)
        assert np.abs(read_video(world_dir / "val" / "videos" / f"{clip.name}.mp4").astype(int) - frames).mean() < 8
        assert [i.id for i in clip.instances] == [i.id for i in truth.instances]
        for got, want in zip(clip.instances, truth.instances):
            assert np.array_equal(got.present, want.present)
            assert np.allclose(got.boxes[got.present], want.boxes[want.present])
            assert np.allclose(got.visibility[got.present], want.visibility[want.present], atol=1e-3)
    mot = read_tracklets(world_dir / "val" / "mot")
    assert len(mot) == 2


def test_loader_reads_a_written_split(world_dir):
    loader = ClipDataset.from_dir(world_dir / "train", num_frames=4, width=32, window="first")
    item = loader[1]
    assert item["frames"].shape == (4, 3, 32, 32)
    assert item["caption"] == json.loads((world_dir / "train" / "captions.json").read_text())["train_00001"]


def test_existing_worlds_are_replaced_only_when_asked(tmp_path):
    config = WorldConfig(train_clips=1, val_clips=0, num_frames=2, width=16, height=16)
    write_world(config, tmp_path / "w")
    with pytest.raises(FileExistsError, match="overwrite"):
        write_world(config, tmp_path / "w")
    write_world(config, tmp_path / "w", overwrite=True)
    (tmp_path / "other" / "train").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not a synthetic world"):
        write_world(config, tmp_path / "other", overwrite=True)


def test_process_pool_writes_the_same_world(tmp_path):
    config = WorldConfig(train_clips=16, val_clips=0, num_frames=2, width=16, height=16)
    write_world(config, tmp_path / "one", workers=1)
    write_world(config, tmp_path / "two", workers=2)
    for rel in ("train/cocovid.json", "train/ytvis.json", "train/captions.json", "train/frames/train_00015/000001.png"):
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel


def test_no_videos_writes_the_same_world_without_ffmpeg(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from trackdiffusion.cli.main import app

    write_world(TINY, tmp_path / "with", workers=1)
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)  # as on a machine without ffmpeg
    cli = ["synth", "--out", str(tmp_path / "without"), "--clips", "3", "--val-clips", "2", "--frames", "4",
           "--size", "32", "--seed", "3", "--workers", "1"]
    assert isinstance(CliRunner().invoke(app, cli).exception, ImportError)  # the mp4s need ffmpeg
    result = CliRunner().invoke(app, cli + ["--no-videos", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "without" / "train" / "videos").exists()
    for rel in ("train/cocovid.json", "train/captions.json", "train/phrases.json", "val/ytvis.json",
                "train/frames/train_00002/000003.png"):
        assert (tmp_path / "with" / rel).read_bytes() == (tmp_path / "without" / rel).read_bytes(), rel
    item = ClipDataset.from_dir(tmp_path / "without" / "train", num_frames=4, width=32, window="first")[1]
    assert item["frames"].shape == (4, 3, 32, 32)
