"""YouTube-VIS: videos with per-frame file names, one annotation per track with per-frame boxes.

Layout::

    {"videos": [{"id", "width", "height", "length", "file_names": [T]}],
     "annotations": [{"id", "video_id", "category_id", "iscrowd",
                      "bboxes": [T x ([x, y, w, h] or null)], "areas": [T], "segmentations": [T]}],
     "categories": [{"id", "name"}]}

Reading: an annotation's ``id`` is the instance id; masks are not kept (the project is box-only),
but ``info["ytvis_masks"]`` says whether every box has one: then the YouTube-VIS protocol of
``evaluate hota`` scores the files themselves with mask IoU, as TrackEval does.
A video is named by its ``name`` key when there is one (this module writes it) or else by the
folder of its first file name. A file without ``categories`` (the TFDS excerpts ship none) gets
names ``category_<id>`` for the ids it uses, with a warning.

Writing adds ``name``, ``fps`` and ``caption`` to each video (other tools ignore unknown keys) and writes null
segmentations. YouTube-VIS needs annotation ids unique over the file: when instance ids repeat
across clips (MOT sequences each count from 1) or one is 0 or negative, they are renumbered 1..K.

Results files (a list of ``{video_id, category_id, score, bboxes[T]}``, or with ``segmentations[T]``
only: the official submission format, whose boxes are then the masks' bounding boxes) are read
against the ground truth they were predicted for, see :func:`read_results` and :func:`write_results`.
"""

from __future__ import annotations

import warnings
from pathlib import Path, PurePosixPath

from ..builder import ClipBuilder, ProblemLog
from ..clip import Instance
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import (Record, category_records, check, finish_dataset, json_file, load_json, read_categories,
                     records, video_ids, write_json, xywh_to_xyxy, xyxy_to_xywh)

DEFAULT_NAME = "ytvis.json"


def read(path: str | Path) -> TrackletDataset:
    """Read a YouTube-VIS json, or ``path/ytvis.json`` with ``path`` as image root for a directory."""
    path = Path(path)
    file = json_file(path, DEFAULT_NAME)
    root = Record(load_json(file), str(file))
    log = ProblemLog(str(file))
    annotations = list(root.records("annotations", []))
    categories = read_categories(root)
    if categories is None:
        used = sorted({rec.get("category_id", "int") for rec in annotations})
        categories = {cid: f"category_{cid}" for cid in used}
        warnings.warn(f"{file}: no 'categories' table; named the categories used "
                      f"{', '.join(categories.values()) or '(none)'}", stacklevel=2)

    builders: dict[int, ClipBuilder] = {}
    for rec in root.records("videos"):
        vid = rec.get("id", "int")
        names = [check(n, "str", rec.at(f"file_names[{t}]")) for t, n in enumerate(rec.get("file_names", "list"))]
        length = rec.get("length", "int", len(names))
        if len(names) != length:
            log.add(rec.at("file_names"), f"{len(names)} file names for a video of length {length}")
        if vid in builders:
            log.add(rec.at("id"), f"duplicate video id {vid}")
            continue
        name = rec.get("name", "str", None) or _folder(names) or f"video_{vid}"
        builders[vid] = ClipBuilder(log, name, rec.get("width", "int"), rec.get("height", "int"), length,
                                    categories, rec.where, fps=rec.get("fps", "number", None),
                                    caption=rec.get("caption", "str", None), frame_names=names, video_id=vid)

    first_at: dict[int, str] = {}
    for rec in annotations:
        ann_id = rec.get("id", "int")
        if ann_id in first_at:
            log.add(rec.at("id"), f"duplicate annotation id {ann_id} (first at {first_at[ann_id]})")
            continue
        first_at[ann_id] = rec.where
        builder = _video(builders, rec, log)
        if builder is None:
            continue
        if "width" in rec.obj or "height" in rec.obj:  # files of 2019 repeat the size on annotations
            builder.check_size(rec.get("width", "int", builder.width), rec.get("height", "int", builder.height),
                               rec.at("width/height"))
        _add_track(builder, rec, ann_id, iscrowd=rec.get("iscrowd", "flag", False))
    clips = [b.build() for b in builders.values()]
    return finish_dataset(log, clips, categories, image_root=path if file != path else None,
                          info={"ytvis_masks": _has_masks(annotations)})


def write(dataset: TrackletDataset, path: str | Path) -> None:
    """Write ``dataset`` as YouTube-VIS (``path`` or ``path/ytvis.json`` for a directory)."""
    ids = [inst.id for clip in dataset.clips for inst in clip.instances]
    # Keep instance ids as annotation ids when they can be: unique and positive (the reference
    # evaluator, ytvoseval, stores matches by annotation id and treats id 0 as "unmatched").
    keep = len(set(ids)) == len(ids) and all(i > 0 for i in ids)
    videos, annotations = [], []
    for clip, vid in zip(dataset.clips, video_ids(dataset.clips)):
        video = {"id": vid, "name": clip.name, "width": clip.width, "height": clip.height,
                 "length": clip.num_frames,
                 "file_names": clip.frame_names or [f"{clip.name}/{t:05d}.jpg" for t in range(clip.num_frames)]}
        video |= {key: getattr(clip, key) for key in ("fps", "caption") if getattr(clip, key) is not None}
        videos.append(video)
        for inst in clip.instances:
            boxes = track_boxes(inst)
            annotations.append({
                "id": inst.id if keep else len(annotations) + 1, "video_id": vid,
                "category_id": inst.category_id, "iscrowd": int(inst.iscrowd), "bboxes": boxes,
                "areas": [None if b is None else b[2] * b[3] for b in boxes],
                "segmentations": [None] * clip.num_frames,
            })
    write_json({"videos": videos, "annotations": annotations,
                "categories": category_records(dataset.categories)}, json_file(path, DEFAULT_NAME))


