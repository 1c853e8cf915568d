"""TAO results: one detection per record, linked into tracks by ``track_id``.

Layout (what TAO's toolkit and TrackEval's ``TAO`` class read as a tracker)::

    [{"image_id", "category_id", "bbox": [x, y, w, h], "score", "track_id", "video_id"?}]

Results are read against the TAO ground truth they were predicted for: its reader
(:mod:`~trackdiffusion.tracklets.formats.cocovid`) records every clip's image ids in frame order
(``info["tao"]["image_ids"]``), which place each detection in its clip and frame. TAO lets a
track change category from frame to frame and TrackEval evaluates each detection under its own
category, so each (track, category) pair becomes one instance, numbered 1..K per video in file
order, its ``track_id`` kept in ``info["tao_track_ids"]`` (written back, so the pieces stay one
track, also after TAO merges categories); the score of each detection is kept per frame. Detections on images the ground truth does
not list are skipped with a warning (TrackEval's TAO class fails on them with a KeyError). When
none was skipped the file is kept as ``info["tao_results"]`` (its path): the TAO protocol of
``evaluate hota`` then evaluates the file itself; else the boxes read are written out for it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..builder import ClipBuilder, ProblemLog
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import finish_dataset, load_json, records, write_json, xywh_to_xyxy, xyxy_to_xywh

_FIELDS = {"box": "bbox", "category": "category_id", "score": "score"}


def image_ids(reference: TrackletDataset) -> dict[str, list[int | None]]:
    """Clip name -> image id of each frame, of ground truth read from a TAO file."""
    tao = reference.info.get("tao")
    if not tao:
        raise ValueError(f"{reference.source or 'the ground truth'} is not a TAO file (a CocoVID-style json "
                         "with 'tracks'): TAO results need its image ids")
    return tao["image_ids"]


def read_results(path: str | Path, reference: TrackletDataset) -> TrackletDataset:
    """Predictions of a TAO results file as a data set shaped like the TAO ground truth ``reference``."""
    file = str(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise FormatError(file, "expected a list of TAO results {image_id, category_id, bbox, score, track_id}")
    log = ProblemLog(file)
    frames: dict[int, tuple[ClipBuilder, int, int]] = {}  # image id -> (builder, frame, video id)
    builders = []
    for clip in reference.clips:
        builder = ClipBuilder(log, clip.name, clip.width, clip.height, clip.num_frames, reference.categories,
                              f"{file}: video {clip.name}", fps=clip.fps, frame_names=clip.frame_names,
                              video_id=clip.video_id, caption=clip.caption)
        builders.append(builder)
        frames.update({image: (builder, t, clip.video_id) for t, image in enumerate(image_ids(reference)[clip.name])
                       if image is not None})
    instances: dict[tuple[ClipBuilder, int, int], int] = {}
    track_ids: dict[str, dict[int, int]] = {clip.name: {} for clip in reference.clips}
    per_video = dict.fromkeys(builders, 0)
    skipped = 0
    for rec in records(data, file):
        image = rec.get("image_id", "int")
        if image not in frames:
            skipped += 1
            continue
        builder, t, video = frames[image]
        if rec.get("video_id", "int", video) != video:
            log.add(rec.at("video_id"), f"video {rec.obj['video_id']} differs from video {video} of image {image}")
            continue
        category = rec.get("category_id", "int")
        key = (builder, rec.get("track_id", "int"), category)
        if key not in instances:
            per_video[builder] += 1
            instances[key] = per_video[builder]
            track_ids[builder.name][instances[key]] = key[1]
        builder.add_box(instances[key], t, xywh_to_xyxy(rec.get("bbox", "box")), category, rec.where,
                        score=rec.get("score", "number"), fields=_FIELDS)
    if skipped:
        warnings.warn(f"{file}: skipped {skipped} detections on images that {reference.source} does not list",
                      stacklevel=2)
    clips = [b.build() for b in builders]
    info = {"tao_track_ids": track_ids} | ({} if skipped else {"tao_results": file})
    return finish_dataset(log, clips, reference.categories, image_root=reference.image_root, info=info)


def write_results(dataset: TrackletDataset, path: str | Path, reference: TrackletDataset) -> None:
    """Write ``dataset``'s boxes as TAO results against the TAO ground truth ``reference``.

    Clips are matched by name; categories by name (they must be in the reference's table); the
    score is the per-frame score, else the track score, else 1; ``track_id`` the one read from a
    TAO results file, else the instance id.
    """
    ids = image_ids(reference)
    by_name = {name: cid for cid, name in reference.categories.items()}
    videos = {clip.name: clip.video_id for clip in reference.clips}
    track_ids = dataset.info.get("tao_track_ids", {})
    out = []
    for clip in dataset.clips:
        if clip.name not in ids:
            raise ValueError(f"predictions: clip {clip.name!r} is not a video of {reference.source}")
        for inst in clip.instances:
            name = dataset.categories[inst.category_id]
            if name not in by_name:
                raise ValueError(f"predictions: clip {clip.name!r}, instance {inst.id}: category {name!r} is not "
                                 f"in the categories of {reference.source}")
            track_score = inst.track_score()
            track = track_ids.get(clip.name, {}).get(inst.id, inst.id)
            for t in inst.frames().tolist():
                score = track_score if inst.score is None else float(inst.score[t])
                out.append({"image_id": ids[clip.name][t], "category_id": by_name[name],
                            "bbox": xyxy_to_xywh(inst.boxes[t]), "score": 1.0 if score is None else score,
                            "track_id": track, "video_id": videos[clip.name]})
    write_json(out, path)
