"""YouTube-VIS reader, writer and results files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.tracklets.errors import FormatError, TrackletError
from trackdiffusion.tracklets.formats import (compare_datasets, read_tracklets, read_ytvis_results,
                                              write_tracklets, write_ytvis_results)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats" / "ytvis"


@pytest.fixture
def train():
    with pytest.warns(UserWarning) as caught:
        dataset = read_tracklets(FIXTURES / "train.json")
    messages = " | ".join(str(w.message) for w in caught)
    assert "no 'categories' table" in messages and "category_6" in messages
    return dataset


def test_reads_the_tfds_layout(train):
    assert [c.name for c in train] == ["0043f083b5", "00f88c4f0a"]  # from the file names' folder
    assert train.categories == {2: "category_2", 6: "category_6"}
    clip = train.clip("0043f083b5")
    assert (clip.width, clip.height, clip.num_frames, clip.video_id) == (1280, 720, 4, 1)
    assert clip.frame_names[1] == "0043f083b5/00005.jpg"
    first, second = clip.instances
    assert first.present.tolist() == [False, False, True, True]
    np.testing.assert_array_equal(first.boxes[2], [1153.0, 372.0, 1174.0, 426.0])
    assert first.boxes[3, 2] == 1285.0  # past the 1280 px border, as annotated
    assert np.isnan(first.boxes[0]).all()
    assert second.iscrowd and not first.iscrowd
    assert first.visibility is None and first.score is None


def test_round_trip_is_exact(train, tmp_path):
    write_tracklets(train, tmp_path / "out.json", "ytvis")
    again = read_tracklets(tmp_path / "out.json", "ytvis")
    assert compare_datasets(train, again) == []
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["annotations"][0]["segmentations"] == [None] * 4
    assert written["annotations"][0]["areas"][2] == 21.0 * 54.0


def test_a_directory_means_its_ytvis_json(train, tmp_path):
    train.clips[0].fps, train.clips[0].caption = 6.0, "two cars"
    write_tracklets(train, tmp_path, "ytvis")
    again = read_tracklets(tmp_path, "ytvis")
    assert compare_datasets(train, again) == []
    assert (tmp_path / "ytvis.json").is_file() and again.image_root == str(tmp_path)


def test_instance_ids_repeating_across_clips_are_renumbered(train, tmp_path):
    train.clips[1].instances[0].id = 1  # clip 0 has an instance 1 too
    write_tracklets(train, tmp_path / "out.json", "ytvis")
    ids = [a["id"] for a in json.loads((tmp_path / "out.json").read_text())["annotations"]]
    assert ids == [1, 2, 3]


def test_instance_id_zero_is_renumbered_for_the_reference_evaluator(train, tmp_path):
    train.clips[0].instances[0].id = 0  # ytvoseval would treat a match to annotation id 0 as no match
    write_tracklets(train, tmp_path / "out.json", "ytvis")
    ids = [a["id"] for a in json.loads((tmp_path / "out.json").read_text())["annotations"]]
    assert ids == [1, 2, 3]


def test_results_read_against_the_reference(train):
    results = read_ytvis_results(FIXTURES / "results.json", train)
    assert [c.name for c in results] == [c.name for c in train]
    clip = results.clip("0043f083b5")
    # the all-null result is skipped and does not use up an id
    assert [(i.id, i.category_id, i.track_score()) for i in clip.instances] == [(1, 6, 0.9), (2, 2, 0.35)]
    assert np.isnan(clip.instances[0].score[0]) and clip.instances[0].score[1] == 0.9
    assert clip.frame_names == train.clip("0043f083b5").frame_names


def test_results_round_trip(train, tmp_path):
    results = read_ytvis_results(FIXTURES / "results.json", train)
    write_ytvis_results(results, tmp_path / "r.json")
    assert compare_datasets(results, read_ytvis_results(tmp_path / "r.json", train)) == []


def test_ground_truth_written_as_results_scores_one(train, tmp_path):
    write_ytvis_results(train, tmp_path / "r.json")
    assert {r["score"] for r in json.loads((tmp_path / "r.json").read_text())} == {1.0}


def test_results_for_an_unknown_video_name_the_record(train, tmp_path):
    (tmp_path / "r.json").write_text(json.dumps([{"video_id": 9, "category_id": 6, "score": 1,
                                                  "bboxes": [None] * 4}]))
    with pytest.raises(TrackletError, match=r"r\.json\[0\]: video_id: no video with id 9"):
        read_ytvis_results(tmp_path / "r.json", train)


def test_mask_only_results_need_rle_masks(train, tmp_path):
    """Mask-only results (the official submission format) are read through their masks' boxes;
    a mask that is not RLE is named."""
    (tmp_path / "r.json").write_text(json.dumps([{"video_id": 1, "category_id": 6, "score": 1,
                                                  "segmentations": [None, [[1, 2, 3, 4]], None, None]}]))
    with pytest.raises(FormatError, match=r"r\.json\[0\]: segmentations\[1\]: expected an RLE mask"):
        read_ytvis_results(tmp_path / "r.json", train)
