"""CocoVID (mmtracking): COCO plus ``videos``; images are frames, annotations carry instance ids.

Layout::

    {"categories": [{"id", "name"}],
     "videos": [{"id", "name", "width"?, "height"?, "fps"?, "caption"?}],
     "images": [{"id", "video_id", "file_name", "frame_id" (0-based), "width", "height"}],
     "annotations": [{"id", "image_id", "video_id"?, "category_id", "instance_id",
                      "bbox": [x, y, w, h], "area", "iscrowd", "visibility"?, "score"?, ...}]}

Quirks of published files that are read as they are: ids starting at 0; ``iscrowd`` as bool or
0/1; videos without a size (taken from their images, which must all agree with it); annotations
without ``video_id`` (taken from their image); integer category names; TAO's ``track_id`` where
``instance_id`` is missing; string ``instance_id`` values (bdd100k's own COCO export) as stable
integers per video (decimal strings keep their value; the strings are kept in
``dataset.info["instance_ids"]`` and written back). Every other numeric or boolean annotation field (``mot_conf``,
``occluded``, ``ignore``, ``is_vid_train_frame``, ...) is kept as a per-frame attribute and written
back. A video has as many frames as it has images, whose ``frame_id`` must be ``0..T-1``; images
without ``frame_id`` (TAO's own files) are ordered by ``frame_index``, as TrackEval's TAO class does.

TAO files (a top-level ``tracks`` list) also record, in ``dataset.info["tao"]``, each clip's image
ids in frame order: the TAO protocol of ``evaluate hota`` evaluates the file itself and writes a
tracker's boxes against those image ids.

Files without ``videos`` (COCO image sets such as mmtracking's ``ann_img.json``) read as one
single-frame clip per image, named by its file name, with the image id as video id and the
annotation id as instance id where ``instance_id`` is missing. An annotation whose category is not
in the table is an error; ``derive_missing_categories=True`` names such ids ``category_<id>``
instead (TAO excerpts cut the LVIS table down to fewer categories than they use).

``caption`` on a video is this project's addition (other tools ignore unknown keys).

A directory reads its ``cocovid.json`` and becomes the image root: the layout that the synthetic
world and generation write, with ``file_name`` = ``frames/<clip>/000000.png``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..builder import ClipBuilder, ProblemLog
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import (Record, TrackIds, category_records, finish_dataset, frame_attributes, frame_value, json_file,
                     load_json, read_categories, scalar_attributes, video_ids, write_json, xywh_to_xyxy,
                     xyxy_to_xywh)

DEFAULT_NAME = "cocovid.json"

# Annotation fields with a meaning of their own; every other scalar becomes an attribute.
_STRUCTURAL = {"id", "image_id", "video_id", "category_id", "instance_id", "track_id", "bbox", "area",
               "iscrowd", "visibility", "score", "segmentation"}
_FIELDS = {"box": "bbox", "category": "category_id", "visibility": "visibility", "score": "score"}

# image id -> (builder of its clip, frame index, video id)
_Frames = dict[int, tuple[ClipBuilder, int, int]]


def read(path: str | Path, *, derive_missing_categories: bool = False) -> TrackletDataset:
    """Read a CocoVID json, or ``path/cocovid.json`` with ``path`` as image root for a directory."""
    path = Path(path)
    file = json_file(path, DEFAULT_NAME)
    root = Record(load_json(file), str(file))
    log = ProblemLog(str(file))
    categories = read_categories(root)
    if categories is None:
        raise FormatError(root.at("categories"), "missing")
    annotations = list(root.records("annotations"))
    _check_categories(categories, annotations, log, derive_missing_categories)
    images = list(root.records("images"))
    with_videos = "videos" in root.obj
    builders, frames = (_video_clips if with_videos else _image_clips)(root, images, categories, log)
    strings = TrackIds()
    seen: dict[int, str] = {}
    for rec in annotations:
        ann_id = rec.get("id", "int", None)
        if ann_id is not None and ann_id in seen:
            log.add(rec.at("id"), f"duplicate annotation id {ann_id} (also {seen[ann_id]})")
            continue
        if ann_id is not None:
            seen[ann_id] = rec.where
        image_id = rec.get("image_id", "int")
        if image_id not in frames:
            log.add(rec.at("image_id"), f"no image with id {image_id}")
            continue
        builder, t, video_id = frames[image_id]
        if with_videos and rec.get("video_id", "int", video_id) != video_id:
            log.add(rec.at("video_id"), f"video {rec.obj['video_id']} differs from video {video_id} "
                                        f"of image {image_id}")
            continue
        builder.add_box(_instance_id(rec, with_videos, strings, builder.name), t, xywh_to_xyxy(rec.get("bbox", "box")),
                        rec.get("category_id", "int"), rec.where, visibility=rec.get("visibility", "number", None),
                        score=rec.get("score", "number", None), iscrowd=rec.get("iscrowd", "flag", False),
                        attributes=scalar_attributes(rec.obj, _STRUCTURAL), fields=_FIELDS)
    clips = [b.build() for b in builders]
    info = {"instance_ids": strings.strings()}
    if with_videos and "tracks" in root.obj:
        image_ids: dict[str, list[int | None]] = {b.name: [None] * b.num_frames for b in builders}
        for image_id, (builder, t, _) in frames.items():
            image_ids[builder.name][t] = image_id
        info["tao"] = {"image_ids": image_ids}
    return finish_dataset(log, clips, categories, image_root=path if file != path else None, info=info)


def write(dataset: TrackletDataset, path: str | Path) -> None:
    """Write ``dataset`` as CocoVID (``path`` or ``path/cocovid.json`` for a directory).

    Image and annotation ids are numbered from 1; instance ids, video ids (where set), frame
    names, fps, captions, visibility, scores and attributes are written as they are.
    """
    videos, images, annotations = [], [], []
    strings = dataset.info.get("instance_ids", {})
    for clip, vid in zip(dataset.clips, video_ids(dataset.clips)):
        video = {"id": vid, "name": clip.name, "width": clip.width, "height": clip.height}
        video |= {key: getattr(clip, key) for key in ("fps", "caption") if getattr(clip, key) is not None}
        videos.append(video)
        first = len(images) + 1
        names = clip.frame_names or [f"{clip.name}/{t:06d}.jpg" for t in range(clip.num_frames)]
        images += [{"id": first + t, "video_id": vid, "file_name": names[t], "frame_id": t,
                    "width": clip.width, "height": clip.height} for t in range(clip.num_frames)]
        for inst in clip.instances:
            for t in inst.frames().tolist():
                bbox = xyxy_to_xywh(inst.boxes[t])
                ann = {**frame_attributes(inst, t), "id": len(annotations) + 1, "image_id": first + t,
                       "video_id": vid, "category_id": inst.category_id,
                       "instance_id": strings.get(clip.name, {}).get(inst.id, inst.id),
                       "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": int(inst.iscrowd)}
                for key, values in (("visibility", inst.visibility), ("score", inst.score)):
                    value = frame_value(values, t)
                    if value is not None:
                        ann[key] = value
                annotations.append(ann)
    write_json({"categories": category_records(dataset.categories), "videos": videos, "images": images,
                "annotations": annotations}, json_file(path, DEFAULT_NAME))


def _instance_id(rec: Record, with_videos: bool, strings: TrackIds, video: str) -> int:
    """``instance_id``, else TAO's ``track_id``, else (image sets only) the annotation id.

    A string ``instance_id`` (bdd100k's COCO export) becomes a stable integer of its video.
    """
    if isinstance(rec.obj.get("instance_id"), str):
        return strings.get(video, rec.obj["instance_id"])
    for key in ("instance_id", "track_id"):
        if key in rec.obj:
            return rec.get(key, "int")
    # A video annotation without either cannot join a track: report the field it lacks.
    return rec.get("instance_id" if with_videos else "id", "int")


def _check_categories(categories: dict[int, str], annotations: list[Record], log: ProblemLog,
                      derive: bool) -> None:
    missing = sorted({rec.get("category_id", "int") for rec in annotations} - set(categories))
    if not missing:
        return
    if derive:
        categories.update({cid: f"category_{cid}" for cid in missing})
        warnings.warn(f"{log.file}: categories {missing} are used but not in the table; "
                      f"named them category_<id>", stacklevel=3)
    else:
        log.add(f"{log.file}: categories", f"table lacks ids {missing} used by annotations "
                                           "(derive_missing_categories=True names them category_<id>)")


def _video_clips(root: Record, images: list[Record], categories: dict[int, str],
                 log: ProblemLog) -> tuple[list[ClipBuilder], _Frames]:
    """One builder per video; each image mapped to its video's frame ``frame_id``."""
    videos: dict[int, Record] = {}
    for rec in root.records("videos"):
        vid = rec.get("id", "int")
        if vid in videos:
            log.add(rec.at("id"), f"duplicate video id {vid}")
        videos.setdefault(vid, rec)
    per_video: dict[int, list[Record]] = {vid: [] for vid in videos}
    for img in images:
        vid = img.get("video_id", "int")
        if vid in per_video:
            per_video[vid].append(img)
        else:
            log.add(img.at("video_id"), f"no video with id {vid}")

    builders, frames = [], {}
    for vid, rec in videos.items():
        imgs = per_video[vid]
        sizes = [(img.get("width", "int"), img.get("height", "int")) for img in imgs]
        width, height = sizes[0] if sizes else (None, None)
        names: list[str | None] = [None] * len(imgs)
        builder = ClipBuilder(log, rec.get("name", "str"), rec.get("width", "int", width),
                              rec.get("height", "int", height), len(imgs), categories, rec.where,
                              fps=rec.get("fps", "number", None), caption=rec.get("caption", "str", None),
                              frame_names=names, video_id=vid)
        builders.append(builder)
        for img, size, t in zip(imgs, sizes, _frame_positions(imgs)):
            builder.check_size(*size, img.at("width/height"))
            if not 0 <= t < len(imgs):
                log.add(img.at("frame_id"), f"frame index {t} out of range [0, {len(imgs)}) "
                                            f"(video {vid} has {len(imgs)} images)")
            elif names[t] is not None:
                log.add(img.at("frame_id"), f"duplicate frame_id {t} in video {vid}")
            else:
                names[t] = img.get("file_name", "str")
                _add_frame(frames, img, (builder, t, vid), log)
    return builders, frames


def _frame_positions(imgs: list[Record]) -> list[int]:
    """Each image's frame: its ``frame_id``, or for a video whose images have none (TAO's own
    files) the rank of its ``frame_index``."""
    if imgs and all("frame_id" not in img.obj and "frame_index" in img.obj for img in imgs):
        order = sorted(range(len(imgs)), key=lambda i: imgs[i].get("frame_index", "int"))
        positions = [0] * len(imgs)
        for t, i in enumerate(order):
            positions[i] = t
        return positions
    return [img.get("frame_id", "int") for img in imgs]


def _image_clips(root: Record, images: list[Record], categories: dict[int, str],
                 log: ProblemLog) -> tuple[list[ClipBuilder], _Frames]:
    """One single-frame builder per image (a file without videos)."""
    builders, frames = [], {}
    for img in images:
        image_id, name = img.get("id", "int"), img.get("file_name", "str")
        builder = ClipBuilder(log, name, img.get("width", "int"), img.get("height", "int"), 1, categories,
                              img.where, frame_names=[name], video_id=image_id)
        builders.append(builder)
        _add_frame(frames, img, (builder, 0, image_id), log)
    return builders, frames


def _add_frame(frames: _Frames, img: Record, frame: tuple[ClipBuilder, int, int], log: ProblemLog) -> None:
    image_id = img.get("id", "int")
    if image_id in frames:
        log.add(img.at("id"), f"duplicate image id {image_id}")
    frames.setdefault(image_id, frame)
