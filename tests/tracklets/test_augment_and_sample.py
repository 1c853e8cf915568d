"""``tracklets augment`` / ``tracklets sample``: exact ops, every output valid (hypothesis), fitted statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.pipelines.generation import GenerationSettings, ModelInfo, plan_jobs
from trackdiffusion.tracklets import Clip, Instance, TrackletDataset
from trackdiffusion.tracklets.augment import AUGMENTATIONS_FILE, OPS, augment_clip, augment_dataset, read_augmentations
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.phrases import read_split_phrases
from trackdiffusion.tracklets.sampling import describe, fit, sample

CATS = {1: "circle", 2: "square"}


def _clip(name="c", T=5, W=40, H=30, instances=None) -> Clip:
    if instances is None:
        boxes = np.array([[2 + 2 * t, 3, 12 + 2 * t, 13] for t in range(T)], float)
        other = np.array([[20, 10, 30, 25]] * T, float)
        instances = [Instance(1, 1, boxes, np.ones(T, bool)), Instance(4, 2, other, np.ones(T, bool))]
    return Clip(name, W, H, T, CATS, instances)


def test_flip_reverse_and_speed_are_exact():
    clip = _clip()
    rng = np.random.default_rng(0)
    flipped, _ = augment_clip(clip, ["flip"], rng, [])
    np.testing.assert_array_equal(flipped.instance(1).boxes[0], [28, 3, 38, 13])
    back, _ = augment_clip(clip, ["reverse"], rng, [])
    np.testing.assert_array_equal(back.instance(1).boxes[0], clip.instance(1).boxes[-1])
    fast, (record,) = augment_clip(clip, ["speed"], np.random.default_rng(3), [])
    f = record["factor"]
    assert fast.num_frames == len(np.arange(0, 4 + 1e-9, f))
    t = f  # new frame 1 sits at source time f: linear interpolation of x0 = 2 + 2 t
    assert fast.instance(1).boxes[1, 0] == pytest.approx(2 + 2 * t)


def test_paste_crowd_cross_and_exit():
    a, b = _clip("a"), _clip("b")
    pasted, (rec,) = augment_clip(a, ["paste"], np.random.default_rng(1), [a, b])
    assert rec["from_clip"] == "b" and [i.id for i in pasted.instances] == [1, 4, 5]
    assert pasted.instance(5).category_id == b.instance(rec["instance"]).category_id
    crowded, (rec,) = augment_clip(a, ["crowd"], np.random.default_rng(2), [])
    assert len(crowded) == 2 + len(rec["added"]) and len({i.id for i in crowded.instances}) == len(crowded)
    crossed, (rec,) = augment_clip(a, ["cross"], np.random.default_rng(0), [])
    moved, across = crossed.instance(rec["moved"]), crossed.instance(rec["across"])
    centre = lambda bx: (bx[:, :2] + bx[:, 2:]) / 2  # noqa: E731
    np.testing.assert_allclose(centre(moved.boxes)[2], centre(across.boxes)[2])  # they meet at T // 2
    behind = across if rec["front"] == moved.id else moved
    assert behind.visibility[2] < 1.0 and crossed.instance(rec["front"]).visibility.min() == 1.0
    gone, (rec,) = augment_clip(a, ["exit"], np.random.default_rng(5), [])
    inst = gone.instance(rec["instance"])
    assert not inst.present[rec["absent_frames"]].any() and inst.present[0] and inst.present[-1]


def test_augmentation_is_seeded_and_recorded():
    data = TrackletDataset([_clip("a"), _clip("b")], CATS, source="src")
    one, rec1 = augment_dataset(data, ["jitter", "paste"], 2, seed=7)
    two, rec2 = augment_dataset(data, ["jitter", "paste"], 3, seed=7)
    assert rec1 == {k: rec2[k] for k in rec1}  # more copies leave the earlier ones unchanged
    assert [c.name for c in one.clips] == ["a_aug0", "a_aug1", "b_aug0", "b_aug1"]
    assert rec1["a_aug0"][0] == {"source_clip": "a", "source": "src"} and rec1["a_aug0"][1]["op"] == "jitter"


@st.composite
def clips(draw):
    T = draw(st.integers(1, 6))
    W, H = draw(st.integers(8, 64)), draw(st.integers(8, 64))
    insts = []
    for iid in range(draw(st.integers(0, 4))):
        present = np.array(draw(st.lists(st.booleans(), min_size=T, max_size=T)))
        if not present.any():
            present[0] = True
        x0 = np.array(draw(st.lists(st.floats(0, W - 2), min_size=T, max_size=T)))
        y0 = np.array(draw(st.lists(st.floats(0, H - 2), min_size=T, max_size=T)))
        w = np.array(draw(st.lists(st.floats(1, W), min_size=T, max_size=T)))
        h = np.array(draw(st.lists(st.floats(1, H), min_size=T, max_size=T)))
        boxes = np.stack([x0, y0, np.minimum(x0 + w, W), np.minimum(y0 + h, H)], axis=1)
        boxes[~present] = np.nan
        insts.append(Instance(iid + 1, draw(st.sampled_from([1, 2])), boxes, present))
    return Clip("h", W, H, T, CATS, insts).validate()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clip=clips(), ops=st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4), seed=st.integers(0, 99))
def test_every_augmented_clip_is_valid(clip, ops, seed):
    other = _clip("other", T=3)
    out, records = augment_clip(clip, ops, np.random.default_rng(seed), [clip, other])
    assert out.problems() == [] and [r["op"] for r in records] == ops
    assert all(inst.present.any() for inst in out.instances)
    json.dumps(records)  # the records go to augmentations.json


def test_sampled_tracklets_follow_the_fitted_statistics(tiny_world):
    source = read_tracklets(tiny_world / "train")
    stats = fit(source)
    got = sample(stats, source.categories, 200, seed=1)
    assert all(c.problems() == [] for c in got.clips)
    assert sample(stats, source.categories, 3, seed=1).clips[0].instances[0].boxes.tolist() == \
        got.clips[0].instances[0].boxes.tolist()  # clip i depends on (seed, i) only
    multisets = {tuple(m) for m in stats.multisets}
    # an instance that starts outside the frame is dropped, so a sampled clip holds a sub-multiset
    assert all(any(set(tuple(sorted(got.categories[i.category_id] for i in c.instances))) <= set(m)
                   for m in multisets) for c in got.clips)
    theirs, mine = describe(source), describe(got)
    assert mine["box width (frame)"] == pytest.approx(theirs["box width (frame)"], rel=0.25)


def test_cli_writes_tracklets_captions_and_ops_generate_records(tiny_world, tmp_path):
    runner = CliRunner()
    aug = tmp_path / "aug"
    done = runner.invoke(app, ["tracklets", "augment", str(tiny_world / "val"), "--out", str(aug),
                               "--ops", "flip,exit", "--copies", "2"])
    assert done.exit_code == 0, done.output
    data = read_tracklets(aug)
    assert len(data) == 4 and json.loads((aug / "captions.json").read_text())[data.clips[0].name].startswith("a video")
    model = ModelInfo("x", "float32", (32, 32), 8, 16)
    job = plan_jobs(data, GenerationSettings(), model, augmentations=read_augmentations(aug))[0]
    assert [r.get("op") for r in job.source["augmentation"]] == [None, "flip", "exit"]
    smp = tmp_path / "smp"
    done = runner.invoke(app, ["tracklets", "sample", "--fit", str(tiny_world / "train"), "--out", str(smp),
                               "--clips", "5", "--to", "mot"])
    assert done.exit_code == 0, done.output
    assert len(read_tracklets(smp)) == 5 and "| objects per clip |" in (smp / "report.md").read_text()
    assert (smp / "statistics.png").is_file()


def test_augmented_objects_keep_their_appearance_phrases(tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "train")
    assert read_split_phrases(source, tiny_world / "train")  # synth writes one phrase per object
    aug = tmp_path / "aug"
    done = CliRunner().invoke(app, ["tracklets", "augment", str(tiny_world / "train"), "--out", str(aug),
                                    "--ops", "flip,paste,crowd"])
    assert done.exit_code == 0, done.output
    data = read_tracklets(aug)
    assert read_split_phrases(data, aug)
    records = json.loads((aug / AUGMENTATIONS_FILE).read_text())
    checked = 0
    for clip in data.clips:
        src_clip, (_, _, paste, crowd) = source.clip(records[clip.name][0]["source_clip"]), records[clip.name]
        phrase_of = {i.id: i.phrase for i in src_clip.instances}
        if paste.get("from_clip"):
            donor = source.clip(paste["from_clip"])
            phrase_of[paste["new_id"]] = next(i.phrase for i in donor.instances if i.id == paste["instance"])
        for added in crowd.get("added") or []:
            phrase_of[added["new_id"]] = phrase_of[added["copy_of"]]
        for inst in clip.instances:
            assert inst.phrase == phrase_of[inst.id] and inst.phrase, (clip.name, inst.id)
            checked += 1
    assert checked > sum(len(c.instances) for c in source.clips)  # pasted and crowd copies were checked too
