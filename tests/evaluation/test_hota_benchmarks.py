"""HOTA / MOTA / IDF1 equal official TrackEval run on the benchmark's own files (real excerpts).

The fixtures under ``tests/fixtures/benchmarks`` are excerpts of published benchmark files (sources
in the README there). The oracle is TrackEval itself, pointed at the files as they are (MOTChallenge)
or at the layout its BDD100K class documents (keys renamed, nothing else); the project reads the
same files with its readers and evaluates them through :func:`hota_evaluate`.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import trackeval

from trackdiffusion.evaluation.hota import hota_evaluate, hota_metrics
from trackdiffusion.evaluation.mot_benchmarks import rules_for
from trackdiffusion.tracklets.formats import read_mot_results, read_tracklets

BENCH = Path(__file__).parents[1] / "fixtures" / "benchmarks"
FIELDS = {"HOTA": ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA"),
          "CLEAR": ("MOTA", "MOTP", "MODA", "IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP"),
          "Identity": ("IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP")}


def official(dataset) -> dict:
    """TrackEval's results for tracker ``t`` (the oracle: no project code involved)."""
    evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                     "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                                     "PLOT_CURVES": False, "LOG_ON_ERROR": None})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = evaluator.evaluate([dataset], metrics)
    return results[type(dataset).__name__]["t"]


def official_mot(gt_root: Path, seqs: list[str], tracker_files: dict[str, Path], tmp: Path, benchmark: str) -> dict:
    data = tmp / "official" / "t" / "data"
    data.mkdir(parents=True)
    for seq, file in tracker_files.items():
        shutil.copy(file, data / f"{seq}.txt")
    (tmp / "seqmap.txt").write_text("name\n" + "".join(f"{s}\n" for s in seqs))
    cls = trackeval.datasets.HeadTrackingChallenge if benchmark == "HT" else trackeval.datasets.MotChallenge2DBox
    return official(cls({
        "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(tmp / "official"), "TRACKERS_TO_EVAL": ["t"],
        "BENCHMARK": benchmark, "SKIP_SPLIT_FOL": True, "SEQMAP_FILE": str(tmp / "seqmap.txt"),
        "OUTPUT_FOLDER": str(tmp / "out"), "PRINT_CONFIG": False}))


def assert_equal_to(ours: dict, theirs: dict) -> None:
    for metric, names in FIELDS.items():
        for name in names:
            expected = 100 * float(np.mean(theirs[metric][name])) if name not in (
                "IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP", "IDTP", "IDFN", "IDFP") \
                else int(theirs[metric][name])
            assert ours[name] == pytest.approx(expected, abs=1e-9), name


def mot17_tracker(gt_file: Path, out: Path) -> Path:
    """A tracker that reports every annotated box, distractors and ignore rows included, with errors:
    odd ids shifted 2 px, id 3 missed in frame 2, ids 8 and 9 swapped from frame 3 on."""
    rows = []
    for line in gt_file.read_text().split():
        f, i, x, y, w, h = (float(v) for v in line.split(",")[:6])
        if (i, f) == (3, 2):
            continue
        if f >= 3 and i in (8, 9):
            i = 17 - i
        rows.append(f"{int(f)},{int(i)},{x + 2 * (i % 2)},{y},{w},{h},1,-1,-1,-1\n")
    out.write_text("".join(rows))
    return out


def test_mot17_rows_as_annotated_equal_official_trackeval(tmp_path):
    gt_root = BENCH / "mot17"
    results = mot17_tracker(gt_root / "MOT17-02-FRCNN" / "gt" / "gt.txt", tmp_path / "MOT17-02-FRCNN.txt")
    truth = read_tracklets(gt_root)
    result = hota_evaluate(truth, read_mot_results(results, truth), "motchallenge")
    theirs = official_mot(gt_root, ["MOT17-02-FRCNN"], {"MOT17-02-FRCNN": results}, tmp_path, "MOT17")
    assert [name for name, _ in result.rows] == ["all", "MOT17-02-FRCNN"]
    assert_equal_to(result.rows[0][1], theirs["COMBINED_SEQ"]["pedestrian"])
    assert_equal_to(result.rows[1][1], theirs["MOT17-02-FRCNN"]["pedestrian"])
    assert result.description.startswith("MOTChallenge: MOT17 (TrackEval MotChallenge2DBox, MOT17 rules")
    ours = result.combined
    # The official rules at work: distractor matches removed, conf-0 and non-pedestrian rows not counted.
    assert (ours["CLR_TP"], ours["CLR_FN"], ours["CLR_FP"], ours["IDSW"]) == (OFFICIAL_MOT17["counts"])
    assert ours["MOTA"] == pytest.approx(OFFICIAL_MOT17["MOTA"], abs=5e-3)
    agnostic = hota_metrics(truth, read_mot_results(results, truth))  # every row a pedestrian
    assert (agnostic["CLR_TP"], agnostic["CLR_FP"]) == (155, 0) and agnostic["MOTA"] == pytest.approx(98.077, abs=5e-3)


