"""The tracklet data model: a clip of T frames holding N instances with per-frame boxes.

Boxes are ``xyxy`` in pixels (float64); a frame where an instance is not annotated has
``present[t] == False`` and its box row is ``nan``. Everything here is format-neutral: the
readers in :mod:`trackdiffusion.tracklets.formats` build clips through
:class:`~trackdiffusion.tracklets.builder.ClipBuilder`, which validates with locations.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import Problem, TrackletError

#: Box coordinates beyond this many pixels from the origin are refused: 1000 times the largest
#: frame the builder accepts (2**20), so real boxes that leave the frame are never hit, while a
#: stray 1e300 is named for what it is.
MAX_COORDINATE = 1e9


@dataclass
class Instance:
    """One object identity through a clip.

    Attributes:
        id: identity, unique within the clip (the format's track id).
        category_id: key into :attr:`Clip.categories`.
        boxes: ``[T, 4]`` float64 xyxy pixels, ``nan`` where not present.
        present: ``[T]`` bool, the frames where the object is annotated.
        visibility: optional ``[T]`` float in [0, 1] (1 = fully visible).
        score: optional ``[T]`` float confidence (tracker outputs, results files).
        attributes: optional per-frame arrays ``[T]`` that formats carry losslessly
            (e.g. ``occluded``, ``truncated``, ``mot_class``, ``mot_conf``, ``cover``).
        iscrowd: the instance is a crowd region (ignored by AP-style metrics).
        phrase: optional appearance phrase ("red striped star") beside the category, for models
            trained with appearance phrases (see :mod:`trackdiffusion.tracklets.phrases`).
    """

    id: int
    category_id: int
    boxes: np.ndarray
    present: np.ndarray
    visibility: np.ndarray | None = None
    score: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    iscrowd: bool = False
    phrase: str | None = None

    @property
    def num_frames(self) -> int:
        return len(self.present)

    def frames(self) -> np.ndarray:
        """Indices of the frames where the instance is present."""
        return np.flatnonzero(self.present)

    def track_score(self) -> float | None:
        """One score for the whole track: the mean over present frames."""
        if self.score is None or not self.present.any():
            return None
        scores = self.score[self.present]
        # A constant score must come back unchanged (results files round-trip through this), and
        # np.mean of n equal floats can differ from them in the last bit.
        if np.all(scores == scores[0]):
            return float(scores[0])
        return float(np.mean(scores))

    def take_frames(self, index: np.ndarray) -> "Instance":
        """A copy restricted to the frames ``index`` (in that order)."""
        pick = lambda a: None if a is None else a[index].copy()  # noqa: E731
        return Instance(
            id=self.id,
            category_id=self.category_id,
            boxes=self.boxes[index].copy(),
            present=self.present[index].copy(),
            visibility=pick(self.visibility),
            score=pick(self.score),
            attributes={k: v[index].copy() for k, v in self.attributes.items()},
            iscrowd=self.iscrowd,
            phrase=self.phrase,
        )


@dataclass
class Clip:
    """A video's tracklets.

    Attributes:
        name: video name (unique within a data set).
        width, height: frame size in pixels.
        num_frames: T.
        categories: id -> name table shared by the data set.
        instances: the N instances, in file order.
        fps: frames per second, if known.
        caption: text describing the clip, if any.
        frame_names: optional per-frame image file names (relative to the data set's image root).
        video_id: the id the source format used for this video, kept for round trips.
    """

    name: str
    width: int
    height: int
    num_frames: int
    categories: dict[int, str]
    instances: list[Instance] = field(default_factory=list)
    fps: float | None = None
    caption: str | None = None
    frame_names: list[str] | None = None
    video_id: int | None = None

    # ---------------------------------------------------------------- inspection
    def __len__(self) -> int:
        return len(self.instances)

    def instance(self, instance_id: int) -> Instance:
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        raise KeyError(f"clip {self.name!r} has no instance with id {instance_id}")

    def copy(self) -> "Clip":
        return copy.deepcopy(self)

    def problems(self) -> list[Problem]:
        """Everything inconsistent in this clip, each with its location; empty when valid."""
        out: list[Problem] = []
        where = f"clip {self.name!r}"
        if self.width <= 0 or self.height <= 0:
            out.append(Problem(where, f"frame size must be positive, got {self.width}x{self.height}"))
        if self.num_frames < 0:
            out.append(Problem(where, f"num_frames must be >= 0, got {self.num_frames}"))
        if self.frame_names is not None and len(self.frame_names) != self.num_frames:
            out.append(Problem(where, f"{len(self.frame_names)} frame_names for {self.num_frames} frames"))
        seen: set[int] = set()
        for inst in self.instances:
            loc = f"{where}: instance {inst.id}"
            if inst.id in seen:
                out.append(Problem(loc, "duplicate instance id"))
            seen.add(inst.id)
            if inst.category_id not in self.categories:
                out.append(Problem(loc, f"unknown category_id {inst.category_id}"))
            if inst.boxes.shape != (self.num_frames, 4) or inst.present.shape != (self.num_frames,):
                out.append(Problem(loc, f"boxes {inst.boxes.shape} / present {inst.present.shape} "
                                        f"do not match {self.num_frames} frames"))
                continue
            for t in inst.frames():
                out.extend(box_problems(inst.boxes[t], f"{loc}: frame {t}"))
        return out

    def validate(self) -> "Clip":
        """Raise :class:`TrackletError` listing every problem; return self when valid."""
        found = self.problems()
        if found:
            raise TrackletError(found)
        return self

    # ---------------------------------------------------------------- transforms
    def window(self, start: int, length: int, stride: int = 1, drop_empty: bool = True) -> "Clip":
        """Frames ``start, start + stride, ...`` (``length`` of them) as a new clip.

        Instances absent from every chosen frame are dropped when ``drop_empty``.
        """
        last = start + (length - 1) * stride
        if length < 1 or stride < 1 or start < 0 or last >= self.num_frames:
            raise ValueError(
                f"window start={start} length={length} stride={stride} does not fit "
                f"clip {self.name!r} of {self.num_frames} frames"
            )
        index = np.arange(start, last + 1, stride)
        out = self._with_frames(index)
        if drop_empty:
            out.instances = [inst for inst in out.instances if inst.present.any()]
        return out

    def _with_frames(self, index: np.ndarray) -> "Clip":
        out = copy.copy(self)
        out.num_frames = len(index)
        out.instances = [inst.take_frames(index) for inst in self.instances]
        out.frame_names = None if self.frame_names is None else [self.frame_names[i] for i in index]
        return out

    def transform_boxes(self, scale_x: float, scale_y: float, offset_x: float = 0.0,
                        offset_y: float = 0.0, width: int | None = None,
                        height: int | None = None, drop_empty: bool = True) -> "Clip":
        """Map boxes by ``x' = x * scale_x - offset_x`` (same for y) into a new frame size.

        Boxes are clipped to the new frame; a box left with zero area becomes absent. Both are
        counted in one warning (never silent). Instances left without boxes are dropped when
        ``drop_empty``.
        """
        width = self.width if width is None else width
        height = self.height if height is None else height
        out = self.copy()
        out.width, out.height = int(width), int(height)
        clipped = vanished = 0
        for inst in out.instances:
            b = inst.boxes
            b[:, [0, 2]] = b[:, [0, 2]] * scale_x - offset_x
            b[:, [1, 3]] = b[:, [1, 3]] * scale_y - offset_y
            moved = b.copy()
            clip_to_frame(inst, out.width, out.height)
            gone = inst.present & ~((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1]))
            # A box that left the frame is counted as gone, not also as clipped.
            clipped += int((inst.present & ~gone & np.any(b != moved, axis=1)).sum())
            vanished += int(gone.sum())
            inst.present[gone] = False
            b[gone] = np.nan
        if drop_empty:
            out.instances = [inst for inst in out.instances if inst.present.any()]
        if clipped or vanished:
            warnings.warn(
                f"clip {self.name!r}: {clipped} box(es) clipped to the {width}x{height} frame, "
                f"{vanished} left the frame and became absent",
                stacklevel=2,
            )
        return out

    def resize(self, width: int, height: int) -> "Clip":
        """Scale to ``width x height`` (aspect ratio not kept)."""
        return self.transform_boxes(width / self.width, height / self.height, width=width, height=height)

    def crop(self, x0: float, y0: float, x1: float, y1: float) -> "Clip":
        """Keep the region ``[x0, x1) x [y0, y1)``; boxes are clipped to it."""
        if not (0 <= x0 < x1 <= self.width and 0 <= y0 < y1 <= self.height):
            raise ValueError(f"crop ({x0}, {y0}, {x1}, {y1}) is not inside {self.width}x{self.height}")
        return self.transform_boxes(1.0, 1.0, x0, y0, width=round(x1 - x0), height=round(y1 - y0))

    def resize_crop(self, width: int, height: int) -> "Clip":
        """Scale so the target is covered, then centre-crop to it (the clip loader's transform)."""
        sx, sy, ox, oy = resize_crop_params(self.width, self.height, width, height)
        return self.transform_boxes(sx, sy, ox, oy, width=width, height=height)


def resize_crop_params(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float, float]:
    """``(scale_x, scale_y, offset_x, offset_y)`` of a cover-resize plus centre crop."""
    scale = max(dst_w / src_w, dst_h / src_h)
    return scale, scale, (src_w * scale - dst_w) / 2, (src_h * scale - dst_h) / 2


def box_problems(box: np.ndarray, where: str) -> list[Problem]:
    """The problems of one xyxy box: non-finite corners or an empty extent.

    A box partly or wholly outside the frame is no problem: annotations and
    tracker outputs hold such boxes, and metrics score them as they are. Where a box is used to
    condition or draw, it is clipped there (:func:`clip_to_frame`).
    """
    # Checked before infinity and the extent: x = 1e300 absorbs any width (x + w == x) and
    # x = 1e308 overflows x + w to inf, and either is a coordinate no frame has, not a size problem.
    far = [float(v) for v in box if np.isfinite(v) and abs(v) > MAX_COORDINATE]
    if far:
        return [Problem(where, f"box {box.tolist()}: coordinate {far[0]:g} lies far outside any frame "
                               f"(|coordinate| > {MAX_COORDINATE:g} px)")]
    if not np.all(np.isfinite(box)):
        return [Problem(where, f"box {box.tolist()} has a non-finite coordinate")]
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return [Problem(where, f"box {box.tolist()} has zero or negative width/height")]
    return []


def clip_to_frame(inst: Instance, width: int, height: int) -> int:
    """Clip the present boxes of ``inst`` to the frame in place; return how many changed."""
    b = inst.boxes
    clipped = np.clip(b, 0.0, np.array([width, height, width, height], dtype=np.float64))
    changed = inst.present & np.any(clipped != b, axis=1)
    b[inst.present] = clipped[inst.present]
    return int(changed.sum())
