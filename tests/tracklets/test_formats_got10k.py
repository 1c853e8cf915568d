"""GOT-10k reader and writer."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.tracklets.clip import Clip, Instance
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.errors import TrackletError
from trackdiffusion.tracklets.formats import compare_datasets, read_tracklets, write_tracklets

SPLIT = Path(__file__).parents[1] / "fixtures" / "formats" / "got10k" / "train"


def test_reads_labels_and_meta_info():
    dataset = read_tracklets(SPLIT)
    assert dataset.categories == {1: "ichneumon", 2: "goat"}
    clip = dataset.clip("GOT-10k_Train_000001")
    assert (clip.width, clip.height, clip.num_frames, clip.fps) == (1920, 1080, 4, 10.0)
    assert clip.frame_names[3] == "GOT-10k_Train_000001/00000004.jpg" and dataset.image_root == str(SPLIT)
    (inst,) = clip.instances
    assert (inst.id, inst.category_id) == (1, 1)
    assert inst.present.tolist() == [True, True, False, True]  # absence.label
    assert inst.visibility[[0, 1, 3]].tolist() == [1.0, 5 / 8, 3 / 8]  # cover / 8
    assert inst.attributes["cut_by_image"][1] == 1.0
    np.testing.assert_array_equal(inst.boxes[1], [342.5, 443.0, 777.5, 713.0])
    assert dataset.info["got10k_meta"]["GOT-10k_Train_000001"]["motion_class"] == "walking"


def test_round_trip_restores_meta_info(tmp_path):
    dataset = read_tracklets(SPLIT)
    write_tracklets(dataset, tmp_path, "got10k")
    assert compare_datasets(dataset, read_tracklets(tmp_path)) == []
    seq = tmp_path / "GOT-10k_Train_000001"
    assert (seq / "meta_info.ini").read_text() == (SPLIT / "GOT-10k_Train_000001" / "meta_info.ini").read_text()
    assert (seq / "groundtruth.txt").read_text().splitlines()[2] == "0,0,0,0"  # absent frame
    assert (seq / "cover.label").read_text() == "8\n5\n0\n3\n"
    assert not (tmp_path / "GOT-10k_Train_000002" / "cut_by_image.label").exists()
    assert (tmp_path / "list.txt").read_text() == "GOT-10k_Train_000001\nGOT-10k_Train_000002\n"


def test_missing_resolution_needs_a_size(tmp_path):
    shutil.copytree(SPLIT / "GOT-10k_Train_000002", tmp_path / "seq")
    (tmp_path / "seq" / "meta_info.ini").unlink()
    with pytest.raises(TrackletError, match=r"seq/meta_info\.ini: \[METAINFO\]: resolution: missing"):
        read_tracklets(tmp_path / "seq")
    dataset = read_tracklets(tmp_path / "seq", width=320, height=240)
    assert (dataset[0].width, dataset.categories) == (320, {1: "object"})


def test_list_naming_a_missing_sequence(tmp_path):
    shutil.copytree(SPLIT, tmp_path / "train")
    (tmp_path / "train" / "list.txt").write_text("GOT-10k_Train_000001\nGOT-10k_Train_000009\n")
    with pytest.raises(TrackletError, match=r"list\.txt: lists 'GOT-10k_Train_000009'"):
        read_tracklets(tmp_path / "train")


def test_label_count_must_match_the_frames(tmp_path):
    shutil.copytree(SPLIT / "GOT-10k_Train_000002", tmp_path / "seq")
    (tmp_path / "seq" / "cover.label").write_text("7\n9\n3\n")
    with pytest.raises(TrackletError) as err:
        read_tracklets(tmp_path / "seq")
    assert "cover.label: line 2: '9' is not an integer in 0..8" in str(err.value)


def test_multi_object_clips_become_one_sequence_per_instance(tmp_path):
    T = 3
    box = np.tile([1.0, 2.0, 11.0, 12.0], (T, 1))
    clip = Clip("cars", 64, 48, T, {1: "car"}, [
        Instance(4, 1, box.copy(), np.ones(T, bool)), Instance(9, 1, box.copy(), np.ones(T, bool))])
    empty = Clip("nothing", 64, 48, T, clip.categories)
    write_tracklets(TrackletDataset([clip, empty], clip.categories), tmp_path, "got10k")
    assert (tmp_path / "list.txt").read_text().split() == ["cars_4", "cars_9", "nothing"]
    again = read_tracklets(tmp_path)
    assert [(c.name, len(c.instances)) for c in again] == [("cars_4", 1), ("cars_9", 1), ("nothing", 0)]
    assert (tmp_path / "nothing" / "absence.label").read_text() == "1\n1\n1\n"


def test_lasot_root_category_folders_and_occlusion_flags():
    root = Path(__file__).parents[1] / "fixtures" / "formats" / "lasot"
    dataset = read_tracklets(root, width=1280, height=720)
    assert [c.name for c in dataset] == ["airplane-1", "coin-4"]
    assert sorted(dataset.categories.values()) == ["airplane", "coin"]
    plane = dataset.clip("airplane-1")
    assert dataset.categories[plane.instances[0].category_id] == "airplane"
    assert plane.frame_names[0] == "airplane/airplane-1/img/00000001.jpg"
    inst = plane.instances[0]
    assert inst.present.all() and inst.visibility.tolist() == [1.0, 0.0, 0.0]  # LaSOT keeps the boxes
    assert inst.attributes["out_of_view"].tolist() == [0.0, 0.0, 1.0]
    assert dataset.clip("coin-4").instances[0].visibility is None
