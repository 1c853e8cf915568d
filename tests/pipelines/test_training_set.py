"""``mix``: real + verified generated clips as one data set our readers and pycocotools load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from trackdiffusion.pipelines.generation import GenerationSettings, generate_dataset
from trackdiffusion.pipelines.training_set import choose_count, mix, verified_clips
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.tracklets.loader import read_clip_frames


class _FailsClip:
    def __init__(self, name):
        self.name = name

    def settings(self):
        return {"fails": self.name}

    def check(self, frames, labels):
        bad = labels.name == self.name
        return {"passed": not bad, "failed_instances": [i.id for i in labels.instances] if bad else []}


@pytest.fixture
def generated(pipe, tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "train")
    out = tmp_path / "gen"
    generate_dataset(pipe, source, out, GenerationSettings(steps=2, guidance=1.0, num_frames=3, width=32, height=32),
                     verifier=_FailsClip(source.clips[1].name))
    return out


@pytest.mark.parametrize("layout", ["cocovid", "ytvis", "mot"])
def test_mix_writes_one_data_set_with_unique_ids_and_sources(generated, tiny_world, tmp_path, layout):
    real = read_tracklets(tiny_world / "val")
    gen = read_tracklets(generated)
    pool, skipped = verified_clips(gen, generated, require_verified=True)
    assert skipped == 1 and len(pool) == 3
    out = tmp_path / f"mix_{layout}"
    mix(real, pool[:2], generated, out, layout)
    back = read_tracklets(out if layout == "mot" else out / f"{layout}.json", image_root=out)
    names = [f"real_{c.name}" for c in real.clips] + [f"gen_{c.name}" for c in pool[:2]]
    assert sorted(c.name for c in back.clips) == sorted(names)  # MOT lists sequences by name
    back.clips = [back.clip(n) for n in names]
    sources = json.loads((out / "sources.json").read_text())
    assert [sources[n] for n in names] == ["real"] * 2 + ["generated"] * 2
    assert (out / "splits" / "generated.txt").read_text().split() == names[2:]
    if layout != "ytvis":  # YouTube-VIS numbers its annotations itself
        ids = [i.id for c in back.clips for i in c.instances]
        assert len(ids) == len(set(ids))
    for clip, want in zip(back.clips, [*real.clips, *pool[:2]]):
        src_root = real.image_root if clip.name.startswith("real_") else str(generated)
        np.testing.assert_array_equal(read_clip_frames(clip, out), read_clip_frames(want, src_root))
    if layout == "cocovid":
        coco = COCO(str(out / "cocovid.json"))
        assert len(coco.getImgIds()) == sum(c.num_frames for c in back.clips)
    if layout == "mot":
        assert sorted(p.name for p in (out / names[0] / "img1").iterdir())[0] == "000001.png"


def test_unverified_runs_are_refused_and_counts_are_checked(pipe, tiny_world, tmp_path):
    source = read_tracklets(tiny_world / "val")
    out = tmp_path / "plain"
    labels = generate_dataset(pipe, source, out, GenerationSettings(steps=2, guidance=1.0, num_frames=3,
                                                                    width=32, height=32))
    with pytest.raises(ValueError, match="generated without --verify"):
        verified_clips(labels, out, require_verified=True)
    assert len(verified_clips(labels, out, require_verified=False)[0]) == 2
    assert choose_count(10, 4, 0.5, None) == 2 and choose_count(10, 4, None, None) == 10
    with pytest.raises(ValueError, match="12 generated clips asked for, 10 available"):
        choose_count(10, 4, 3.0, None)


def test_generated_only_mix_keeps_the_generated_category_ids(generated, tmp_path):
    pool, _ = verified_clips(read_tracklets(generated), generated, require_verified=True)
    table = pool[0].categories
    late = max(table)  # a category whose first instance is not in the first clip must keep its id
    for clip in pool:
        clip.categories = table
    first = pool[0].copy()
    first.instances = [i for i in first.instances if i.category_id == min(i.category_id for i in first.instances)]
    out = mix(None, [first, *pool[1:]], generated, tmp_path / "mixed", "cocovid")
    assert out.categories == table and late in out.categories
    assert read_tracklets(tmp_path / "mixed" / "cocovid.json").categories == table
