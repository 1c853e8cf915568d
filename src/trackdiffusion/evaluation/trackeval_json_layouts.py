"""The json layouts of TrackEval's ``YouTubeVIS`` and ``TAO`` classes, and their dataset objects.

Both benchmarks have per-track categories, evaluated class by class, so their protocols live in
TrackEval's dataset classes: :func:`youtube_vis_dataset` and :func:`tao_dataset` lay out ground
truth and one tracker (:data:`~trackdiffusion.evaluation.trackeval_layouts.TRACKER`) under
``root`` and return the TrackEval dataset that reads it.

* TAO: the ground-truth file is evaluated as it is (TrackEval's class merges categories, limits
  detections per image, skips images without annotations, treats negative and not-exhaustively
  labelled categories per video: all of it needs the file's own records). A TAO results file is
  also passed as it is; other predictions are written as TAO results against the ground truth's
  image ids (:func:`~trackdiffusion.tracklets.formats.tao.write_results`).
* YouTube-VIS / OVIS: when both files carry masks for every box (the benchmark's ground truth and
  an official results file), both are passed as they are and scored with mask IoU, exactly as
  TrackEval does. Otherwise (box-only predictions such as a tracker's, or the project's own
  ``ytvis.json``) the tracklets are written with boxes in place of masks and read by
  :class:`YouTubeVISBoxes`: TrackEval's YouTube-VIS protocol with box IoU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import trackeval

from ..tracklets.dataset import TrackletDataset
from ..tracklets.formats import tao
from ..tracklets.formats.common import category_records, dir_name, load_json, video_ids, write_json
from ..tracklets.formats.ytvis import track_boxes
from .boxes import pair_clips
from .trackeval_layouts import TRACKER

_SPLIT = "train"  # TrackEval's YouTubeVIS class reads <GT_FOLDER>youtube_vis_<split>/


class YouTubeVISBoxes(trackeval.datasets.YouTubeVIS):
    """TrackEval's YouTube-VIS protocol on boxes: each ``segmentations`` entry holds ``[x, y, w, h]``.

    Only what touches masks differs from the parent: track areas are mean box areas and the
    similarity is box IoU; class lists, per-class evaluation, crowd flags and combining are its.
    """

    def _prepare_gt_annotations(self) -> None:
        for track in self.gt_data["annotations"]:
            track["area"] = _mean_area(track["segmentations"])

    def _get_tracker_seq_tracks(self, tracker: str, seq_id: int) -> list[dict]:
        tracks = [ann for ann in self.tracker_data[tracker] if ann["video_id"] == seq_id]
        for track in tracks:
            track["area"] = _mean_area(track["segmentations"])
            track["id"] = self.global_tid_counter  # unique over the evaluation, as the parent numbers them
            self.global_tid_counter += 1
        return tracks

    def _calculate_similarities(self, gt_dets_t: list, tracker_dets_t: list) -> np.ndarray:
        return self._calculate_box_ious(np.asarray(gt_dets_t, float).reshape(-1, 4),
                                        np.asarray(tracker_dets_t, float).reshape(-1, 4), box_format="xywh")


def youtube_vis_dataset(gt: TrackletDataset, pred: TrackletDataset, root: Path) -> tuple[object, bool]:
    """The TrackEval dataset for YouTube-VIS ground truth, and whether it scores masks."""
    pairs = pair_clips(gt, pred)
    gt_dir = root / "gt" / f"youtube_vis_{_SPLIT}"
    tracker_dir = root / "trackers" / f"youtube_vis_{_SPLIT}" / TRACKER / "data"
    gt_dir.mkdir(parents=True)
    tracker_dir.mkdir(parents=True)
    masks = bool(gt.info.get("ytvis_masks") and pred.info.get("ytvis_masks") and pred.info.get("ytvis_results"))
    if masks:
        write_json(_official_gt(gt), gt_dir / "gt.json")
        write_json(_compressed_results(pred.info["ytvis_results"]), tracker_dir / "results.json")
    else:
        gt_json, results = _box_layout(gt, pred, pairs)
        write_json(gt_json, gt_dir / "gt.json")
        write_json(results, tracker_dir / "results.json")
    cls = trackeval.datasets.YouTubeVIS if masks else YouTubeVISBoxes
    dataset = cls({"GT_FOLDER": f"{root / 'gt'}/", "TRACKERS_FOLDER": f"{root / 'trackers'}/",
                   "OUTPUT_FOLDER": str(root / "output"), "TRACKERS_TO_EVAL": [TRACKER],
                   "SPLIT_TO_EVAL": _SPLIT, "PRINT_CONFIG": False})
    return dataset, masks


def tao_dataset(gt: TrackletDataset, pred: TrackletDataset, root: Path) -> trackeval.datasets.TAO:
    """The TrackEval dataset for TAO ground truth (read from a TAO file) and ``pred``."""
    tao.image_ids(gt)  # a clear error when the ground truth is not a TAO file
    pair_clips(gt, pred)
    tracker_dir = root / "trackers" / TRACKER / "data"
    (root / "gt").mkdir(parents=True)
    tracker_dir.mkdir(parents=True)
    shutil.copyfile(gt.source, root / "gt" / "gt.json")
    if pred.info.get("tao_results"):
        shutil.copyfile(pred.info["tao_results"], tracker_dir / "results.json")
    else:
        tao.write_results(pred, tracker_dir / "results.json", gt)
    return trackeval.datasets.TAO({"GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"),
                                   "OUTPUT_FOLDER": str(root / "output"), "TRACKERS_TO_EVAL": [TRACKER],
                                   "PRINT_CONFIG": False})


def _official_gt(gt: TrackletDataset) -> dict:
    """The ground-truth file as published, with what TrackEval needs and some excerpts lack: a
    ``categories`` table (named as the reader named them) and each annotation's frame size."""
    data = load_json(gt.source)
    data.setdefault("categories", category_records(gt.categories))
    sizes = {video["id"]: (video["height"], video["width"]) for video in data["videos"]}
    for ann in data["annotations"]:
        height, width = sizes[ann["video_id"]]
        ann.setdefault("height", height)
        ann.setdefault("width", width)
    return data


