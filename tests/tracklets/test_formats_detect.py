"""Format detection, the read/write entry points, the project's split layout and compare_datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.tracklets.errors import FormatError
from trackdiffusion.tracklets.formats import (FORMATS, compare_datasets, detect_format, read_tracklets,
                                              write_split, write_tracklets)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"


@pytest.mark.parametrize("path, expected", [
    ("ytvis/train.json", "ytvis"), ("cocovid/mot_style.json", "cocovid"), ("cocovid/image_only.json", "cocovid"),
    ("cocovid/tao.json", "cocovid"), ("bdd/video.json", "bdd"), ("bdd/old_layout.json", "bdd"), ("bdd", "bdd"),
    ("mot/train", "mot"), ("mot/train/MOT17-02-FRCNN", "mot"), ("mot/train/MOT17-02-FRCNN/gt/gt.txt", "mot"),
    ("got10k/train", "got10k"), ("got10k/train/GOT-10k_Train_000001", "got10k"),
    ("got10k/train/list.txt", "got10k"), ("got10k/train/GOT-10k_Train_000001/groundtruth.txt", "got10k"),
])
def test_detects_each_fixture(path, expected):
    assert detect_format(FIXTURES / path) == expected


def test_detects_a_got10k_split_without_list(tmp_path):
    shutil.copytree(FIXTURES / "got10k" / "train" / "GOT-10k_Train_000002", tmp_path / "GOT-10k_Train_000002")
    assert detect_format(tmp_path) == "got10k"
    assert [c.name for c in read_tracklets(tmp_path)] == ["GOT-10k_Train_000002"]


@pytest.mark.parametrize("content, message", [
    ([{"video_id": 1, "category_id": 1, "score": 0.5, "bboxes": []}], "YouTube-VIS results file"),
    ({"track_bboxes": []}, "mmtracking's raw results"),
    ({"annotations": []}, "neither 'images'"),
    ([], "neither 'images'"),
])
def test_refuses_json_that_is_not_a_tracklet_format(tmp_path, content, message):
    (tmp_path / "x.json").write_text(json.dumps(content))
    with pytest.raises(FormatError, match=message):
        detect_format(tmp_path / "x.json")


def test_refuses_missing_paths_and_unknown_folders(tmp_path):
    with pytest.raises(FormatError, match="no such file or folder"):
        detect_format(tmp_path / "nope")
    with pytest.raises(FormatError, match="cannot tell the format of this folder"):
        detect_format(tmp_path)


def test_a_world_folder_names_its_splits(tmp_path):
    (tmp_path / "world.json").write_text("{}")
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    with pytest.raises(FormatError) as err:
        read_tracklets(tmp_path)
    assert f"pass one of its split folders {tmp_path / 'train'}/, {tmp_path / 'val'}/" in str(err.value)


def test_split_layout_written_and_read_back(tmp_path):
    dataset = read_tracklets(FIXTURES / "cocovid" / "sot_style.json")
    for clip in dataset:
        clip.frame_names = [f"frames/{clip.name}/{t:06d}.png" for t in range(clip.num_frames)]
    write_split(dataset, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cocovid.json", "mot", "ytvis.json"]
    assert (tmp_path / "mot" / "airplane-1" / "gt" / "gt.txt").is_file()
    assert "imExt=.png" in (tmp_path / "mot" / "airplane-1" / "seqinfo.ini").read_text()
    again = read_tracklets(tmp_path)
    assert again.image_root == str(tmp_path) and compare_datasets(dataset, again) == []
    ytvis = read_tracklets(tmp_path / "ytvis.json")  # carries no attributes
    assert [c.frame_names for c in ytvis] == [c.frame_names for c in dataset]


def test_image_root_option_and_unknown_format(tmp_path):
    dataset = read_tracklets(FIXTURES / "bdd" / "old_layout.json", image_root=tmp_path)
    assert dataset.image_root == str(tmp_path)
    with pytest.raises(ValueError, match="unknown format 'coco'; known: cocovid, ytvis, mot, got10k, bdd"):
        write_tracklets(dataset, tmp_path / "x", "coco")
    assert set(FORMATS) == {"cocovid", "ytvis", "mot", "got10k", "bdd"}


# Frame size and derived category warnings are expected here and tested in the per-format files.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_format_converts_to_every_other_and_back(tmp_path):
    """Read a fixture, convert it through each format, and check each format's own round trip."""
    source = read_tracklets(FIXTURES / "cocovid" / "sot_style.json")
    for name in FORMATS:
        first = tmp_path / f"{name}-1.json" if name in ("cocovid", "ytvis", "bdd") else tmp_path / f"{name}-1"
        second = first.with_name(first.name.replace("-1", "-2"))
        options = {"width": 640, "height": 360} if name == "bdd" else {}
        write_tracklets(source, first, name)
        converted = read_tracklets(first, name, **options)
        assert len(converted) == len(source)
        write_tracklets(converted, second, name)
        assert compare_datasets(converted, read_tracklets(second, name, **options)) == [], name


def test_compare_datasets_names_each_difference():
    a = read_tracklets(FIXTURES / "cocovid" / "sot_style.json")
    b = read_tracklets(FIXTURES / "cocovid" / "sot_style.json")
    assert compare_datasets(a, b) == []
    b.clips[0].fps = 25.0
    inst = b.clips[1].instances[0]
    inst.boxes[1, 0] = np.nextafter(inst.boxes[1, 0], np.inf)  # one ulp
    inst.visibility = np.ones(2)
    del inst.attributes["out_of_view"]
    assert compare_datasets(a, b) == [
        "clip 'airplane-1': fps None != 25.0",
        "clip 'airplane-2': instance 2: attribute names ['full_occlusion', 'out_of_view'] != ['full_occlusion']",
        "clip 'airplane-2': instance 2: boxes differ in frames [1]",
        "clip 'airplane-2': instance 2: visibility: None != values",
    ]
    b.categories[5] = "x"
    b.clips.reverse()
    assert compare_datasets(a, b)[-1] == \
        "clip names differ: ['airplane-1', 'airplane-2'] != ['airplane-2', 'airplane-1']"
