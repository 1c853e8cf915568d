"""MOTChallenge reader and writer (MOT15 and MOT17 layouts) and tracker results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.tracklets.errors import TrackletError
from trackdiffusion.tracklets.formats import (compare_datasets, read_mot_results, read_tracklets, write_mot_results,
                                              write_tracklets)
from trackdiffusion.tracklets.formats.mot import MOT_CLASSES

SPLIT = Path(__file__).parents[1] / "fixtures" / "formats" / "mot" / "train"


@pytest.fixture
def split():
    return read_tracklets(SPLIT, width=640, height=480)


def test_trimmed_seqinfo_needs_a_size_and_names_the_field():
    with pytest.raises(TrackletError) as err:
        read_tracklets(SPLIT / "TUD-Stadtmitte")
    assert str(err.value).count("TUD-Stadtmitte/seqinfo.ini: [Sequence]: im") == 2
    assert "imWidth: missing; pass width= and height=" in str(err.value)


def test_mot17_sequence(split):
    assert [c.name for c in split] == ["MOT17-02-FRCNN", "TUD-Stadtmitte"]  # results/ is skipped
    clip = split.clip("MOT17-02-FRCNN")
    assert (clip.width, clip.height, clip.num_frames, clip.fps) == (1920, 1080, 6, 30.0)  # seqinfo beats width=
    assert clip.frame_names[0] == "MOT17-02-FRCNN/img1/000001.jpg"
    assert split.image_root == str(SPLIT)
    static, walker, occluder = clip.instances
    assert (static.category_id, walker.category_id, occluder.category_id) == (7, 1, 9)
    assert static.attributes["mot_conf"][:2].tolist() == [0.0, 0.0]  # ignore rows are kept, marked
    assert walker.present.tolist() == [True, True, False, True, False, False]
    assert walker.visibility[3] == 0.0
    np.testing.assert_array_equal(walker.boxes[0], [1338.0, 418.0, 1505.0, 797.0])
    assert occluder.boxes[0, 1] == -1.0  # bb_top = -1 kept as annotated
    assert split.categories == MOT_CLASSES


def test_mot15_world_coordinates(split):
    clip = split.clip("TUD-Stadtmitte")
    first, second = clip.instances
    assert (clip.width, clip.num_frames, clip.fps) == (640, 3, None)
    assert first.category_id == 1 and first.visibility is None
    assert first.attributes["world_x"][:2].tolist() == [4.4852, 4.4091]
    assert np.isnan(second.attributes["world_x"][0])  # -1,-1,-1 means unknown
    assert first.boxes[0, 2] == 88 + 61.08


def test_round_trip_and_seqinfo(split, tmp_path):
    write_tracklets(split, tmp_path, "mot")
    assert compare_datasets(split, read_tracklets(tmp_path, "mot")) == []
    ini = (tmp_path / "TUD-Stadtmitte" / "seqinfo.ini").read_text()
    assert ini == ("[Sequence]\nname=TUD-Stadtmitte\nimDir=img1\nseqLength=3\nimWidth=640\nimHeight=480\n"
                   "imExt=.jpg\n")  # no frameRate: the fps is unknown
    assert "frameRate=30\n" in (tmp_path / "MOT17-02-FRCNN" / "seqinfo.ini").read_text()
    rows = (tmp_path / "MOT17-02-FRCNN" / "gt" / "gt.txt").read_text().splitlines()
    assert rows[:2] == ["1,1,912,484,97,109,0,7,1", "1,2,1338,418,167,379,1,1,0.86"]
    assert (tmp_path / "TUD-Stadtmitte" / "gt" / "gt.txt").read_text().startswith("1,1,88,99,61.08,218.56,1,4.4852")


def test_single_gt_file(tmp_path):
    dataset = read_tracklets(SPLIT / "TUD-Stadtmitte" / "gt" / "gt.txt", width=640, height=480)
    assert [c.name for c in dataset] == ["TUD-Stadtmitte"]


def test_other_class_ids_are_named_and_kept(split, tmp_path):
    split.clip("TUD-Stadtmitte").instances[0].category_id = 1
    split.categories[40] = "forklift"
    split.clip("TUD-Stadtmitte").instances[1].category_id = 40
    split.clip("TUD-Stadtmitte").instances[1].attributes.clear()  # 9 columns: the class is written
    split.clip("TUD-Stadtmitte").instances[0].attributes.clear()
    write_tracklets(split, tmp_path, "mot")
    again = read_tracklets(tmp_path, "mot")  # the category table beside the sequences keeps the names
    assert again.categories == split.categories and again.info["mot_classes"] == "own"
    assert (tmp_path / "classes.txt").read_text().splitlines()[-2:] == ["13,crowd", "40,forklift"]
    (tmp_path / "classes.txt").unlink()
    with pytest.warns(UserWarning, match=r"class_<id>: \[40\]"):
        again = read_tracklets(tmp_path, "mot")
    assert again.categories[40] == "class_40" and again.info["mot_classes"] == "motchallenge"
    with pytest.raises(TrackletError, match=r"gt\.txt: line 2: class: unknown category 40"):
        read_tracklets(tmp_path, "mot", categories=MOT_CLASSES)


def test_clip_names_with_slashes_become_one_folder(split, tmp_path):
    split.clips[0].name = "a/b"
    write_tracklets(split, tmp_path, "mot")
    assert (tmp_path / "a_b" / "gt" / "gt.txt").is_file()
    assert sorted(c.name for c in read_tracklets(tmp_path, "mot")) == ["TUD-Stadtmitte", "a/b"]


def test_results_conf_is_the_score(split):
    results = read_mot_results(SPLIT / "results", split)
    assert [c.name for c in results] == ["MOT17-02-FRCNN", "TUD-Stadtmitte"]
    tracked = results.clip("MOT17-02-FRCNN")
    assert [(i.id, i.track_score()) for i in tracked.instances] == [(1, pytest.approx(0.87)), (5, 0.4)]
    assert all(i.score is None for i in results.clip("TUD-Stadtmitte").instances)  # conf -1: no score
    assert "mot_conf" not in tracked.instances[0].attributes


def test_results_round_trip_and_layout(split, tmp_path):
    results = read_mot_results(SPLIT / "results", split)
    write_mot_results(results, tmp_path)
    assert (tmp_path / "TUD-Stadtmitte.txt").read_text().splitlines()[0] == \
        "1,3,113.84,274.5,57.307,130.05,-1,-1,-1,-1"
    assert compare_datasets(results, read_mot_results(tmp_path, split)) == []


def test_one_results_file_and_unknown_sequences(split, tmp_path):
    one = read_mot_results(SPLIT / "results" / "TUD-Stadtmitte.txt", split)
    assert [c.name for c in one] == ["TUD-Stadtmitte"]
    (tmp_path / "MOT17-99.txt").write_text("1,1,1,1,5,5,1,-1,-1,-1\n")
    with pytest.raises(TrackletError, match=r"MOT17-99\.txt: no clip named 'MOT17-99'"):
        read_mot_results(tmp_path, split)


def test_category_names_survive_bdd_to_mot_to_bdd(tmp_path):
    bdd = read_tracklets(Path(__file__).parents[1] / "fixtures" / "benchmarks" / "bdd100k" / "b1c66a42-6f7d68ca.json")
    write_tracklets(bdd, tmp_path / "mot", "mot")
    again = read_tracklets(tmp_path / "mot")
    assert again.categories == bdd.categories  # rider stays rider, not MOTChallenge's person_on_vehicle
    write_tracklets(again, tmp_path / "back.json", "bdd")
    back = read_tracklets(tmp_path / "back.json")
    def names(d):
        return [(i.id, d.categories[i.category_id]) for i in d[0].instances]
    assert back.categories == bdd.categories and names(back) == names(bdd)
    assert sorted({name for _, name in names(back)}) == ["car", "motorcycle", "rider", "truck"]


def test_class_table_errors_name_the_line(tmp_path, split):
    write_tracklets(split, tmp_path, "mot")
    (tmp_path / "classes.txt").write_text("1,pedestrian\nx,car\n")
    with pytest.raises(Exception, match=r"classes\.txt: line 2: expected '<integer id>,<name>', got 'x,car'"):
        read_tracklets(tmp_path, "mot")


def test_category_names_survive_ovis_to_mot_to_ytvis(tmp_path):
    import json

    ovis = {"categories": [{"id": 19, "name": "Fish"}, {"id": 1, "name": "Person"}],
            "videos": [{"id": 1, "width": 64, "height": 48, "length": 2, "file_names": ["v/0.jpg", "v/1.jpg"]}],
            "annotations": [{"id": 1, "video_id": 1, "category_id": 19, "iscrowd": 0,
                             "bboxes": [[1, 2, 10, 10], [2, 2, 10, 10]], "areas": [100, 100]}]}
    (tmp_path / "ovis.json").write_text(json.dumps(ovis))
    data = read_tracklets(tmp_path / "ovis.json")
    write_tracklets(data, tmp_path / "mot", "mot")
    write_tracklets(read_tracklets(tmp_path / "mot"), tmp_path / "back.json", "ytvis")
    back = read_tracklets(tmp_path / "back.json")
    assert back.categories == {19: "Fish", 1: "Person"} and back[0].instances[0].category_id == 19


def test_a_sequence_without_ground_truth_is_named_not_blamed_on_the_predictions(tmp_path):
    for name in ("S1", "S2"):
        (tmp_path / "gt" / name / "gt").mkdir(parents=True)
        (tmp_path / "gt" / name / "seqinfo.ini").write_text(
            f"[Sequence]\nname={name}\nseqLength=3\nimWidth=100\nimHeight=100\n")
        (tmp_path / "res").mkdir(exist_ok=True)
        (tmp_path / "res" / f"{name}.txt").write_text("1,1,10,10,20,20,0.9,-1,-1,-1\n")
    (tmp_path / "gt" / "S1" / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n")
    (tmp_path / "gt" / "S2" / "gt" / "gt.tx").write_text("1,1,10,10,20,20,1,1,1\n")  # misnamed
    with pytest.warns(UserWarning, match=r"gt: skipped sequence folder\(s\) without ground truth: S2 \(no gt/gt.txt\)"):
        truth = read_tracklets(tmp_path / "gt")
    assert [c.name for c in truth.clips] == ["S1"]
    with pytest.raises(TrackletError) as err:
        read_mot_results(tmp_path / "res", truth)
    assert "S2.txt: no clip named 'S2' in the reference: its ground-truth sequence folder was skipped " \
           "(no gt/gt.txt)" in str(err.value)
