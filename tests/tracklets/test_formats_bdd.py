"""BDD100K (Scalabel) box-track reader and writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackdiffusion.tracklets.errors import TrackletError
from trackdiffusion.tracklets.formats import compare_datasets, read_tracklets, write_tracklets
from trackdiffusion.tracklets.formats.bdd import BDD_CATEGORIES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats" / "bdd"


@pytest.fixture
def video():
    with pytest.warns(UserWarning, match=r"outside BDD100K's table got ids after it: \['person'\]"):
        return read_tracklets(FIXTURES / "video.json")


def test_reads_scalabel_frames(video):
    clip = video[0]
    assert (clip.name, clip.width, clip.height, clip.num_frames) == ("b1c66a42-6f7d68ca", 1280, 720, 3)
    assert clip.frame_names[1] == "b1c66a42-6f7d68ca-0000002.jpg"  # the labels: null frame counts
    car, ignored, person = clip.instances
    assert (car.id, ignored.id, person.id) == (122062, 122063, 122064)  # "ped-a" gets the next free id
    assert video.categories[car.category_id] == "car" and video.categories[ignored.category_id] == "other person"
    assert video.categories[person.category_id] == "person" and person.category_id == 12
    assert car.present.tolist() == [True, False, True]
    assert car.boxes[0].tolist() == [0.0, 346.55482900742646, 75.41276162779963, 407.4496307987563]
    assert ignored.attributes["occluded"][0] == 1.0 and ignored.iscrowd  # "Occluded", "crowd"
    assert car.attributes["truncated"].tolist()[0] == 1.0
    assert video.info["bdd_ids"]["b1c66a42-6f7d68ca"][122064] == "ped-a"


def test_round_trip_restores_string_ids(video, tmp_path):
    write_tracklets(video, tmp_path / "out.json", "bdd")
    frames = json.loads((tmp_path / "out.json").read_text())
    assert [label["id"] for label in frames[2]["labels"]] == ["00122062", "ped-a"]
    assert frames[0]["labels"][1]["attributes"] == {"crowd": True, "occluded": True, "truncated": False}
    assert frames[1]["labels"] == []
    with pytest.warns(UserWarning):
        assert compare_datasets(video, read_tracklets(tmp_path / "out.json")) == []


def test_older_layout_and_several_videos(tmp_path):
    dataset = read_tracklets(FIXTURES / "old_layout.json")
    assert [(c.name, c.num_frames, len(c.instances)) for c in dataset] == [("v1", 2, 1), ("v2", 1, 0)]
    assert dataset[0].instances[0].attributes["occluded"].tolist() == [0.0, 1.0]
    assert dataset.categories == BDD_CATEGORIES
    write_tracklets(dataset, tmp_path, "bdd")  # a folder: one file per video
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.json", "v2.json"]
    assert compare_datasets(dataset, read_tracklets(tmp_path)) == []


def test_other_sizes_are_written_in_scalabels_layout_with_the_image_size(tmp_path, recwarn):
    dataset = read_tracklets(FIXTURES / "old_layout.json", width=640, height=480)
    assert (dataset[0].width, dataset[0].height) == (640, 480)
    write_tracklets(dataset, tmp_path / "out.json", "bdd")
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["config"] == {"imageSize": {"width": 640, "height": 480}} and len(recwarn) == 0
    again = read_tracklets(tmp_path / "out.json")  # the size comes from the file now
    assert compare_datasets(dataset, again) == []


def test_scalabel_frames_and_config_layout_and_its_image_size(tmp_path):
    frames = json.loads((FIXTURES / "old_layout.json").read_text())
    (tmp_path / "kitti.json").write_text(json.dumps({"frames": frames, "config": {
        "imageSize": {"width": 1242, "height": 375}, "categories": [{"name": "car"}]}}))
    dataset = read_tracklets(tmp_path / "kitti.json")
    assert {(c.width, c.height) for c in dataset} == {(1242, 375)}
    assert compare_datasets(read_tracklets(FIXTURES / "old_layout.json", width=1242, height=375), dataset) == []


def test_older_release_list_of_per_video_lists(tmp_path):
    frames = json.loads((FIXTURES / "old_layout.json").read_text())
    by_video = {}
    for frame in frames:
        by_video.setdefault(frame["video_name"], []).append(frame)
    (tmp_path / "nested.json").write_text(json.dumps(list(by_video.values())))
    assert compare_datasets(read_tracklets(FIXTURES / "old_layout.json"), read_tracklets(tmp_path / "nested.json")) == []


def test_explicit_categories_reject_other_names():
    with pytest.raises(TrackletError) as err:
        read_tracklets(FIXTURES / "video.json", categories=BDD_CATEGORIES)
    assert "video.json[2]: labels[1] (id=ped-a): category: unknown category 'person'" in str(err.value)


def test_a_stray_frame_index_does_not_make_a_clip_of_a_million_frames(tmp_path):
    frames = [{"name": f"v-{t + 1:07d}.jpg", "videoName": "v", "frameIndex": t, "labels": []} for t in range(3)]
    frames[2]["frameIndex"] = 10**6
    (tmp_path / "bad.json").write_text(json.dumps(frames))
    with pytest.raises(TrackletError) as err:
        read_tracklets(tmp_path / "bad.json", "bdd")
    assert f"{tmp_path / 'bad.json'}[2]: frameIndex: frame index 1000000 of video 'v' would make a clip of " \
           "1000001 frames for 3 listed frame(s)" in str(err.value)
    frames[2]["frameIndex"] = 900  # a short excerpt that starts late is fine
    (tmp_path / "late.json").write_text(json.dumps(frames))
    assert read_tracklets(tmp_path / "late.json", "bdd")[0].num_frames == 901