def _compressed_results(path: str) -> list[dict]:
    """The results file with every mask as compressed RLE, the official submission encoding that
    TrackEval reads (uncompressed ``counts`` lists encode the same mask)."""
    from pycocotools import mask as mask_utils

    results = load_json(path)
    for result in results:
        for t, seg in enumerate(result["segmentations"]):
            if seg and isinstance(seg["counts"], list):
                rle = mask_utils.frPyObjects(seg, *seg["size"])
                result["segmentations"][t] = {"size": seg["size"], "counts": rle["counts"].decode("ascii")}
    return results


def _box_layout(gt: TrackletDataset, pred: TrackletDataset, pairs: list) -> tuple[dict, list[dict]]:
    """Ground truth and results in YouTube-VIS json, boxes in the place of masks."""
    by_name = {name: cid for cid, name in gt.categories.items()}
    videos, annotations, results, seqs = [], [], [], set()
    for (g_clip, p_clip), vid in zip(pairs, video_ids(gt.clips)):
        seq = dir_name(g_clip.name)  # TrackEval names a video by the folder of its first file
        if seq in seqs:
            raise ValueError(f"two ground-truth clips share the name {seq!r}")
        seqs.add(seq)
        videos.append({"id": vid, "width": g_clip.width, "height": g_clip.height, "length": g_clip.num_frames,
                       "file_names": [f"{seq}/{t:05d}.jpg" for t in range(g_clip.num_frames)]})
        for inst in g_clip.instances:
            annotations.append({"id": len(annotations) + 1, "video_id": vid, "category_id": inst.category_id,
                                "iscrowd": int(inst.iscrowd), "segmentations": track_boxes(inst),
                                "height": g_clip.height, "width": g_clip.width})
        for inst in p_clip.instances if p_clip is not None else []:
            name = pred.categories[inst.category_id]
            if name not in by_name:
                raise ValueError(f"predictions: clip {p_clip.name!r}, instance {inst.id}: category {name!r} is "
                                 f"not a category of the ground truth ({', '.join(by_name)})")
            score = inst.track_score()
            results.append({"video_id": vid, "category_id": by_name[name], "score": 1.0 if score is None else score,
                            "segmentations": track_boxes(inst)})
    return {"videos": videos, "annotations": annotations, "categories": category_records(gt.categories)}, results


def _mean_area(boxes: list) -> float:
    areas = [box[2] * box[3] for box in boxes if box]
    return float(np.mean(areas)) if areas else 0.0
