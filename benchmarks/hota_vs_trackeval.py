"""Check ``evaluate hota`` against TrackEval run directly on a benchmark's files.

Usage::

    python benchmarks/hota_vs_trackeval.py mot GT_SPLIT TRACKER_DATA [--benchmark MOT17]
    python benchmarks/hota_vs_trackeval.py bdd GT_FOLDER TRACKER_DATA [--videos N]

``GT_SPLIT`` is a MOTChallenge split folder (``<seq>/gt/gt.txt`` + ``seqinfo.ini``), ``GT_FOLDER``
a folder of BDD100K json files in the layout TrackEval's BDD100K class reads, ``TRACKER_DATA`` the
tracker's folder of ``<seq>.txt`` / ``<seq>.json``. The project reads both with its own readers and
evaluates them (:func:`trackdiffusion.evaluation.hota.hota_evaluate`); TrackEval reads the files as
they are. Prints one line per row with the project's HOTA / MOTA / IDF1 and the largest difference
over every HOTA, CLEAR and Identity field, and exits 1 when any differs by more than 0.01 points.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import trackeval

from trackdiffusion.evaluation.hota import hota_evaluate
from trackdiffusion.tracklets.formats import read_mot_results, read_tracklets

FIELDS = {"HOTA": ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA"),
          "CLEAR": ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR",
                    "IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP"),
          "Identity": ("IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP")}
COUNTS = {"IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP", "IDTP", "IDFN", "IDFP"}


def trackeval_results(dataset) -> dict:
    evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                     "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                                     "PLOT_CURVES": False, "LOG_ON_ERROR": None})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = evaluator.evaluate([dataset], metrics)
    return results[type(dataset).__name__]["t"]


def largest_difference(ours: dict, theirs: dict) -> float:
    diffs = []
    for metric, names in FIELDS.items():
        for name in names:
            value = float(np.mean(theirs[metric][name]))
            diffs.append(abs(ours[name] - (value if name in COUNTS else 100 * value)))
    return max(diffs)


def mot(gt: Path, data: Path, benchmark: str, tmp: Path) -> list[tuple[str, dict, dict]]:
    seqs = sorted(p.name for p in gt.iterdir() if (p / "gt" / "gt.txt").is_file())
    (tmp / "t" / "data").mkdir(parents=True)
    for seq in seqs:
        shutil.copy(data / f"{seq}.txt", tmp / "t" / "data" / f"{seq}.txt")
    (tmp / "seqmap.txt").write_text("name\n" + "".join(f"{s}\n" for s in seqs))
    theirs = trackeval_results(trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(gt), "TRACKERS_FOLDER": str(tmp), "TRACKERS_TO_EVAL": ["t"], "BENCHMARK": benchmark,
        "SKIP_SPLIT_FOL": True, "SEQMAP_FILE": str(tmp / "seqmap.txt"), "OUTPUT_FOLDER": str(tmp / "out"),
        "PRINT_CONFIG": False}))
    truth = read_tracklets(gt, "mot")
    result = hota_evaluate(truth, read_mot_results(data, truth), "motchallenge")
    keys = ["COMBINED_SEQ"] + [name for name, _ in result.rows[1:]]
    return [(name, values, theirs[key]["pedestrian"]) for (name, values), key in zip(result.rows, keys)]


def bdd(gt: Path, data: Path, videos: int, tmp: Path) -> list[tuple[str, dict, dict]]:
    names = sorted(p.stem for p in gt.glob("*.json"))[:videos]
    for side, folder in (("gt", gt), ("t/data", data)):
        (tmp / side).mkdir(parents=True)
        for name in names:
            shutil.copy(folder / f"{name}.json", tmp / side / f"{name}.json")
    theirs = trackeval_results(trackeval.datasets.BDD100K({
        "GT_FOLDER": str(tmp / "gt"), "TRACKERS_FOLDER": str(tmp), "TRACKERS_TO_EVAL": ["t"],
        "OUTPUT_FOLDER": str(tmp / "out"), "PRINT_CONFIG": False}))["COMBINED_SEQ"]
    result = hota_evaluate(read_tracklets(tmp / "gt", "bdd"), read_tracklets(tmp / "t" / "data", "bdd"), "bdd100k")
    keys = ["cls_comb_cls_av", "cls_comb_det_av"] + [name for name, _ in result.rows[2:]]
    return [(name, values, theirs[key]) for (name, values), key in zip(result.rows, keys)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("mot", "bdd"))
    parser.add_argument("gt", type=Path)
    parser.add_argument("tracker_data", type=Path)
    parser.add_argument("--benchmark", default="MOT17")
    parser.add_argument("--videos", type=int, default=2, help="BDD100K: the first N videos of GT_FOLDER")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # derived-category notes of the readers; not what is measured here
    with tempfile.TemporaryDirectory() as tmp:
        rows = (mot(args.gt, args.tracker_data, args.benchmark, Path(tmp)) if args.kind == "mot"
                else bdd(args.gt, args.tracker_data, args.videos, Path(tmp)))
    worst = 0.0
    for name, ours, theirs in rows:
        diff = largest_difference(ours, theirs)
        worst = max(worst, diff)
        print(f"{name:28s} HOTA {ours['HOTA']:6.2f}  MOTA {ours['MOTA']:6.2f}  IDF1 {ours['IDF1']:6.2f}  "
              f"max |diff| {diff:.2e}")
    print(f"largest difference over {len(rows)} rows: {worst:.2e}")
    return 0 if worst <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
