"""Bad input: one test per class of problem, each naming the file, the record and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trackdiffusion.tracklets.errors import FormatError, TrackletError
from trackdiffusion.tracklets.formats import read_tracklets

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"


def cocovid(tmp_path: Path, edit) -> Path:
    """The sot_style fixture with ``edit(data)`` applied, written to ``tmp_path``."""
    data = json.loads((FIXTURES / "cocovid" / "sot_style.json").read_text())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


def mot_sequence(tmp_path: Path, rows: str, seq_length: int = 3) -> Path:
    seq = tmp_path / "SEQ"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text(rows)
    (seq / "seqinfo.ini").write_text(f"[Sequence]\nname=SEQ\nseqLength={seq_length}\nimWidth=100\nimHeight=50\n")
    return seq


def problems(path: Path, **options) -> str:
    with pytest.raises(TrackletError) as err:
        read_tracklets(path, **options)
    return str(err.value)


def test_non_finite_numbers(tmp_path):
    path = cocovid(tmp_path, lambda d: d["annotations"][1]["bbox"].__setitem__(2, float("nan")))
    assert "bad.json: annotations[1] (id=2): bbox: box [367.0, 101.0, nan, 117.0] has a non-finite" in problems(path)
    seq = mot_sequence(tmp_path, "1,1,10,10,inf,5,1,1,1\n")
    assert "gt.txt: line 1: x,y,w,h: box [10.0, 10.0, inf, 15.0] has a non-finite coordinate" in problems(seq)


def test_zero_or_negative_size(tmp_path):
    path = cocovid(tmp_path, lambda d: d["annotations"][2]["bbox"].__setitem__(3, 0))
    assert "bad.json: annotations[2] (id=3): bbox: box [368.0, 101.0, 409.0, 101.0] has zero or negative" \
        in problems(path)
    got = tmp_path / "got"
    shutil.copytree(FIXTURES / "got10k" / "train" / "GOT-10k_Train_000002", got)
    (got / "groundtruth.txt").write_text("1,1,-5,10\n1,1,100,100\n")
    assert "got/groundtruth.txt: line 1: x,y,w,h: box [1.0, 1.0, -4.0, 11.0] has zero or negative" in problems(got)


def test_box_entirely_outside_the_frame_is_kept(tmp_path):
    seq = mot_sequence(tmp_path, "1,1,10,10,5,5,1,1,1\n2,1,100,10,5,5,1,1,1\n")
    assert read_tracklets(seq)[0].instances[0].boxes[1].tolist() == [100.0, 10.0, 105.0, 15.0]


def test_duplicate_instance_in_a_frame(tmp_path):
    def duplicate(d):
        d["annotations"].append({**d["annotations"][0], "id": 99})
    text = problems(cocovid(tmp_path, duplicate))
    assert "bad.json: annotations[4] (id=99): duplicate box for instance 1 in frame 1 " \
           "(first at " in text and "annotations[0] (id=1))" in text


def test_unknown_category(tmp_path):
    path = cocovid(tmp_path, lambda d: d["annotations"][3].__setitem__("category_id", 7))
    assert "bad.json: annotations[3] (id=4): category_id: unknown category 7 (known: [0])" in problems(path)


def test_category_changing_within_a_track(tmp_path):
    seq = mot_sequence(tmp_path, "1,1,10,10,5,5,1,1,1\n2,1,10,10,5,5,1,3,1\n")
    assert "gt.txt: line 2: class: instance 1 changes category from 1 to 3" in problems(seq)


def test_frame_index_out_of_range(tmp_path):
    seq = mot_sequence(tmp_path, "4,1,10,10,5,5,1,1,1\n0,2,10,10,5,5,1,1,1\n")
    text = problems(seq)
    assert "gt.txt: line 1: frame: frame 4 out of range 1..3" in text
    assert "gt.txt: line 2: frame: frame 0 out of range 1..3" in text
    path = cocovid(tmp_path, lambda d: d["images"][0].__setitem__("frame_id", 2))
    assert "bad.json: images[0] (id=1): frame_id: frame index 2 out of range [0, 2)" in problems(path)
    ytvis = json.loads((FIXTURES / "ytvis" / "train.json").read_text())
    ytvis["annotations"][2]["bboxes"].append(None)
    (tmp_path / "y.json").write_text(json.dumps(ytvis))
    with pytest.warns(UserWarning):
        text = problems(tmp_path / "y.json")
    assert "y.json: annotations[2] (id=7): bboxes: 4 entries for a video of 3 frames" in text


def test_inconsistent_frame_sizes(tmp_path):
    path = cocovid(tmp_path, lambda d: d["images"][3].update(width=1280, height=720))
    text = problems(path)
    assert "bad.json: images[3] (id=4): width/height: frame size 1280x720 differs from the 640x360 of " in text
    assert text.endswith("bad.json: videos[1] (id=2)")
    path = cocovid(tmp_path, lambda d: d["videos"][0].update(width=320, height=180))
    assert problems(path).count("differs from the 320x180") == 2


def test_malformed_json(tmp_path):
    (tmp_path / "broken.json").write_text('{"videos": [\n  {"id": 1,,}\n]}')
    with pytest.raises(FormatError, match=r"broken\.json: line 2 column 12: malformed JSON"):
        read_tracklets(tmp_path / "broken.json", "ytvis")


def test_missing_key(tmp_path):
    path = cocovid(tmp_path, lambda d: d["annotations"][2].pop("bbox"))
    with pytest.raises(FormatError, match=r"bad\.json: annotations\[2\] \(id=3\): bbox: missing"):
        read_tracklets(path)
    path = cocovid(tmp_path, lambda d: d["images"][1].pop("frame_id"))
    with pytest.raises(FormatError, match=r"bad\.json: images\[1\] \(id=2\): frame_id: missing"):
        read_tracklets(path)


def test_wrong_type(tmp_path):
    path = cocovid(tmp_path, lambda d: d["annotations"][0].__setitem__("bbox", "367,101,41,16"))
    with pytest.raises(FormatError, match=r"annotations\[0\] \(id=1\): bbox: expected a list of numbers"):
        read_tracklets(path)
    seq = mot_sequence(tmp_path, "1,1,10,ten,5,5,1,1,1\n")
    with pytest.raises(FormatError, match=r"gt\.txt: line 1: column 4: 'ten' is not a number"):
        read_tracklets(seq)


def test_every_problem_is_reported_at_once(tmp_path):
    def break_twice(d):
        d["annotations"][0]["category_id"] = 5
        d["annotations"][3]["bbox"] = [10, 10, -10, 10]
    with pytest.raises(TrackletError) as err:
        read_tracklets(cocovid(tmp_path, break_twice))
    assert [p.location.split(": ", 1)[1] for p in err.value.problems] == [
        "categories", "annotations[0] (id=1): category_id", "annotations[3] (id=4): bbox"]


def test_partly_outside_boxes_are_kept_as_annotated(tmp_path, recwarn):
    seq = mot_sequence(tmp_path, "1,1,-3,10,5,5,1,1,1\n2,1,98,48,5,5,1,1,1\n3,1,10,10,5,5,1,1,1\n")
    dataset = read_tracklets(seq)
    assert dataset[0].instances[0].boxes[:2].tolist() == [[-3.0, 10.0, 2.0, 15.0], [98.0, 48.0, 103.0, 53.0]]
    assert len(recwarn) == 0


def test_mots_and_vot_polygons_are_refused_by_name(tmp_path):
    seq = mot_sequence(tmp_path, "1 2001 2 1080 1920 UkU\\\\l`0\n")
    assert "line 1: MOTS (frame id class height width RLE): segmentation masks are not supported" in problems(seq)
    vot = tmp_path / "vot"
    vot.mkdir()
    (vot / "groundtruth.txt").write_text("1,1,10,1,10,10,1,10\n")
    assert "groundtruth.txt: line 1: a VOT polygon (x1,y1,...,x4,y4)" in problems(vot, width=64, height=64)


def test_bad_text_bytes_folders_conf_columns_and_sizes_are_named(tmp_path):
    seq = mot_sequence(tmp_path, "1,1,10,10,5,5,1,1,1\n")
    (seq / "gt" / "gt.txt").write_bytes(b"1,1,10,10,5,5,1,1,1\n2,1,10,10,5,5,\xff,1,1\n")
    assert "SEQ/gt/gt.txt: line 2 (byte 34): not UTF-8 text" in problems(seq)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,5,5,nan,1,1\n2,1,10,10,5,5,1,1,1,-1,-1,-1\n")
    text = problems(seq)
    assert "line 1: conf: conf nan is not a finite number" in text and "line 2: 12 columns where line 1 has 9" in text
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SEQ\nseqLength=3\nimWidth=100000000000000000000\nimHeight=50\n"
                                     "frameRate=-8\n")
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,5,5,1,1,1\n")
    text = problems(seq)
    assert "frame size must be integers in 1..1048576" in text and "fps -8.0 is not a positive number" in text
    (tmp_path / "x.json").mkdir()
    assert "x.json: a folder, where a file is expected" in problems(tmp_path / "x.json", format="ytvis")


@pytest.mark.parametrize("row, value", [("1,1,1e300,10,20,5,1,1,1\n", "1e+300"),
                                        ("1,1,1e308,10,1e308,5,1,1,1\n", "1e+308")])
def test_a_coordinate_far_outside_any_frame_is_named(tmp_path, row, value):
    # x + w == x at 1e300 and x + w overflows to inf at 1e308: the coordinate is the problem, not the size
    text = problems(mot_sequence(tmp_path, row))
    assert f"gt.txt: line 1: x,y,w,h: box [{value}" in text
    assert f"coordinate {value} lies far outside any frame" in text and "width/height" not in text


def test_non_utf8_bytes_in_every_text_reader_name_file_and_line(tmp_path):
    from trackdiffusion.tracklets.formats import read_mot_results

    seq = mot_sequence(tmp_path, "1,1,10,10,5,5,1,1,1\n")
    truth = read_tracklets(seq)
    (tmp_path / "SEQ.txt").write_bytes(b"1,1,10,10,5,5,0.5,-1,-1,-1\n\xe9\n")
    with pytest.raises(TrackletError, match=r"SEQ\.txt: line 2 \(byte 27\): not UTF-8 text"):
        read_mot_results(tmp_path / "SEQ.txt", truth)
    (seq / "seqinfo.ini").write_bytes(b"[Sequence]\nname=S\xe9Q\nseqLength=3\n")
    assert "SEQ/seqinfo.ini: line 2 (byte 17): not UTF-8 text" in problems(seq)
    got = tmp_path / "got"
    shutil.copytree(FIXTURES / "got10k" / "train" / "GOT-10k_Train_000001", got)
    (got / "meta_info.ini").write_bytes((got / "meta_info.ini").read_bytes() + b"note: \xff\n")
    lines = (got / "meta_info.ini").read_bytes().count(b"\n")
    assert f"got/meta_info.ini: line {lines}" in problems(got, format="got10k")
