"""Drawn tracklets: keyframe boxes of a few instances -> a :class:`Clip`, and the frame strip.

A person places an instance's box on some frames (keyframes); the instance appears on its first
keyframe, disappears after its last, and its box moves linearly in between. Keyframes are plain
dicts (``{"id", "category", "frame", "box": [x0, y0, x1, y1]}``) so they live in a gradio
``State`` and a table as they are.
"""

from __future__ import annotations

import numpy as np

from ..tracklets import Clip, Instance
from ..video.draw import draw_tracklets
from ..video.sheet import contact_sheet

#: Shown scale of the canvas and the frame strip (64 x 64 frames are too small to draw on).
CANVAS_SCALE = 4
BACKGROUND = 128  # the empty canvas is mid grey


def check_keyframe(box: list[float], frame: int, width: int, height: int, num_frames: int) -> str | None:
    """Why a keyframe cannot be placed (a message for the page), or ``None`` when it can."""
    values = [float(v) for v in box]
    if not all(np.isfinite(values)):
        return f"box {values} has an empty or non-numeric corner"
    x0, y0, x1, y1 = values
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        return (f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is outside the {width}x{height} canvas "
                f"or empty: need 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height}")
    if not 0 <= frame < num_frames:
        return f"frame {frame} is outside the clip's frames 0..{num_frames - 1}"
    return None


def set_keyframe(keyframes: list[dict], instance_id: int, category: str, frame: int,
                 box: list[float]) -> list[dict]:
    """``keyframes`` with this instance's box on ``frame`` added or replaced.

    An instance keeps one category: giving an existing id another category renames it everywhere.
    """
    category = category.strip()
    kept = [k for k in keyframes if not (k["id"] == instance_id and k["frame"] == frame)]
    kept = [{**k, "category": category} if k["id"] == instance_id else k for k in kept]
    kept.append({"id": int(instance_id), "category": category, "frame": int(frame),
                 "box": [float(v) for v in box]})
    return sorted(kept, key=lambda k: (k["id"], k["frame"]))


def remove_instance(keyframes: list[dict], instance_id: int) -> list[dict]:
    return [k for k in keyframes if k["id"] != instance_id]


def keyframes_to_clip(keyframes: list[dict], num_frames: int, width: int, height: int,
                      name: str = "drawn") -> Clip:
    """The clip of ``num_frames`` frames the keyframes describe (module docstring).

    Raises ``ValueError`` naming the keyframe that no longer fits (e.g. after fewer frames were
    chosen) or an instance without a category.
    """
    names = sorted({k["category"] for k in keyframes})
    category_ids = {n: i + 1 for i, n in enumerate(names)}
    instances = []
    for instance_id in sorted({k["id"] for k in keyframes}):
        own = [k for k in keyframes if k["id"] == instance_id]
        for k in own:
            problem = check_keyframe(k["box"], k["frame"], width, height, num_frames)
            if problem:
                raise ValueError(f"instance {instance_id}, frame {k['frame']}: {problem}")
        if not own[0]["category"]:
            raise ValueError(f"instance {instance_id} has no category")
        frames = np.array([k["frame"] for k in own])
        corners = np.array([k["box"] for k in own], dtype=float)  # [K, 4] at the keyframes
        present = (np.arange(num_frames) >= frames.min()) & (np.arange(num_frames) <= frames.max())
        boxes = np.full((num_frames, 4), np.nan)
        span = np.flatnonzero(present)
        boxes[span] = np.stack([np.interp(span, frames, corners[:, c]) for c in range(4)], axis=1)
        instances.append(Instance(instance_id, category_ids[own[0]["category"]], boxes, present))
    return Clip(name, width, height, num_frames, {i: n for n, i in category_ids.items()}, instances)


def keyframe_rows(keyframes: list[dict]) -> list[list]:
    """Rows of the keyframe table: id, category, frame, x0, y0, x1, y1."""
    return [[k["id"], k["category"], k["frame"], *(round(v, 2) for v in k["box"])] for k in keyframes]


def blank_frames(num_frames: int, width: int, height: int) -> np.ndarray:
    """``uint8 [T, H, W, 3]`` of the empty canvas."""
    return np.full((num_frames, height, width, 3), BACKGROUND, dtype=np.uint8)


def frame_strip(clip: Clip, max_frames: int = 16) -> np.ndarray:
    """Every frame (up to ``max_frames``) of ``clip`` on the empty canvas with its boxes, in one row."""
    drawn = draw_tracklets(blank_frames(clip.num_frames, clip.width, clip.height), clip,
                           scale=_strip_scale(clip), dashed_below=None)
    return contact_sheet([drawn], max_frames=max_frames)


def canvas_frame(clip: Clip, frame: int) -> np.ndarray:
    """Frame ``frame`` of ``clip`` at :data:`CANVAS_SCALE`, with its boxes: the drawing canvas."""
    frame = int(np.clip(frame, 0, clip.num_frames - 1))
    drawn = draw_tracklets(blank_frames(clip.num_frames, clip.width, clip.height), clip,
                           scale=CANVAS_SCALE, dashed_below=None)
    return drawn[frame]


def _strip_scale(clip: Clip) -> float:
    """About 96 px per frame, whatever the clip's size (uploaded clips can be 1920 wide)."""
    return 96 / max(clip.width, clip.height)