#: TrackEval 1.3.0 on the fixture and the tracker above (pinned so that a change in either shows).
OFFICIAL_MOT17 = {"counts": (87, 1, 20, 2), "MOTA": 73.864}


def test_mot15_real_tracker_results_equal_official_trackeval(tmp_path):
    """TUD-Campus: the MOT15 benchmark's own rules (no classes) give the same as MOT17's on class-1 rows."""
    gt_root, results = BENCH / "mot15", BENCH / "mot15" / "results" / "TUD-Campus.txt"
    truth = read_tracklets(gt_root, width=640, height=480)
    result = hota_evaluate(truth, read_mot_results(results, truth), "motchallenge")
    theirs = official_mot(gt_root, ["TUD-Campus"], {"TUD-Campus": results}, tmp_path, "MOT15")
    assert_equal_to(result.combined, theirs["COMBINED_SEQ"]["pedestrian"])
    assert result.description.startswith("MOTChallenge: MOT15 (TrackEval MotChallenge2DBox, MOT15 rules")


def test_ht21_uses_trackevals_head_tracking_class(tmp_path):
    """HT21's classes (2 static, 3 ignore, 4 person on vehicle heads are distractors, matched from IoU
    0.4; visibility-0 rows are no ground truth) are not MOT17's: the MOT17 rows relabelled as heads."""
    gt_root = tmp_path / "gt"
    seq = gt_root / "HT21-01"
    shutil.copytree(BENCH / "mot17" / "MOT17-02-FRCNN", seq)
    # TrackEval's HT class fails on frames without ground truth (visibility None): keep the 4 annotated.
    ini = seq / "seqinfo.ini"
    ini.write_text(ini.read_text().replace("seqLength=600", "seqLength=4"))
    rows = [line.split(",") for line in (seq / "gt" / "gt.txt").read_text().split()]
    for n, row in enumerate(rows):
        row[7] = str(1 + int(row[1]) % 4)  # every class of HT21
        if n % 7 == 0:
            row[8] = "0"                # invisible heads
    (seq / "gt" / "gt.txt").write_text("".join(",".join(row) + "\n" for row in rows))
    results = mot17_tracker(seq / "gt" / "gt.txt", tmp_path / "HT21-01.txt")
    truth = read_tracklets(gt_root)
    result = hota_evaluate(truth, read_mot_results(results, truth), "motchallenge")
    assert result.description.startswith("MOTChallenge: HT21 (TrackEval HeadTrackingChallenge, HT rules")
    theirs = official_mot(gt_root, ["HT21-01"], {"HT21-01": results}, tmp_path, "HT")
    assert_equal_to(result.combined, theirs["COMBINED_SEQ"]["pedestrian"])
    mot17 = official_mot(gt_root, ["HT21-01"], {"HT21-01": results}, tmp_path / "m", "MOT17")["COMBINED_SEQ"]
    assert result.combined["CLR_TP"] != mot17["pedestrian"]["CLEAR"]["CLR_TP"]  # the rules differ on this file


@pytest.mark.parametrize("names, expected", [
    (["MOT17-02-FRCNN", "MOT16-04"], ("MOT16, MOT17", "MOT17")), (["MOT20-01"], ("MOT20", "MOT20")),
    (["TUD-Campus", "PETS09-S2L1"], ("MOT15", "MOT15")), (["dancetrack0004"], ("DanceTrack", "MOT17")), (["HT21-01"], ("HT21", "HT")),
    (["gt"], ("MOTChallenge layout", "MOT17"))])
