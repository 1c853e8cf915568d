"""Generation at data-set scale: every output is written, labels match the input geometry, resume."""

from __future__ import annotations

import json

import numpy as np

from trackdiffusion.pipelines import TrackDiffusionPipeline
from trackdiffusion.pipelines.generation import GenerationSettings, generate_dataset
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.video.io import read_mp4


def test_generate_writes_videos_overlays_and_labels(pipe, tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "val")
    out = tmp_path / "gen"
    settings = GenerationSettings(steps=2, guidance=2.0, seed=5, num_frames=4, width=32, height=32)
    generate_dataset(pipe, source, out, settings)
    for clip in source.clips:
        frames = sorted((out / "frames" / clip.name).glob("*.png"))
        assert len(frames) == 4
        assert read_mp4(out / "videos" / f"{clip.name}.mp4").shape[:3] == (4, 32, 32)
        assert (out / "overlays" / f"{clip.name}.gif").is_file()
    for path in ("cocovid.json", "ytvis.json", "captions.json", "contact_sheet.png", "generation.json"):
        assert (out / path).is_file(), path
    assert sorted(p.name for p in (out / "mot").iterdir()) == sorted(c.name for c in source.clips)
    assert json.loads((out / "generation.json").read_text())["settings"]["seed"] == 5

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


def test_generate_resumes_without_redoing_finished_clips(pipe, tiny_world, tmp_path, monkeypatch):
    source = read_tracklets(tiny_world / "val")
    settings = GenerationSettings(steps=2, guidance=1.0, num_frames=3, width=32, height=32)
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, settings)
    redo = out / "frames" / source.clips[1].name
    before = (redo / "000000.png").read_bytes()
    (redo / ".done").unlink()  # the job died while writing clip 1
    calls = []
    original = TrackDiffusionPipeline.__call__
    monkeypatch.setattr(TrackDiffusionPipeline, "__call__", lambda self, *a, **k: calls.append(k) or original(self, *a, **k))
    generate_dataset(pipe, source, out, settings)
    assert len(calls) == 1  # only the unfinished clip
    assert (redo / "000000.png").read_bytes() == before  # clip i's seed makes it reproducible