def read_results(path: str | Path, reference: TrackletDataset) -> TrackletDataset:
    """Predictions of a YouTube-VIS results file as a data set shaped like ``reference``.

    Every clip of ``reference`` is kept (a video without predictions has no instances); its size,
    names and frames come from the reference, matched by video id as :func:`write` numbers them.
    Each result with at least one box becomes an instance with ids ``1..K`` per video in file
    order, and its ``score`` as the per-frame score of its boxes.
    """
    file = str(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise FormatError(file, "expected a list of results {video_id, category_id, score, bboxes}")
    log = ProblemLog(file)
    builders = {vid: ClipBuilder(log, clip.name, clip.width, clip.height, clip.num_frames,
                                 reference.categories, f"{file}: video {vid}", fps=clip.fps,
                                 frame_names=clip.frame_names, video_id=clip.video_id, caption=clip.caption)
                for clip, vid in zip(reference.clips, video_ids(reference.clips))}
    count = dict.fromkeys(builders.values(), 0)
    results = list(records(data, file))
    for rec in results:
        builder = _video(builders, rec, log)
        if "bboxes" not in rec.obj and "segmentations" in rec.obj:
            rec = Record({**rec.obj, "bboxes": _mask_boxes(rec)}, rec.where)
        score = rec.get("score", "number")
        if builder is None or all(box is None for box in rec.get("bboxes", "list")):
            continue
        count[builder] += 1
        _add_track(builder, rec, count[builder], score=score)
    clips = [b.build() for b in builders.values()]
    return finish_dataset(log, clips, reference.categories, image_root=reference.image_root,
                          info={"ytvis_masks": _has_masks(results), "ytvis_results": file})


def write_results(dataset: TrackletDataset, path: str | Path) -> None:
    """Write every non-empty instance as a result; score = :meth:`Instance.track_score` (1 if none)."""
    out = []
    for clip, vid in zip(dataset.clips, video_ids(dataset.clips)):
        for inst in clip.instances:
            if inst.present.any():
                score = inst.track_score()
                out.append({"video_id": vid, "category_id": inst.category_id,
                            "score": 1.0 if score is None else score, "bboxes": track_boxes(inst)})
    write_json(out, path)


def _has_masks(annotations: list[Record]) -> bool:
    """Whether every frame with a box (or a mask) has a mask: the files can then be scored on masks."""
    def frames(rec: Record, key: str) -> list[bool]:
        return [v is not None for v in rec.obj.get(key) or []]
    return bool(annotations) and all(
        "segmentations" in rec.obj and ("bboxes" not in rec.obj or frames(rec, "bboxes") == frames(rec, "segmentations"))
        for rec in annotations)


def _mask_boxes(rec: Record) -> list[list[float] | None]:
    """The bounding box of each frame's RLE mask (None where there is no mask or it is empty)."""
    from pycocotools import mask as mask_utils

    boxes: list[list[float] | None] = []
    for t, seg in enumerate(rec.get("segmentations", "list")):
        if seg is None:
            boxes.append(None)
            continue
        if not (isinstance(seg, dict) and {"size", "counts"} <= seg.keys()):
            raise FormatError(rec.at(f"segmentations[{t}]"), "expected an RLE mask {size: [h, w], counts}")
        height, width = seg["size"]
        rle = mask_utils.frPyObjects(seg, height, width) if isinstance(seg["counts"], list) else seg
        box = [float(v) for v in mask_utils.toBbox(rle)]
        boxes.append(box if box[2] > 0 and box[3] > 0 else None)
    return boxes


def _folder(file_names: list[str]) -> str | None:
    parent = PurePosixPath(file_names[0]).parent.as_posix() if file_names else "."
    return None if parent == "." else parent


def _video(builders: dict[int, ClipBuilder], rec: Record, log: ProblemLog) -> ClipBuilder | None:
    vid = rec.get("video_id", "int")
    if vid not in builders:
        log.add(rec.at("video_id"), f"no video with id {vid}")
    return builders.get(vid)


def _add_track(builder: ClipBuilder, rec: Record, instance_id: int, *, score: float | None = None,
               iscrowd: bool = False) -> None:
    """Feed the per-frame ``bboxes`` of one annotation or result to ``builder``."""
    boxes = rec.get("bboxes", "list")
    if len(boxes) != builder.num_frames:
        builder.log.add(rec.at("bboxes"), f"{len(boxes)} entries for a video of {builder.num_frames} frames "
                                          "(frame index out of range)")
        return
    category = rec.get("category_id", "int")
    for t, box in enumerate(boxes):
        if box is not None:
            field = f"bboxes[{t}]"
            builder.add_box(instance_id, t, xywh_to_xyxy(check(box, "box", rec.at(field))), category, rec.where,
                            score=score, iscrowd=iscrowd,
                            fields={"box": field, "category": "category_id", "score": "score"})


def track_boxes(inst: Instance) -> list[list[float] | None]:
    """Per-frame ``[x, y, w, h]`` of ``inst``, None where it is absent (YouTube-VIS's per-track lists)."""
    return [xyxy_to_xywh(inst.boxes[t]) if p else None for t, p in enumerate(inst.present)]
