"""``trackdiffusion evaluate ...`` through typer's CliRunner, including the report JSON schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trackdiffusion.cli.main import app
from trackdiffusion.evaluation.i3d import InceptionI3d
from trackdiffusion.evaluation.trackap import SUMMARY
from trackdiffusion.tracklets.clip import Clip, Instance
from trackdiffusion.tracklets.dataset import TrackletDataset
from trackdiffusion.tracklets.formats import write_mot_results, write_tracklets, write_ytvis_results
from trackdiffusion.video.io import write_png_frames

runner = CliRunner()
CATS = {1: "person", 2: "car"}


def _instance(inst_id, boxes, score=None, category=1):
    boxes = np.asarray(boxes, dtype=np.float64)
    return Instance(id=inst_id, category_id=category, boxes=boxes, present=np.ones(len(boxes), bool),
                    score=None if score is None else np.full(len(boxes), score))


def _data(scored: bool) -> TrackletDataset:
    left = [[10 + 5 * t, 10, 60 + 5 * t, 110] for t in range(5)]
    right = [[300 - 5 * t, 20, 360 - 5 * t, 140] for t in range(5)]
    s = 0.9 if scored else None
    clip = Clip("walk", 640, 480, 5, CATS, [_instance(1, left, s), _instance(2, right, s, category=2)])
    return TrackletDataset([clip], CATS)


@pytest.fixture()
def files(tmp_path):
    write_tracklets(_data(False), tmp_path / "gt.json", "ytvis")
    write_ytvis_results(_data(True), tmp_path / "results.json")
    write_mot_results(_data(True), tmp_path / "tracker")
    return tmp_path


def _schema(path, metric, columns):
    doc = json.loads(path.read_text())
    assert set(doc) == {"schema", "version", "metric", "title", "units", "settings", "columns", "rows"}
    assert doc["schema"] == "trackdiffusion.evaluation.report" and doc["version"] == 1
    assert doc["metric"] == metric and doc["columns"] == columns
    for row in doc["rows"]:
        assert set(row) == {"name", "values"} and list(row["values"]) == columns
    return doc


def test_evaluate_alone_prints_help():
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 0
    for name in ("trackap", "sot", "hota", "fvd"):
        assert name in result.output


def test_trackap_prints_and_writes_the_report(files):
    out = files / "report"
    result = runner.invoke(app, ["evaluate", "trackap", "--gt", str(files / "gt.json"),
                                 "--pred", str(files / "results.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| all | 100.00 | 100.00 |" in result.output
    doc = _schema(out / "trackap.json", "trackap", list(SUMMARY))
    assert doc["rows"][0]["values"]["AP"] == pytest.approx(100.0)
    assert doc["rows"][0]["values"]["AP_l"] == -1.0  # no large objects: the reference's marker
    assert (out / "trackap.md").read_text().startswith("## TrackAP")


def test_trackap_refuses_our_own_unscored_mot_results_naming_file_and_clip(files):
    write_mot_results(_data(False), files / "unscored")  # conf -1: the tracks had no scores
    result = runner.invoke(app, ["evaluate", "trackap", "--gt", str(files / "gt.json"),
                                 "--pred", str(files / "unscored")])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"{files / 'unscored'}: tracks without a score (clip 'walk': instance(s) 1, 2)" in message
    assert "conf -1" in message and "evaluate hota" in message


def test_sot_with_tracker_results_folder(files):
    out = files / "report"
    result = runner.invoke(app, ["evaluate", "sot", "--gt", str(files / "gt.json"),
                                 "--pred", str(files / "tracker"), "--per-sequence", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = _schema(out / "sot.json", "sot", ["success", "precision", "norm_precision", "AO", "SR0.5",
                                            "SR0.75", "sequences", "frames"])
    rows = {r["name"]: r["values"] for r in doc["rows"]}
    assert set(rows) == {"overall", "walk/1", "walk/2"}
    assert rows["overall"]["precision"] == 100.0 and rows["overall"]["sequences"] == 2


def test_hota_with_a_category_filter(files):
    out = files / "report"
    # a YouTube-VIS results file keeps categories (MOT tracker rows have no class)
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(files / "gt.json"),
                                 "--pred", str(files / "results.json"), "--category", "person", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "hota.json").read_text())
    values = doc["rows"][0]["values"]
    assert values["HOTA"] == pytest.approx(100.0) and values["IDSW"] == 0
    assert doc["settings"]["categories"] == "person"


def test_bad_input_is_an_error_message_not_a_traceback(files):
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(files / "gt.json"),
                                 "--pred", str(files / "tracker"), "--category", "unicorn"])
    assert result.exit_code == 1
    assert "unknown category name 'unicorn'" in result.output


def _video_dir(root, value):
    for i in range(2):
        write_png_frames(np.full((9, 16, 16, 3), value + i, np.uint8), root / f"clip{i}")
    return root


@pytest.fixture()
def one_thread():
    """Tiny I3D inputs: on a shared 2-core machine, thread hand-offs cost more than the work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_fvd_refuses_without_weights_and_runs_with_them(tmp_path, one_thread):
    real, gen = _video_dir(tmp_path / "real", 0), _video_dir(tmp_path / "gen", 200)
    result = runner.invoke(app, ["evaluate", "fvd", "--real", str(real), "--generated", str(gen)])
    assert result.exit_code == 1 and "--i3d-weights FILE" in result.output
    torch.manual_seed(0)
    torch.save(InceptionI3d(num_classes=8).state_dict(), tmp_path / "i3d.pt")  # small head: fast sqrtm
    result = runner.invoke(app, ["evaluate", "fvd", "--real", str(real), "--generated", str(gen),
                                 "--i3d-weights", str(tmp_path / "i3d.pt"), "--clip-length", "9",
                                 "--resolution", "32", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "(2 real vs 2 generated clips, 9 frames at 32x32)" in result.output
    doc = _schema(tmp_path / "out/fvd.json", "fvd", ["FVD", "real_clips", "generated_clips", "clip_length",
                                                      "resolution"])
    assert doc["rows"][0]["values"]["resolution"] == 32 and doc["rows"][0]["values"]["FVD"] > 0


BENCH = Path(__file__).parents[1] / "fixtures" / "benchmarks"


def test_hota_on_mot_ground_truth_uses_the_motchallenge_protocol_and_folder_names(tmp_path):
    # HT21 style: the folder is HT21-01, its seqinfo.ini says name=HT-01; TrackEval goes by the folder.
    seq = tmp_path / "gt" / "HT21-01"
    shutil.copytree(BENCH / "mot17" / "MOT17-02-FRCNN", seq)
    ini = seq / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("name=MOT17-02-FRCNN", "name=HT-01").replace("seqLength=600", "seqLength=4"))
    rows = [line.split(",") for line in (seq / "gt" / "gt.txt").read_text().split()]
    for row in rows:  # HT21's classes: 1 head, 3 ignore
        row[7] = "1" if row[7] == "1" else "3"
    (seq / "gt" / "gt.txt").write_text("".join(",".join(row) + "\n" for row in rows))
    (tmp_path / "res").mkdir()
    shutil.copy(seq / "gt" / "gt.txt", tmp_path / "res" / "HT21-01.txt")  # the annotation as tracker output
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "res"),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "hota.json").read_text())
    assert doc["settings"]["protocol"].startswith("MOTChallenge: HT21 (TrackEval HeadTrackingChallenge, HT rules")
    values = {r["name"]: r["values"] for r in doc["rows"]}
    assert list(values) == ["all", "HT21-01"]
    # Head rows with conf and visibility are ground truth; the ignore rows, reported back, are removed.
    heads = sum(row[7] == "1" and float(row[6]) != 0 and float(row[8]) > 0 for row in rows)
    assert heads > 0 and values["all"]["CLR_TP"] == heads and values["all"]["CLR_FN"] == 0