def test_the_benchmark_is_told_by_the_sequence_folders(names, expected):
    assert rules_for(names) == expected


def test_sequences_under_different_rules_are_refused():
    with pytest.raises(ValueError, match="MOT15, MOT20 in one evaluation: TrackEval scores them under different"):
        rules_for(["TUD-Campus", "MOT20-01"])


def bdd_tracker(frames: list[dict]) -> list[dict]:
    """Predictions from the ground truth, crowd boxes included: every third track shifted 3 px,
    track 00122062 missed in frames 5-9, the first two tracks' ids swapped from frame 10 on."""
    first = sorted({label["id"] for f in frames for label in f["labels"] or []})[:2]
    out = []
    for f in frames:
        labels = []
        for label in f["labels"] or []:
            if label["id"] == "00122062" and 5 <= f["frameIndex"] <= 9:
                continue
            ident = label["id"]
            if f["frameIndex"] >= 10 and ident in first:
                ident = first[1 - first.index(ident)]
            box = dict(label["box2d"])
            if int(label["id"]) % 3 == 0:
                box["x1"], box["x2"] = box["x1"] + 3, box["x2"] + 3
            labels.append({"id": ident, "category": label["category"], "score": 0.9, "box2d": box})
        out.append({"name": f["name"], "videoName": f["videoName"], "frameIndex": f["frameIndex"], "labels": labels})
    return out


def trackeval_bdd_layout(frames: list[dict], is_gt: bool) -> list[dict]:
    """The keys TrackEval's BDD100K class reads (``index``, ``attributes.Crowd``), values untouched."""
    def label(lab: dict) -> dict:
        out = {"id": lab["id"], "category": lab["category"], "box2d": lab["box2d"]}
        if is_gt:
            out["attributes"] = {"Crowd": lab["attributes"]["crowd"]}
        return out
    return [{"name": f["name"], "index": f["frameIndex"], "labels": [label(lab) for lab in f["labels"] or []]}
            for f in frames]


def test_bdd100k_per_frame_crowd_and_ignore_classes_equal_official_trackeval(tmp_path):
    gt_file = BENCH / "bdd100k" / "b1c66a42-6f7d68ca.json"
    frames = json.loads(gt_file.read_text())
    pred_file = tmp_path / "pred.json"
    pred_file.write_text(json.dumps(bdd_tracker(frames)))
    result = hota_evaluate(read_tracklets(gt_file), read_tracklets(pred_file, "bdd"), "bdd100k")

    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "v.json").write_text(json.dumps(trackeval_bdd_layout(frames, True)))
    (tmp_path / "trk" / "t" / "data").mkdir(parents=True)
    (tmp_path / "trk" / "t" / "data" / "v.json").write_text(json.dumps(trackeval_bdd_layout(bdd_tracker(frames),
                                                                                             False)))
    theirs = official(trackeval.datasets.BDD100K({
        "GT_FOLDER": str(tmp_path / "gt"), "TRACKERS_FOLDER": str(tmp_path / "trk"), "TRACKERS_TO_EVAL": ["t"],
        "OUTPUT_FOLDER": str(tmp_path / "out"), "PRINT_CONFIG": False}))["COMBINED_SEQ"]
    rows = dict(result.rows)
    assert_equal_to(rows["all (class average)"], theirs["cls_comb_cls_av"])
    assert_equal_to(rows["all (detections pooled)"], theirs["cls_comb_det_av"])
    for cls in ("pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"):
        assert_equal_to(rows[cls], theirs[cls])
    assert rows["car"]["CLR_TP"] > 0 and rows["car"]["IDSW"] > 0


def test_bdd100k_crowd_is_per_frame_not_per_track():
    """Track 00122092 is crowd in frames 11-15 only: its other boxes stay ordinary ground truth."""
    truth = read_tracklets(BENCH / "bdd100k" / "b1c66a42-6f7d68ca.json")
    inst = truth[0].instance(122092)
    crowd = inst.attributes["crowd"][inst.present]
    assert crowd.sum() == 5 and len(crowd) > 5
    result = hota_evaluate(truth, truth, "bdd100k")  # ground truth as its own tracker
    car = dict(result.rows)["car"]
    assert car["MOTA"] == pytest.approx(100.0) and car["CLR_FN"] == 0 and car["CLR_FP"] == 0
