"""Generation at data-set scale: every output is written, labels match the input geometry, honest resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackdiffusion.pipelines import TrackDiffusionPipeline, clip_store
from trackdiffusion.pipelines.generation import (GenerationSettings, ModelInfo, check_jobs, generate_dataset,
                                                 generate_shard, plan_jobs, write_plan)
from trackdiffusion.pipelines.sharding import Shard
from trackdiffusion.tracklets import Clip, TrackletDataset
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.video.io import read_image, read_mp4

from .conftest import make_clip

FAST = dict(steps=2, guidance=1.0, num_frames=3, width=32, height=32)


def _count_calls(monkeypatch) -> list:
    calls = []
    original = TrackDiffusionPipeline.__call__
    monkeypatch.setattr(TrackDiffusionPipeline, "__call__",
                        lambda self, *a, **k: calls.append(len(a[1])) or original(self, *a, **k))
    return calls


def test_generate_writes_videos_overlays_labels_and_manifest(pipe, tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "val")
    out = tmp_path / "gen"
    settings = GenerationSettings(steps=2, guidance=2.0, seed=5, num_frames=4, width=32, height=32)
    generate_dataset(pipe, source, out, settings)
    for clip in source.clips:
        folder = out / "clips" / clip.name
        assert len(sorted((folder / "frames").glob("*.png"))) == 4
        assert read_mp4(folder / "video.mp4").shape[:3] == (4, 32, 32)
        assert (folder / "overlay.gif").is_file() and (folder / "labels.json").is_file()
    for path in ("cocovid.json", "ytvis.json", "captions.json", "contact_sheet.png", "generation.json"):
        assert (out / path).is_file(), path
    assert not list((out / ".partial").rglob("*.png"))
    assert sorted(p.name for p in (out / "mot").iterdir() if p.is_dir()) == sorted(c.name for c in source.clips)
    assert json.loads((out / "generation.json").read_text())["settings"]["seed"] == 5
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [(m["clip"], m["seed"], m["source"]["clip"]) for m in manifest] == \
        [(c.name, 5 + i, c.name) for i, c in enumerate(source.clips)]
    assert manifest[0]["fingerprint"]["steps"] == 2 and manifest[0]["software"]["trackdiffusion"]

    # CocoVID and MOT keep instance ids; YouTube-VIS numbers annotations globally, so compare in order.
    for fmt, keeps_ids in (("cocovid.json", True), ("mot", True), ("ytvis.json", False)):
        labels = read_tracklets(out / fmt, image_root=out)
        for src in source.clips:
            got = labels.clip(src.name)
            want = src.window(0, 4).resize(32, 32)
            assert (got.width, got.height, got.num_frames) == (32, 32, 4)
            pairs = ([(got.instance(i.id), i) for i in want.instances] if keeps_ids
                     else list(zip(got.instances, want.instances, strict=True)))
            for mine, inst in pairs:
                assert np.array_equal(mine.present, inst.present)
                np.testing.assert_allclose(mine.boxes[inst.present], inst.boxes[inst.present], atol=1e-6)
    labels = read_tracklets(out)
    assert read_image(out / labels.clips[0].frame_names[0]).shape == (32, 32, 3)


def test_resume_redoes_only_unfinished_clips_with_the_same_bytes(pipe, tiny_world, tmp_path, monkeypatch):
    source = read_tracklets(tiny_world / "val")
    settings = GenerationSettings(**FAST)
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, settings)
    redo = out / "clips" / source.clips[1].name
    before = (redo / "frames" / "000000.png").read_bytes()
    clip_store.retire(redo)  # the job died before clip 1 was renamed into place
    calls = _count_calls(monkeypatch)
    generate_dataset(pipe, source, out, settings)
    assert calls == [1]  # only the unfinished clip
    assert (redo / "frames" / "000000.png").read_bytes() == before  # clip i's seed makes it reproducible


@pytest.mark.parametrize("change, expected", [({"seed": 7}, "seed 0 -> 7"), ({"steps": 3}, "steps 2 -> 3"),
                                              ({"num_frames": 2}, "tracklets"),
                                              ({"guidance_rescale": 0.5}, "guidance_rescale null -> 0.5")])
def test_changed_settings_regenerate_or_refuse_naming_the_setting(pipe, tiny_world, tmp_path, monkeypatch,
                                                                  change, expected):
    source = read_tracklets(tiny_world / "val")
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, GenerationSettings(**FAST))
    changed = GenerationSettings(**{**FAST, **change})
    model = ModelInfo.from_pipeline(pipe, "weights")
    jobs = plan_jobs(source, changed, model)
    with pytest.raises(ValueError, match="made differently") as err:
        generate_shard(pipe, jobs, out, changed, on_mismatch="refuse")
    assert source.clips[0].name in str(err.value) and expected in str(err.value)
    calls = _count_calls(monkeypatch)
    labels = generate_dataset(pipe, source, out, changed)
    assert calls == [1, 1]  # both clips are regenerated
    frames = changed.num_frames or 3
    assert all(c.num_frames == frames and len(c.frame_names) == frames for c in labels.clips)
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["seed"] for m in manifest] == [changed.seed, changed.seed + 1]


def test_labels_list_exactly_the_clips_on_disk(pipe, tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "train")  # 4 clips
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, GenerationSettings(**FAST))
    fewer = TrackletDataset(source.clips[:2], source.categories, source=source.source)
    labels = generate_dataset(pipe, fewer, out, GenerationSettings(**FAST))
    names = [c.name for c in source.clips[:2]]
    assert [c.name for c in labels.clips] == names
    assert sorted(p.name for p in (out / "clips").iterdir()) == sorted(names)
    assert [c.name for c in read_tracklets(out / "ytvis.json").clips] == names
    none = TrackletDataset([], source.categories, source=source.source)
    assert len(generate_dataset(pipe, none, out, GenerationSettings(**FAST))) == 0
    assert not (out / "contact_sheet.png").exists() and not list((out / "clips").iterdir())


def test_a_clip_without_instances_is_a_background_video(pipe, tmp_path):
    empty = Clip("empty", 64, 64, 3, {1: "circle"}, [])
    data = TrackletDataset([empty, make_clip("busy", T=3, width=64, height=64)], {1: "circle", 2: "square"})
    data.clips[0].categories = data.categories
    labels = generate_dataset(pipe, data, tmp_path / "gen", GenerationSettings(**FAST))
    assert len(labels.clip("empty").instances) == 0
    frames = read_mp4(tmp_path / "gen" / "clips" / "empty" / "video.mp4")
    assert frames.shape[:3] == (3, 32, 32)


def test_every_clip_is_checked_before_the_model_is_needed():
    model = ModelInfo("x", "float32", (32, 32), 8, bank_size=1)
    ok = make_clip("fine", T=3)
    ok.instances = ok.instances[:1]
    data = TrackletDataset([ok, make_clip("crowded", T=3)], ok.categories)
    settings = GenerationSettings(**FAST)
    with pytest.raises(ValueError, match=r"1 clip\(s\).*identity_bank_size=1: 'crowded' \(2\)"):
        check_jobs(plan_jobs(data, settings, model), settings, model)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        check_jobs([], GenerationSettings(**{**FAST, "steps": 0}), model)
    with pytest.raises(ValueError, match="multiples of 8"):
        check_jobs([], GenerationSettings(**{**FAST, "width": 36}), model)
    with pytest.raises(ValueError, match="box guidance must be >= 0, got -1"):
        check_jobs([], GenerationSettings(**{**FAST, "box_guidance": -1.0}), model)
    with pytest.raises(ValueError, match=r"guidance rescale must lie in \[0, 1\], got -0.1"):
        check_jobs([], GenerationSettings(**{**FAST, "guidance_rescale": -0.1}), model)
    square = TrackletDataset([ok], ok.categories)  # make_clip is 64x48
    with pytest.warns(UserWarning, match=r"1 clip\(s\) are not 32x32-shaped \(e.g. 'fine': 64x48\)"):
        check_jobs(plan_jobs(square, settings, model), settings, model)


def test_batched_sampling_writes_every_clip_in_fewer_calls(pipe, tiny_world, tmp_path, monkeypatch):
    source = read_tracklets(tiny_world / "train")
    calls = _count_calls(monkeypatch)
    labels = generate_dataset(pipe, source, tmp_path / "gen", GenerationSettings(**FAST, batch_size=3))
    assert calls == [3, 1]
    assert len(labels) == 4 and all((tmp_path / "gen" / "clips" / c.name / "record.json").is_file()
                                    for c in source.clips)


def test_shards_generate_disjoint_clips_and_merge_waits_for_all(pipe, tiny_world, tmp_path, monkeypatch):
    source = read_tracklets(tiny_world / "train")
    settings = GenerationSettings(**FAST)
    model = ModelInfo.from_pipeline(pipe, "weights")
    jobs = plan_jobs(source, settings, model)
    out = tmp_path / "gen"
    write_plan(out, jobs, settings, source, model)
    first = generate_shard(pipe, jobs, out, settings, Shard(0, 2))
    assert first.generated == [source.clips[0].name, source.clips[2].name]
    with pytest.raises(ValueError, match="2 of 4 clips are not generated yet"):
        clip_store.merge(out)
    second = generate_shard(pipe, jobs, out, settings, Shard(1, 2))
    assert second.generated == [source.clips[1].name, source.clips[3].name]
    assert [c.name for c in clip_store.merge(out).clips] == [c.name for c in source.clips]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_shards_cover_every_clip_exactly_once(count):
    items = list(range(37))
    owned = [i for k in range(count) for i in Shard(k, count).select(items)]
    assert sorted(owned) == items
    sizes = [len(Shard(k, count).select(items)) for k in range(count)]
    assert max(sizes) - min(sizes) <= 1


def test_bad_shard_flags_are_refused():
    with pytest.raises(ValueError, match=r"--shard must be in \[0, 1\]"):
        Shard(2, 2)
    with pytest.raises(ValueError, match="--num-shards must be >= 1"):
        Shard(0, 0)


class _Verifier:
    """Fails every attempt of instance ``stubborn``; passes the rest on the second attempt."""

    def __init__(self, stubborn: int):
        self.stubborn, self.seen = stubborn, {}

    def settings(self) -> dict:
        return {"fake": self.stubborn}

    def check(self, frames, labels) -> dict:
        n = self.seen[labels.name] = self.seen.get(labels.name, 0) + 1
        failed = [i.id for i in labels.instances if i.id == self.stubborn or n == 1]
        return {"passed": not failed, "failed_instances": failed}


def test_verify_retries_with_new_seeds_and_marks_instances_that_still_fail_as_ignore(pipe, tmp_path):
    clip = make_clip("two", T=3, width=64, height=64)
    data = TrackletDataset([clip], clip.categories)
    settings = GenerationSettings(**{**FAST, "max_retries": 2})
    labels = generate_dataset(pipe, data, tmp_path / "gen", settings, verifier=_Verifier(stubborn=9))
    assert [(i.id, i.iscrowd) for i in labels.clip("two").instances] == [(7, False), (9, True)]
    record = json.loads((tmp_path / "gen" / "manifest.jsonl").read_text())
    seeds = [a["seed"] for a in record["verification"]["attempts"]]
    assert seeds == [0, 1_000_003, 2_000_006] and record["seed"] == 2_000_006
    assert record["verification"]["passed"] is False and record["fingerprint"]["verify"] == {"fake": 9}
    ytvis = read_tracklets(tmp_path / "gen" / "ytvis.json")
    assert [i.iscrowd for i in ytvis.clips[0].instances] == [False, True]
    mot = read_tracklets(tmp_path / "gen" / "mot").clip("two")
    assert mot.instance(9).attributes["mot_conf"][mot.instance(9).present].tolist() == [0.0, 0.0]
    assert mot.instance(7).attributes["mot_conf"][mot.instance(7).present].tolist() == [1.0, 1.0, 1.0]


def test_other_tracklets_under_the_same_clip_names_are_regenerated(pipe, tiny_world, tmp_path, monkeypatch):
    source = read_tracklets(tiny_world / "val")
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, GenerationSettings(**FAST), model_identity="weights")
    moved = read_tracklets(tiny_world / "val")
    moved.clips[0].instances[0].boxes[0] += [1, 0, 1, 0]  # one box, one pixel
    model = ModelInfo.from_pipeline(pipe, "weights")
    report = generate_shard(pipe, plan_jobs(moved, GenerationSettings(**FAST), model), out, GenerationSettings(**FAST))
    assert report.generated == [moved.clips[0].name] and report.kept == 1
    assert [d.split(" ")[0] for d in report.regenerated[moved.clips[0].name]] == ["tracklets"]


def test_merge_removes_what_a_killed_merge_left_but_not_a_live_ones(pipe, tiny_world, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "gen"
    source = read_tracklets(tiny_world / "train")
    generate_dataset(pipe, source, out, GenerationSettings(**FAST))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = out / ".partial" / "merge" / f"{dead.stdout.strip()}.0badf00d" / "mot" / "val_00000"
    live = out / ".partial" / "merge" / f"{os.getpid()}.1234abcd"
    retired = out / ".partial" / "retired" / f"{dead.stdout.strip()}.feedbeef"
    for folder in (killed, live, retired):
        folder.mkdir(parents=True)
    clip_store.merge(out)
    assert not killed.parent.parent.exists() and not retired.exists()  # SIGKILL during a merge: gone next time
    assert live.is_dir()
