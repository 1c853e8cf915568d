"""``evaluate``: TrackAP, SOT, HOTA and FVD from the command line.

Each subcommand prints its table (Markdown) and, with ``--out DIR``, writes ``DIR/<metric>.json``
(schema in :mod:`trackdiffusion.evaluation.report`) and ``DIR/<metric>.md``. Without a subcommand,
``evaluate --generated G --reference R`` scores generated clips against the real clips of the
same tracklets with the grounding tracker (:mod:`trackdiffusion.evaluation.generated`) and writes
``generated.json`` / ``generated.md`` plus its plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..evaluation.report import Report
from ..tracklets.dataset import TrackletDataset
from ..tracklets.errors import FormatError
from ..tracklets.formats.common import load_json
from ..tracklets.formats import (FORMATS, detect_format, mot, read_mot_results, read_tao_results, read_tracklets,
                                 read_ytvis_results)
from .app import app

console = Console(stderr=True)
evaluate_app = typer.Typer(help="Measure tracklets, tracker outputs and generated videos (paper Tables 1-3).")
app.add_typer(evaluate_app, name="evaluate")

PRED_FORMATS = ("auto", "ytvis-results", "tao-results", "mot-results", *FORMATS)
_GT_HELP = "Ground-truth tracklets (any format read_tracklets understands: file or folder)."
_PRED_HELP = ("Predictions: a YouTube-VIS or TAO results json, MOTChallenge tracker results (.txt or a folder of "
              "<clip>.txt) or any tracklet format with per-frame scores.")
_OUT_HELP = "Folder to write <metric>.json and <metric>.md to."


@evaluate_app.callback(invoke_without_command=True)
def evaluate(
    ctx: typer.Context,
    generated: Optional[Path] = typer.Option(
        None, "--generated", exists=True, file_okay=False,
        help="Generated clips (the split layout `generate` writes); with --reference: the fidelity table."),
    reference: Optional[Path] = typer.Option(
        None, "--reference", exists=True, file_okay=False,
        help="The real split the generated clips' tracklets came from (clips paired by name)."),
    tracker: Optional[Path] = typer.Option(None, "--tracker", help="Grounding tracker folder "
                                           "(default: assets/grounding-tracker)."),
    i3d_weights: Optional[Path] = typer.Option(
        None, "--i3d-weights", exists=True, dir_okay=False,
        help="Local I3D weights for FVD (default: none, the weight-free FD-tracker instead)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for generated.json/.md and the plots."),
    device: str = typer.Option("cpu", "--device", help="torch device of the tracker and I3D."),
    threads: int = typer.Option(
        1, "--threads", help="torch CPU threads. The tracker's batches are small: on 2 busy cores one thread "
                             "took 34 s for 2 x 64 clips, torch's default of two took 4 min 45 s."),
) -> None:
    """Measure tracklets, tracker outputs and generated videos: the subcommands, or without one
    `--generated G --reference R` for the generated-vs-real table (paper Table 1)."""
    if ctx.invoked_subcommand is not None:
        if generated is not None or reference is not None:
            raise typer.BadParameter("--generated/--reference make their own table; give them without a subcommand")
        return
    if generated is None and reference is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    if generated is None or reference is None:
        raise typer.BadParameter("--generated and --reference go together")
    import torch

    from ..evaluation.generated import evaluate_generated

    torch.set_num_threads(threads)
    try:
        result = evaluate_generated(generated, reference, tracker, i3d_weights=i3d_weights, out=out, device=device)
    except (ValueError, KeyError, OSError) as err:
        raise _fail(err) from None
    typer.echo(result.report.to_markdown())
    if out is not None:
        console.print(f"wrote {escape(str(out / 'generated.json'))}, generated.md and "
                      f"{', '.join(p.name for p in result.plots)}", highlight=False, soft_wrap=True)


def _prediction_format(path: Path) -> str:
    """``auto``: a json list of per-detection results (``image_id``, ``track_id``) is TAO results, one
    of per-track results (``video_id``, ``score``) YouTube-VIS results, one of frames (``labels``)
    BDD100K predictions; bare ``.txt`` files are tracker results."""
    if path.is_file() and path.suffix == ".json":
        data = load_json(path)
        if isinstance(data, list):
            first = data[0] if data and isinstance(data[0], dict) else {}
            if {"image_id", "track_id"} <= first.keys():
                return "tao-results"
            if not data or {"video_id", "score"} <= first.keys():  # [] is a results file without results
                return "ytvis-results"
            if first.keys() & {"labels", "frameIndex", "videoName", "video_name"}:
                return "bdd"
            raise FormatError(str(path), "a JSON list of neither YouTube-VIS results ({video_id, score, ...}), "
                                         "TAO results ({image_id, track_id, ...}) nor BDD100K frames ({name, "
                                         "videoName, labels}); pass --pred-format ytvis-results, tao-results "
                                         "or bdd")
    if path.is_file() and path.suffix == ".txt" and path.name not in ("groundtruth.txt", "list.txt"):
        return "mot-results"
    if path.is_dir() and any(p.name != mot.CLASS_TABLE for p in path.glob("*.txt")) \
            and not (path / "gt" / "gt.txt").is_file() and not any(path.glob("*/gt/gt.txt")) \
            and not (path / "groundtruth.txt").is_file() and not (path / "list.txt").is_file():
        return "mot-results"
    return detect_format(path)


def _read_pair(gt: Path, pred: Path, gt_format: Optional[str],
               pred_format: str, size: tuple[Optional[int], Optional[int]] = (None, None),
               ) -> tuple[TrackletDataset, TrackletDataset]:
    width, height = size
    options = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    truth = read_tracklets(gt, gt_format, **options)
    kind = _prediction_format(pred) if pred_format == "auto" else pred_format
    if kind == "ytvis-results":
        return truth, read_ytvis_results(pred, truth)
    if kind == "mot-results":
        return truth, read_mot_results(pred, truth)
    if kind == "tao-results":
        return truth, read_tao_results(pred, truth)
    return truth, read_tracklets(pred, kind)


def _finish(report: Report, out: Optional[Path]) -> None:
    typer.echo(report.to_markdown())
    if out is not None:
        json_path, md_path = report.write(out)
        console.print(f"wrote {escape(str(json_path))} and {escape(str(md_path))}", highlight=False, soft_wrap=True)


def _fail(err: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _check_pred_format(value: str) -> str:
    if value not in PRED_FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(PRED_FORMATS)}")
    return value


_GT = typer.Option(..., "--gt", help=_GT_HELP, exists=True)
_PRED = typer.Option(..., "--pred", help=_PRED_HELP, exists=True)
_GT_FORMAT = typer.Option(None, "--gt-format", help="Format of --gt (default: detected).")
_PRED_FORMAT = typer.Option("auto", "--pred-format", callback=_check_pred_format,
                            help=f"Format of --pred: {', '.join(PRED_FORMATS)}.")
_OUT = typer.Option(None, "--out", help=_OUT_HELP)
_WIDTH = typer.Option(None, "--width", help="Frame width for ground truth that does not record it (MOT15's "
                                            "trimmed seqinfo.ini; BDD100K defaults to 1280).")
_HEIGHT = typer.Option(None, "--height", help="Frame height, likewise (BDD100K defaults to 720).")


@evaluate_app.command()
def trackap(gt: Path = _GT, pred: Path = _PRED, gt_format: Optional[str] = _GT_FORMAT,
            pred_format: str = _PRED_FORMAT, width: Optional[int] = _WIDTH, height: Optional[int] = _HEIGHT,
            out: Optional[Path] = _OUT) -> None:
    """TrackAP: YouTube-VIS video AP on boxes (x100; -1 = no ground truth in that area range)."""
    # Metric modules are imported per command: torch and TrackEval make `--help` slow otherwise.
    from ..evaluation.trackap import SUMMARY, track_ap

    try:
        truth, predicted = _read_pair(gt, pred, gt_format, pred_format, (width, height))
        values = track_ap(truth, predicted)
    except (ValueError, OSError) as err:
        raise _fail(err) from None
    report = Report("trackap", "TrackAP (YouTube-VIS video AP on boxes)", list(SUMMARY),
                    units="x100; -1 = undefined (no ground truth in that area range)",
                    settings={"gt": str(gt), "pred": str(pred), "clips": len(truth),
                              "categories": len(truth.categories), "iou_thresholds": "0.50:0.05:0.95",
                              "max_dets": "1, 10, 100", "areas": "small <= 128^2 <= medium <= 256^2 <= large"})
    _finish(report.add_row("all", values), out)


@evaluate_app.command()
def sot(gt: Path = _GT, pred: Path = _PRED, gt_format: Optional[str] = _GT_FORMAT,
        pred_format: str = _PRED_FORMAT, per_sequence: bool = typer.Option(False, "--per-sequence",
                                                                           help="Add a row per target."),
        width: Optional[int] = _WIDTH, height: Optional[int] = _HEIGHT, out: Optional[Path] = _OUT) -> None:
    """Single-object tracking: Success / Precision / Norm. precision (OPE) and AO / SR (GOT-10k), x100.

    Every ground-truth instance is one target; the predicted instance with the same id is its track.
    """
    from ..evaluation.sot import sot_evaluate

    try:
        results = sot_evaluate(*_read_pair(gt, pred, gt_format, pred_format, (width, height)))
    except (ValueError, OSError) as err:
        raise _fail(err) from None
    columns = ["success", "precision", "norm_precision", "AO", "SR0.5", "SR0.75", "sequences", "frames"]
    report = Report("sot", "Single-object tracking", columns, units="x100 (counts as is)",
                    settings={"gt": str(gt), "pred": str(pred),
                              "ope": "mmtracking eval_sot_ope, visible frames, mean over sequences",
                              "got10k": "frames after the first where visible, pooled over sequences"})
    report.add_row("overall", results["overall"])
    if per_sequence:
        for name, values in results["per_sequence"].items():
            report.add_row(name, values)
    _finish(report, out)


_PROTOCOLS = ("auto", "motchallenge", "bdd100k", "youtube-vis", "tao", "class-agnostic")


def _check_protocol(value: str) -> str:
    if value not in _PROTOCOLS:
        raise typer.BadParameter(f"expected one of {', '.join(_PROTOCOLS)}")
    return value


@evaluate_app.command()
def hota(gt: Path = _GT, pred: Path = _PRED, gt_format: Optional[str] = _GT_FORMAT,
         pred_format: str = _PRED_FORMAT,
         protocol: str = typer.Option(
             "auto", "--protocol", callback=_check_protocol,
             help="auto: the ground truth's benchmark protocol (MOT text: motchallenge, BDD100K json: bdd100k, "
                  "YouTube-VIS / OVIS json: youtube-vis, TAO json: tao, anything else: class-agnostic); or one of "
                  "motchallenge, bdd100k, youtube-vis, tao, class-agnostic."),
         category: Optional[List[str]] = typer.Option(
             None, "--category", help="Evaluate only this category (repeatable; class-agnostic protocol only; "
                                      "filters both sides, so the predictions need categories)."),
         width: Optional[int] = _WIDTH, height: Optional[int] = _HEIGHT,
         out: Optional[Path] = _OUT) -> None:
    """HOTA, MOTA, IDF1 (TrackEval, the ground truth's benchmark protocol), x100; counts as is.

    Rows: all, then one per sequence (BDD100K, YouTube-VIS, TAO: the class and detection averages, then
    one per class).
    """
    from ..evaluation.hota import hota_evaluate, protocol_for

    try:
        truth, predicted = _read_pair(gt, pred, gt_format, pred_format, (width, height))
        if protocol == "auto":
            protocol = "class-agnostic" if category else protocol_for(gt_format or detect_format(gt), truth)
        ids = None if not category else [truth.category_id(name) for name in category]
        result = hota_evaluate(truth, predicted, protocol, ids)
    except (ValueError, KeyError, OSError) as err:
        raise _fail(err) from None
    columns = ["HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1", "IDR", "IDP", "IDSW", "Frag",
               "MT", "ML", "CLR_TP", "CLR_FP", "CLR_FN"]
    report = Report("hota", "HOTA / CLEAR / Identity (TrackEval)", columns, units="x100 (counts as is)",
                    settings={"gt": str(gt), "pred": str(pred), "protocol": result.description,
                              "sequences": result.sequences,
                              "categories": ", ".join(category) if category else "as the protocol says",
                              "match_iou": 0.5})
    for name, values in result.rows:
        report.add_row(name, values)
    _finish(report, out)


@evaluate_app.command()
def fvd(real: Path = typer.Option(..., "--real", help="Folder of real videos (files or frame folders).",
                                  exists=True, file_okay=False),
        generated: Path = typer.Option(..., "--generated", help="Folder of generated videos.",
                                       exists=True, file_okay=False),
        i3d_weights: Optional[Path] = typer.Option(
            None, "--i3d-weights", help="Local Kinetics-400 I3D state dict (pytorch-i3d rgb_imagenet.pt)."),
        clip_length: int = typer.Option(16, "--clip-length", help="Frames per clip (the first ones; >= 9)."),
        resolution: int = typer.Option(224, "--resolution", help="Frames are resized to this square size."),
        batch_size: int = typer.Option(4, "--batch-size", help="Clips per I3D forward pass."),
        device: str = typer.Option("cpu", "--device", help="torch device for I3D."),
        out: Optional[Path] = _OUT) -> None:
    """FVD between two folders of videos: I3D logits of the first 16 frames at 224x224 (the defaults)."""
    from ..evaluation.fvd import fvd_from_dirs

    try:
        result = fvd_from_dirs(real, generated, i3d_weights, clip_length=clip_length, resolution=resolution,
                               batch_size=batch_size, device=device)
    except (ValueError, OSError) as err:
        raise _fail(err) from None
    console.print(str(result), highlight=False, soft_wrap=True)
    columns = ["FVD", "real_clips", "generated_clips", "clip_length", "resolution"]
    report = Report("fvd", "FVD (I3D Kinetics-400 logits)", columns, units="squared Frechet distance",
                    settings={"real": str(real), "generated": str(generated), "i3d_weights": str(i3d_weights),
                              "frames": f"first {clip_length}, bilinear to {resolution}x{resolution}, [-1, 1]"})
    report.add_row("all", {"FVD": result.fvd, "real_clips": result.num_real,
                           "generated_clips": result.num_generated, "clip_length": result.clip_length,
                           "resolution": result.resolution})
    _finish(report, out)
