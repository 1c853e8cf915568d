"""Validating construction of clips, shared by every format reader.

A reader feeds boxes one at a time with the location they came from; the builder checks each
(finite, positive size, known category, frame in range, no duplicate (instance, frame), one
category per instance) and collects every problem, so a bad file is reported in full in one go.
Boxes are kept as annotated, also where they reach outside the frame: metrics score them so, and
conditioning or drawing clips them where it uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .clip import Clip, Instance, box_problems
from .errors import Problem, TrackletError


MAX_SIZE = 2**20  # frame width / height in pixels
_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class ProblemLog:
    """Problems found while reading one file."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(location, message))

    def finish(self) -> None:
        """Raise every problem at once."""
        if self.problems:
            raise TrackletError(self.problems)


@dataclass
class _Row:
    frame: int
    box: np.ndarray
    visibility: float | None
    score: float | None
    attributes: dict[str, float]
    where: str


class ClipBuilder:
    """Collects the boxes of one video and builds a validated :class:`Clip`.

    ``num_frames=None`` infers the length from the largest frame index seen.
    """

    def __init__(self, log: ProblemLog, name: str, width: int, height: int,
                 num_frames: int | None, categories: dict[int, str], where: str, **clip_fields):
        self.log, self.name, self.where = log, name, where
        self.width, self.height, self.num_frames = width, height, num_frames
        self.categories = categories
        self.clip_fields = clip_fields
        self._rows: dict[int, dict[int, _Row]] = {}
        self._category: dict[int, int] = {}
        self._crowd: dict[int, bool] = {}
        # A None or float size would end up in the clip: report it once here. No camera makes a
        # frame wider than MAX_SIZE; a 10**20 px frame would turn boxes into 1e-17 after normalising.
        self._size_ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 < v <= MAX_SIZE
                            for v in (width, height))
        if not self._size_ok:
            log.add(where, f"frame size must be integers in 1..{MAX_SIZE}, got width={width!r} height={height!r}")
        fps = clip_fields.get("fps")
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            log.add(where, f"fps {fps} is not a positive number")

    def check_size(self, width, height, where: str) -> None:
        """Report a per-frame size (e.g. an image record) that differs from the clip's."""
        if (width, height) != (self.width, self.height):
            self.log.add(where, f"frame size {width}x{height} differs from the {self.width}x{self.height} "
                                f"of {self.where}")

    def add_box(self, instance_id: int, frame: int, xyxy, category_id: int, where: str, *,
                visibility: float | None = None, score: float | None = None,
                attributes: dict[str, float] | None = None, iscrowd: bool = False,
                fields: Mapping[str, str] | None = None) -> None:
        """Record the box of ``instance_id`` in ``frame``; ``where`` names the record.

        ``fields`` names the record's field for each checked value (keys ``box``, ``frame``,
        ``category``, ``visibility``, ``score``) so a problem points at it, e.g.
        ``{"box": "bbox", "category": "category_id"}``; without it problems point at the record.
        """
        def at(value: str) -> str:
            return f"{where}: {fields[value]}" if fields and value in fields else where

        if not _INT64[0] <= instance_id <= _INT64[1]:
            self.log.add(where, f"track id {instance_id} does not fit a 64-bit integer")
            return

        box = np.asarray(xyxy, dtype=np.float64)
        if box.shape != (4,):
            self.log.add(at("box"), f"expected 4 box numbers, got {np.ravel(box).tolist()}")
            return
        if self.num_frames is not None and not 0 <= frame < self.num_frames:
            self.log.add(at("frame"), f"frame index {frame} out of range [0, {self.num_frames})")
            return
        if frame < 0:
            self.log.add(at("frame"), f"frame index {frame} is negative")
            return
        if category_id not in self.categories:
            self.log.add(at("category"), f"unknown category {category_id!r} (known: {sorted(self.categories)})")
            return
        known = self._category.setdefault(instance_id, category_id)
        if known != category_id:
            self.log.add(at("category"), f"instance {instance_id} changes category from {known} to {category_id}")
            return
        rows = self._rows.setdefault(instance_id, {})
        if frame in rows:
            self.log.add(where, f"duplicate box for instance {instance_id} in frame {frame} "
                                f"(first at {rows[frame].where})")
            return
        found = box_problems(box, at("box"))
        if found:
            self.log.problems.extend(found)
            return
        if visibility is not None and not (np.isfinite(visibility) and 0 <= visibility <= 1):
            self.log.add(at("visibility"), f"visibility {visibility} is not in [0, 1]")
            return
        if score is not None and not np.isfinite(score):
            self.log.add(at("score"), f"score {score} is not finite")
            return
        self._crowd[instance_id] = self._crowd.get(instance_id, False) or bool(iscrowd)
        rows[frame] = _Row(frame, box, visibility, score, dict(attributes or {}), where)

    def build(self) -> Clip:
        """The clip (call :meth:`ProblemLog.finish` after all clips of the file are built)."""
        if self.num_frames is None:
            self.num_frames = 1 + max((f for rows in self._rows.values() for f in rows), default=-1)
        T = self.num_frames
        instances = [self._instance(iid, rows, T) for iid, rows in self._rows.items()]
        # With an invalid size the log already holds a problem; keep the values as given for it.
        width, height = (int(self.width), int(self.height)) if self._size_ok else (self.width, self.height)
        return Clip(name=self.name, width=width, height=height, num_frames=T,
                    categories=self.categories, instances=instances, **self.clip_fields)

    def _instance(self, iid: int, rows: dict[int, _Row], T: int) -> Instance:
        boxes = np.full((T, 4), np.nan)
        present = np.zeros(T, dtype=bool)
        has = lambda key: any(getattr(r, key) is not None for r in rows.values())  # noqa: E731
        visibility = np.ones(T) if has("visibility") else None
        score = np.full(T, np.nan) if has("score") else None
        attr_keys = sorted({k for r in rows.values() for k in r.attributes})
        attributes = {k: np.full(T, np.nan) for k in attr_keys}
        for f, r in rows.items():
            boxes[f], present[f] = r.box, True
            if visibility is not None and r.visibility is not None:
                visibility[f] = r.visibility
            if score is not None and r.score is not None:
                score[f] = r.score
            for k, v in r.attributes.items():
                attributes[k][f] = v
        return Instance(iid, self._category[iid], boxes, present, visibility, score, attributes,
                        self._crowd.get(iid, False))

