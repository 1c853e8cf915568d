"""HOTA, CLEAR (MOTA) and Identity (IDF1) through TrackEval, under each benchmark's own protocol.

The tracklets are written to the folder layout of a TrackEval dataset class
(:mod:`~trackdiffusion.evaluation.trackeval_layouts`) and evaluated by it with the metrics
``HOTA``, ``CLEAR`` and ``Identity`` at their defaults (match IoU 0.5). The protocol decides what
counts, so it follows where the ground truth came from (:func:`protocol_for`):

* ``motchallenge`` (MOT15/16/17/20, HT21, DanceTrack, SportsMOT: MOT text files with
  MOTChallenge's class ids, i.e. no ``classes.txt`` of their own):
  ``MotChallenge2DBox`` on the rows as annotated, preprocessing on. Its rules decide what is
  ignored: only class 1 (pedestrian) rows with conf != 0 are ground truth, and tracker boxes
  matching a distractor (person on vehicle, static person, distractor, reflection; MOT20 also
  non-MOT vehicle) are removed. MOT15, MOT20 and HT21 (TrackEval's ``HeadTrackingChallenge``)
  have their own rules, told by the sequences' folder names
  (:mod:`~trackdiffusion.evaluation.mot_benchmarks`); the report names the benchmark.
* ``bdd100k`` (BDD100K / Scalabel json): TrackEval's ``BDD100K`` class: its 8 classes evaluated
  per class, ``other person``, ``other vehicle``, ``trailer`` and boxes whose frame says
  ``crowd`` are ignore regions (per frame), averages over classes and over detections.
* ``youtube-vis`` (YouTube-VIS / OVIS json): TrackEval's ``YouTubeVIS`` class: every category of
  the table evaluated on its own, nothing removed, averages over classes and over detections;
  mask IoU when both files carry masks, else box IoU
  (:mod:`~trackdiffusion.evaluation.trackeval_json_layouts`).
* ``tao`` (a TAO json, CocoVID-style with ``tracks``): TrackEval's ``TAO`` class on the file as
  published: merged categories, at most 300 detections per image, negative and not-exhaustively
  labelled categories per video, only the categories with ground truth evaluated.
* ``class-agnostic`` (ground truth without an official protocol: the synthetic world, CocoVID):
  every instance is a pedestrian, crowd instances distractors; ``category_ids`` keeps only some
  categories on both sides.

Values are percentages (x100) for the ratios (HOTA and its parts averaged over TrackEval's 19
alpha thresholds), plain counts for the integers.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trackeval

from ..tracklets.dataset import TrackletDataset
from .mot_benchmarks import rules_for
from .trackeval_json_layouts import tao_dataset, youtube_vis_dataset
from .trackeval_layouts import TRACKER, write_bdd100k, write_class_agnostic, write_motchallenge

HOTA_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")
CLEAR_RATIOS = ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR")
CLEAR_COUNTS = ("IDSW", "Frag", "MT", "PT", "ML", "CLR_TP", "CLR_FN", "CLR_FP")
IDENTITY_RATIOS = ("IDF1", "IDR", "IDP")
IDENTITY_COUNTS = ("IDTP", "IDFN", "IDFP")
#: Ground-truth format -> protocol; formats not listed have no official one.
FORMAT_PROTOCOLS = {"mot": "motchallenge", "bdd": "bdd100k", "ytvis": "youtube-vis"}
PROTOCOLS = ("motchallenge", "bdd100k", "youtube-vis", "tao", "class-agnostic")
#: Protocols whose rows are per class (TrackEval combines their classes), not per sequence.
_PER_CLASS = ("bdd100k", "youtube-vis", "tao")
_CLASS_AVERAGES = {"cls_comb_cls_av": "all (class average)", "cls_comb_det_av": "all (detections pooled)"}


@dataclass
class HotaResult:
    """The rows of one evaluation: ``all`` first, then per sequence (or per class for BDD100K)."""

    protocol: str
    description: str
    rows: list[tuple[str, dict[str, float | int]]]
    sequences: int

    @property
    def combined(self) -> dict[str, float | int]:
        return self.rows[0][1]


def protocol_for(gt_format: str | None, gt: TrackletDataset | None = None) -> str:
    """The protocol for ground truth read as ``gt_format`` (a key of the formats table).

    MOT files with their own category table (``classes.txt``: written from another data set,
    such as the synthetic world) are not MOTChallenge's classes, so they are class-agnostic;
    CocoVID files that are TAO's (with ``tracks``) get TAO's protocol.
    """
    if gt_format == "mot" and gt is not None and gt.info.get("mot_classes") == "own":
        return "class-agnostic"
    if gt_format == "cocovid" and gt is not None and gt.info.get("tao"):
        return "tao"
    return FORMAT_PROTOCOLS.get(gt_format or "", "class-agnostic")


def hota_metrics(gt: TrackletDataset, pred: TrackletDataset, category_ids: list[int] | None = None,
                 protocol: str = "class-agnostic") -> dict[str, float | int]:
    """The combined values of :func:`hota_evaluate`, plus ``sequences`` (their number)."""
    result = hota_evaluate(gt, pred, protocol, category_ids)
    return {**result.combined, "sequences": result.sequences}


def hota_evaluate(gt: TrackletDataset, pred: TrackletDataset, protocol: str = "class-agnostic",
                  category_ids: list[int] | None = None) -> HotaResult:
    """HOTA, DetA, ..., MOTA, IDSW, ..., IDF1, ... of ``pred`` against ``gt`` under ``protocol``."""
    if not gt.clips:
        raise ValueError(f"{gt.source or 'ground truth'}: no clips to evaluate")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if category_ids is not None and protocol != "class-agnostic":
        raise ValueError(f"the {protocol} protocol decides the classes itself; a category filter needs the "
                         "class-agnostic protocol")
    with tempfile.TemporaryDirectory(prefix="trackeval-") as tmp:
        root = Path(tmp)
        if protocol == "motchallenge":
            names = write_motchallenge(gt, pred, root)
            found, rules = rules_for(names)
            dataset = _mot_dataset(root, rules)
            description = f"MOTChallenge: {found} (TrackEval {type(dataset).__name__}, {rules} rules, pedestrians)"
        elif protocol == "bdd100k":
            names = write_bdd100k(gt, pred, root)
            dataset = trackeval.datasets.BDD100K({
                "GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"),
                "OUTPUT_FOLDER": str(root / "output"), "TRACKERS_TO_EVAL": [TRACKER], "PRINT_CONFIG": False})
            description = "BDD100K (TrackEval BDD100K: 8 classes, ignore classes and crowd boxes per frame)"
        elif protocol == "youtube-vis":
            dataset, masks = youtube_vis_dataset(gt, pred, root)
            names = dataset.seq_list
            description = ("YouTube-VIS (TrackEval YouTubeVIS: every class on its own, "
                           + ("mask IoU on the masks of both files)" if masks else
                              "box IoU: the predictions or the ground truth carry boxes only)"))
        elif protocol == "tao":
            dataset = tao_dataset(gt, pred, root)
            names = dataset.seq_list
            description = ("TAO (TrackEval TAO on the file as published: merged categories, negative and not "
                           "exhaustively labelled categories per video, classes with ground truth)")
        else:
            names = write_class_agnostic(gt, pred, root, None if category_ids is None else set(category_ids))
            dataset = _mot_dataset(root, "MOT17")
            description = "class-agnostic (every instance a pedestrian, crowd instances distractors)"
        results = _run(dataset)[type(dataset).__name__][TRACKER]
    if protocol in _PER_CLASS:
        combined = results["COMBINED_SEQ"]
        rows = [(label, _values(combined[key])) for key, label in _CLASS_AVERAGES.items()]
        rows += [(cls, _values(combined[cls])) for cls in dataset.class_list]
    else:
        labels = names if protocol == "motchallenge" else [c.name for c in gt.clips]
        rows = [("all", _values(results["COMBINED_SEQ"]["pedestrian"]))]
        rows += [(label, _values(results[seq]["pedestrian"])) for label, seq in zip(labels, names)]
    return HotaResult(protocol, description, rows, len(names))


def _mot_dataset(root: Path, benchmark: str) -> trackeval.datasets.MotChallenge2DBox:
    """The MOTChallenge-layout class for ``benchmark`` (HT21's heads have a class of their own)."""
    cls = trackeval.datasets.HeadTrackingChallenge if benchmark == "HT" else trackeval.datasets.MotChallenge2DBox
    return cls({
        "GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"),
        "OUTPUT_FOLDER": str(root / "output"), "TRACKERS_TO_EVAL": [TRACKER], "CLASSES_TO_EVAL": ["pedestrian"],
        "BENCHMARK": benchmark, "SPLIT_TO_EVAL": "train", "SKIP_SPLIT_FOL": True,
        "SEQMAP_FILE": str(root / "seqmap.txt"), "PRINT_CONFIG": False,
    })


def _run(dataset) -> dict:
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    evaluator = trackeval.Evaluator({
        "USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
        "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
        "PLOT_CURVES": False, "LOG_ON_ERROR": None, "BREAK_ON_ERROR": True,
    })
    # TrackEval reports progress on stdout; the caller prints the table it wants.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            results, _ = evaluator.evaluate([dataset], metrics)
        except trackeval.utils.TrackEvalException as err:
            raise ValueError(f"TrackEval refused the data: {err}") from err
        except (TypeError, KeyError, IndexError) as err:  # its classes fail so on data they do not expect
            raise ValueError(f"TrackEval failed on the data ({type(err).__name__}: {err})") from err
    return results


def _values(res: dict) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for name in HOTA_FIELDS:
        out[name] = float(np.mean(res["HOTA"][name])) * 100.0
    for name in CLEAR_RATIOS:
        out[name] = float(res["CLEAR"][name]) * 100.0
    for name in CLEAR_COUNTS:
        out[name] = int(res["CLEAR"][name])
    for name in IDENTITY_RATIOS:
        out[name] = float(res["Identity"][name]) * 100.0
    for name in IDENTITY_COUNTS:
        out[name] = int(res["Identity"][name])
    return out
