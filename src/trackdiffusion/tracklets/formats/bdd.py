"""BDD100K MOT (Scalabel): a json list of frames, each with the labels of its video's tracks.

Layout::

    [{"name": "<video>-0000001.jpg", "videoName": "<video>", "frameIndex": 0,
      "labels": [{"id": "00122062", "category": "car",
                  "attributes": {"occluded": false, "truncated": true, "crowd": false},
                  "box2d": {"x1", "y1", "x2", "y2"}}]  (or null)}]

Older files say ``video_name`` and ``index`` and capitalise attribute keys (``Occluded``): both
spellings are read, attribute keys lowercased. A file may hold several videos; a folder reads
every ``*.json`` in it (BDD100K ships one file per video).

Also read: Scalabel's ``{"frames": [...], "config": {"imageSize": {"width", "height"}, ...}}``
(KITTI's 1242x375 through Scalabel, say) and the older release's list of per-video lists.

Frame size: ``config.imageSize`` where the file has one; plain BDD100K files do not carry it, and
BDD100K frames are 1280x720, the defaults of ``width`` and ``height``. Boxes are Scalabel's
corners, read as xyxy pixels unchanged.

Categories: BDD100K's tracking table :data:`BDD_CATEGORIES` (ids 1-11, the ignore classes
included); other names get the next ids in order of appearance, with a warning. With an explicit
``categories=`` table, names outside it are errors.

Track ids are strings. A decimal string becomes that integer (so ids keep their meaning in other
formats), any other the next free integer of its video; the strings are kept in
``dataset.info["bdd_ids"][<video>][<int id>]`` and the writer restores them exactly (``str(id)``
for instances without an entry). Boolean and numeric attributes become per-frame attributes,
``crowd`` also sets ``iscrowd``, and a label ``score`` (prediction files) the per-frame score.
Frame names are the frames' ``name``; indices missing from the file get BDD100K's own
``<video>-<index + 1:07d>.jpg``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..builder import ClipBuilder, ProblemLog
from ..clip import Clip
from ..dataset import TrackletDataset
from ..errors import FormatError
from .common import Record, TrackIds, dir_name, finish_dataset, frame_attributes, frame_value, load_json, records, \
    scalar_attributes, write_json

#: BDD100K MOT categories (the first 8 are evaluated; the last 3 are ignore regions).
BDD_CATEGORIES = {1: "pedestrian", 2: "rider", 3: "car", 4: "truck", 5: "bus", 6: "train",
                  7: "motorcycle", 8: "bicycle", 9: "other person", 10: "other vehicle", 11: "trailer"}
WIDTH, HEIGHT = 1280, 720
_FLAGS = ("occluded", "truncated", "crowd")
#: A video's length is its largest frame index + 1. BDD100K and Scalabel list every frame (or
#: nearly), so a length beyond 10 frames per listed frame (and beyond 1000, for short excerpts
#: that start late) is a stray index, such as 10**6, not a video: it would make a clip of a
#: million empty frames.
_SPARSE_FACTOR, _SPARSE_FLOOR = 10, 1000
_FIELDS = {"box": "box2d", "score": "score"}


class _Reader:
    """The videos of one or more Scalabel files, built while their frames come in (in any order)."""

    def __init__(self, log: ProblemLog, width: int, height: int, categories: dict[int, str] | None):
        self.log, self.width, self.height = log, width, height
        self.strict = categories is not None
        self.table = dict(BDD_CATEGORIES if categories is None else categories)
        self.by_name = {name: cid for cid, name in self.table.items()}
        self.derived: list[str] = []
        self.builders: dict[str, ClipBuilder] = {}
        self.names: dict[str, dict[int, str]] = {}  # video -> frame index -> image name
        self.last: dict[str, str] = {}  # video -> where its largest frame index is
        self.ids = TrackIds()

    def frame(self, frame: Record, file: Path) -> None:
        index_key = "frameIndex" if "frameIndex" in frame.obj else "index"
        video = frame.get("videoName" if "videoName" in frame.obj else "video_name", "str")
        t = frame.get(index_key, "int")
        if video not in self.builders:
            self.builders[video] = ClipBuilder(self.log, video, self.width, self.height, None, self.table,
                                               f"{file}: video {video!r}")
            self.names[video] = {}
        if t < 0 or t in self.names[video]:
            self.log.add(frame.at(index_key), f"frame index {t} is negative" if t < 0 else
                         f"duplicate frame index {t} in video {video!r}")
            return
        self.names[video][t] = frame.get("name", "str")
        if t >= max(self.names[video]):
            self.last[video] = frame.at(index_key)
        for label in frame.records("labels", []):
            category = self.category(label)
            if category is not None:
                self.label(video, t, label, category)

    def category(self, label: Record) -> int | None:
        name = label.get("category", "str")
        if name not in self.by_name and not self.strict:
            self.by_name[name] = max(self.table, default=0) + 1
            self.table[self.by_name[name]] = name
            self.derived.append(name)
        if name not in self.by_name:
            self.log.add(label.at("category"), f"unknown category {name!r} (known: {sorted(self.by_name)})")
        return self.by_name.get(name)

    def label(self, video: str, t: int, label: Record, category: int) -> None:
        raw = label.get("attributes", "dict", {})
        attributes = scalar_attributes({k.lower(): v for k, v in raw.items()}, skip=set())
        box = Record(label.get("box2d", "dict"), label.at("box2d"))
        xyxy = [box.get(k, "number") for k in ("x1", "y1", "x2", "y2")]
        self.builders[video].add_box(self.ids.get(video, label.get("id", "name")), t, xyxy, category,
                                     label.where, score=label.get("score", "number", None), attributes=attributes,
                                     iscrowd=bool(attributes.get("crowd", 0.0)), fields=_FIELDS)

    def clips(self) -> list[Clip]:
        out = []
        for video, builder in self.builders.items():
            names = self.names[video]
            length = 1 + max(names, default=-1)  # frames with no labels count too
            if length > max(_SPARSE_FACTOR * len(names), _SPARSE_FLOOR):
                self.log.add(self.last[video], f"frame index {length - 1} of video {video!r} would make a clip of "
                                               f"{length} frames for {len(names)} listed frame(s); frame indices "
                                               f"count frames from 0")
                continue
            builder.num_frames = length
            clip = builder.build()
            clip.frame_names = [names.get(t, f"{video}-{t + 1:07d}.jpg") for t in range(clip.num_frames)]
            out.append(clip)
        return out


def read(path: str | Path, *, width: int | None = None, height: int | None = None,
         categories: dict[int, str] | None = None) -> TrackletDataset:
    """Read a Scalabel box-track json, or every ``*.json`` of a folder.

    The frame size is the file's ``config.imageSize`` where it has one, else ``width``/``height``,
    else BDD100K's 1280x720 (plain BDD100K files do not record it).
    """
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise FormatError(str(path), "no *.json files in this folder")
    log = ProblemLog(str(path))
    default = (WIDTH if width is None else width, HEIGHT if height is None else height)
    reader = _Reader(log, *default, categories)
    for file in files:
        frames, size = _layout(load_json(file), file)
        reader.width, reader.height = size or default
        for frame in frames:
            reader.frame(frame, file)
    if reader.derived:
        warnings.warn(f"{path}: categories outside BDD100K's table got ids after it: {reader.derived}",
                      stacklevel=2)
    return finish_dataset(reader.log, reader.clips(), reader.table, info={"bdd_ids": reader.ids.strings()})


def _layout(data: object, file: Path) -> tuple[list[Record], tuple[int, int] | None]:
    """The frames of one file and its ``config.imageSize``.

    Layouts: a list of frames (BDD100K), a list of per-video lists of frames (older BDD100K
    releases), or Scalabel's ``{"frames": [...], "config": {"imageSize": {"width", "height"}}}``.
    """
    size = None
    if isinstance(data, dict) and "frames" in data:
        root = Record(data, str(file))
        config = Record(root.get("config", "dict", {}), root.at("config"))
        if "imageSize" in config.obj:
            image = Record(config.get("imageSize", "dict"), config.at("imageSize"))
            size = (image.get("width", "int"), image.get("height", "int"))
        return list(root.records("frames")), size
    if not isinstance(data, list):
        raise FormatError(str(file), "expected a list of frames {name, videoName, frameIndex, labels} or "
                                     "Scalabel's {\"frames\": [...], \"config\": {...}}")
    if data and all(isinstance(item, list) for item in data):
        return [rec for v, video in enumerate(data) for rec in records(video, f"{file}[{v}]")], None
    return list(records(data, str(file))), None


def write(dataset: TrackletDataset, path: str | Path) -> None:
    """Write every clip to ``path`` (a ``.json`` file), or one ``<clip>.json`` per clip to a folder.

    Frames of BDD100K's 1280x720 are written as its plain list of frames; other sizes in Scalabel's
    ``{"frames", "config": {"imageSize"}}`` layout, which records the size (one size per file).
    """
    path = Path(path)
    label_ids = dataset.info.get("bdd_ids", {})
    per_clip = [_frames(clip, dataset.categories, label_ids.get(clip.name, {})) for clip in dataset.clips]
    if path.suffix == ".json":
        sizes = sorted({(c.width, c.height) for c in dataset.clips})
        if len(sizes) > 1:
            warnings.warn(f"{path}: one file records one frame size; clips of {', '.join(f'{w}x{h}' for w, h in sizes)} "
                          f"read back as {sizes[0][0]}x{sizes[0][1]}: write to a folder to keep each",
                          stacklevel=2)
        write_json(_file(sizes[0] if sizes else (WIDTH, HEIGHT), [f for frames in per_clip for f in frames]), path)
    else:
        for clip, frames in zip(dataset.clips, per_clip):
            write_json(_file((clip.width, clip.height), frames), path / f"{dir_name(clip.name)}.json")


def _file(size: tuple[int, int], frames: list[dict]) -> list[dict] | dict:
    if size == (WIDTH, HEIGHT):
        return frames
    return {"frames": frames, "config": {"imageSize": {"width": size[0], "height": size[1]}}}


def _frames(clip: Clip, categories: dict[int, str], label_ids: dict[int, str]) -> list[dict]:
    """The Scalabel frames of one clip; ``label_ids`` maps instance ids back to the strings read."""
    names = clip.frame_names or [f"{clip.name}-{t + 1:07d}.jpg" for t in range(clip.num_frames)]
    frames = [{"name": names[t], "videoName": clip.name, "frameIndex": t, "labels": []}
              for t in range(clip.num_frames)]
    for inst in clip.instances:
        for t in inst.frames().tolist():
            attributes = {k: bool(v) if k in _FLAGS else v for k, v in frame_attributes(inst, t).items()}
            if inst.iscrowd:
                attributes.setdefault("crowd", True)
            x1, y1, x2, y2 = (float(v) for v in inst.boxes[t])
            label = {"id": label_ids.get(inst.id, str(inst.id)), "category": categories[inst.category_id],
                     "attributes": attributes, "box2d": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}
            score = frame_value(inst.score, t)
            if score is not None:
                label["score"] = score
            frames[t]["labels"].append(label)
    return frames