def test_hota_lone_gt_txt_against_a_lone_results_file(tmp_path):
    (tmp_path / "gt.txt").write_text("1,1,10,10,50,50,1,1,1\n2,1,12,10,50,50,1,1,1\n")
    (tmp_path / "mine.txt").write_text("1,7,10,10,50,50,0.9,-1,-1,-1\n2,7,12,10,50,50,0.9,-1,-1,-1\n")
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(tmp_path / "gt.txt"),
                                 "--pred", str(tmp_path / "mine.txt"), "--width", "100", "--height", "80",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    values = json.loads((tmp_path / "out" / "hota.json").read_text())["rows"][0]["values"]
    assert values["MOTA"] == pytest.approx(100.0) and values["CLR_TP"] == 2


def test_hota_on_the_synthetic_worlds_mot_folder_is_class_agnostic(tiny_world, tmp_path):
    mot = tiny_world / "val" / "mot"
    assert (mot / "classes.txt").is_file()  # its own categories, not MOTChallenge's class ids
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(mot), "--pred", str(mot), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "hota.json").read_text())
    assert doc["settings"]["protocol"].startswith("class-agnostic")
    assert doc["rows"][0]["values"]["MOTA"] == pytest.approx(100.0)


def test_bdd100k_predictions_are_detected_and_unknown_lists_name_the_option(tmp_path):
    gt = BENCH / "bdd100k" / "b1c66a42-6f7d68ca.json"
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(gt), "--pred", str(gt), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "hota.json").read_text())
    assert doc["settings"]["protocol"].startswith("BDD100K")
    rows = {r["name"]: r["values"] for r in doc["rows"]}
    assert rows["car"]["MOTA"] == pytest.approx(100.0) and rows["rider"]["IDF1"] == pytest.approx(100.0)
    (tmp_path / "odd.json").write_text('[{"frame": 1}]')
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(gt), "--pred", str(tmp_path / "odd.json")])
    assert result.exit_code == 1
    assert "pass --pred-format ytvis-results, tao-results or bdd" in result.output


def test_evaluate_takes_the_size_of_ground_truth_that_lacks_it(tmp_path):
    gt = BENCH / "mot15" / "TUD-Campus"
    results = BENCH / "mot15" / "results" / "TUD-Campus.txt"
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(gt), "--pred", str(results)])
    assert result.exit_code == 1 and "imWidth: missing" in result.output and "--width and --height" in result.output
    result = runner.invoke(app, ["evaluate", "hota", "--gt", str(gt), "--pred", str(results),
                                 "--width", "640", "--height", "480", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "hota.json").read_text())["rows"][1]["name"] == "TUD-Campus"


def test_hota_on_tao_and_youtube_vis_files_uses_their_protocols(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parents[1] / "evaluation"))
    from test_hota_vis_tao import tao_gt, tao_results, vis_gt, vis_results

    for name, gt, pred, protocol in (("tao", tao_gt(), tao_results(), "TAO"),
                                     ("vis", vis_gt(), vis_results("compressed"), "YouTube-VIS")):
        (tmp_path / f"{name}_gt.json").write_text(json.dumps(gt))
        (tmp_path / f"{name}_pred.json").write_text(json.dumps(pred))
        result = runner.invoke(app, ["evaluate", "hota", "--gt", str(tmp_path / f"{name}_gt.json"), "--pred",
                                     str(tmp_path / f"{name}_pred.json"), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        doc = json.loads((tmp_path / name / "hota.json").read_text())
        assert doc["settings"]["protocol"].startswith(protocol)
        assert doc["rows"][0]["name"] == "all (class average)"
