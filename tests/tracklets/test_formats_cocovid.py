"""CocoVID reader and writer, on the quirks of mmtracking's and TAO's published files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.tracklets.errors import TrackletError
from trackdiffusion.tracklets.formats import compare_datasets, read_tracklets, write_tracklets

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats" / "cocovid"


def round_trip(dataset, tmp_path: Path):
    write_tracklets(dataset, tmp_path / "out.json", "cocovid")
    again = read_tracklets(tmp_path / "out.json", "cocovid")
    assert compare_datasets(dataset, again) == []
    return again


def test_mot_style_fields():
    dataset = read_tracklets(FIXTURES / "mot_style.json")
    clip = dataset[0]
    assert (clip.name, clip.fps, clip.num_frames) == ("MOT17-09-DPM", 30.0, 3)
    walker, crowd = clip.instances
    assert walker.id == 0 and walker.present.tolist() == [True, False, True]
    assert walker.visibility[2] == 0.5
    assert walker.attributes["mot_instance_id"][0] == 1.0
    assert crowd.iscrowd and crowd.attributes["mot_conf"][0] == 0.0  # an ignore box stays an instance
    assert crowd.boxes[0, 2] == 2042.0  # reaching past the 1920 px frame, as annotated
    assert clip.frame_names[2] == "MOT17-09-DPM/img1/000003.jpg"


def test_mot_style_round_trip(tmp_path):
    dataset = read_tracklets(FIXTURES / "mot_style.json")
    round_trip(dataset, tmp_path)


def test_sizes_from_images_and_video_from_image(tmp_path):
    dataset = read_tracklets(FIXTURES / "sot_style.json")
    assert dataset.categories == {0: "0"}
    assert [(c.name, c.width, c.height) for c in dataset] == [("airplane-1", 640, 360), ("airplane-2", 640, 360)]
    inst = dataset[0].instances[0]
    np.testing.assert_array_equal(inst.boxes[:, 0], [367.0, 368.0])  # images listed out of frame order
    assert inst.attributes["out_of_view"].tolist() == [0.0, 1.0]
    assert dataset[0].frame_names == ["airplane-1/img/00000001.jpg", "airplane-1/img/00000002.jpg"]
    round_trip(dataset, tmp_path)


def test_image_only_file_reads_one_clip_per_image(tmp_path):
    dataset = read_tracklets(FIXTURES / "image_only.json")
    assert [(c.name, c.num_frames, c.video_id) for c in dataset] == [("image_1.jpg", 1, 0), ("image_2.jpg", 1, 1)]
    assert [i.id for i in dataset[0].instances] == [1, 2]  # instance_id, else the annotation id
    assert dataset[0].instances[1].iscrowd and dataset[0].instances[1].score[0] == 0.5
    again = round_trip(dataset, tmp_path)
    assert "videos" in json.loads((tmp_path / "out.json").read_text()) and len(again) == 2


def test_tao_missing_category_is_an_error_naming_the_annotation():
    with pytest.raises(TrackletError) as err:
        read_tracklets(FIXTURES / "tao.json")
    text = str(err.value)
    assert "tao.json: categories: table lacks ids [95]" in text
    assert "tao.json: annotations[1] (id=3): category_id: unknown category 95" in text


def test_tao_with_derived_categories(tmp_path):
    with pytest.warns(UserWarning, match=r"categories \[95\]"):
        dataset = read_tracklets(FIXTURES / "tao.json", derive_missing_categories=True)
    assert dataset.categories[95] == "category_95"
    clip = dataset[0]
    assert (clip.video_id, clip.name) == (0, "train/YFCC100M/v_f69ebe5b")
    assert [i.id for i in clip.instances] == [1, 3]  # track_id stands in for instance_id
    round_trip(dataset, tmp_path)


def test_project_layout_directory_sets_the_image_root(tmp_path):
    shutil.copy(FIXTURES / "sot_style.json", tmp_path / "cocovid.json")
    dataset = read_tracklets(tmp_path)
    assert dataset.image_root == str(tmp_path)
    assert read_tracklets(FIXTURES / "sot_style.json").image_root is None


def test_writer_numbers_ids_and_keeps_captions(tmp_path):
    dataset = read_tracklets(FIXTURES / "sot_style.json")
    dataset.clips[1].caption = "an airplane lands"
    write_tracklets(dataset, tmp_path, "cocovid")
    written = json.loads((tmp_path / "cocovid.json").read_text())
    assert [im["id"] for im in written["images"]] == [1, 2, 3, 4]
    assert written["annotations"][0]["bbox"] == [367.0, 101.0, 41.0, 16.0]
    assert written["videos"][1]["caption"] == "an airplane lands"
    assert compare_datasets(dataset, read_tracklets(tmp_path)) == []


def test_string_instance_ids_become_stable_integers_and_are_written_back(tmp_path):
    # bdd100k's own COCO export writes the Scalabel label ids as strings.
    data = json.loads((FIXTURES / "mot_style.json").read_text())
    for ann in data["annotations"]:
        ann["instance_id"] = {0: "00122062", 1: "a7"}.get(ann["instance_id"], str(ann["instance_id"]))
    (tmp_path / "strings.json").write_text(json.dumps(data))
    dataset = read_tracklets(tmp_path / "strings.json")
    assert [i.id for i in dataset[0].instances] == [122062, 122063]  # "a7": the next free integer
    write_tracklets(dataset, tmp_path / "out.json", "cocovid")
    written = json.loads((tmp_path / "out.json").read_text())["annotations"]
    assert sorted({a["instance_id"] for a in written}) == ["00122062", "a7"]
