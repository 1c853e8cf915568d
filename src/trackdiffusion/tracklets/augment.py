"""New tracklets from existing ones (``trackdiffusion tracklets augment``).

Each op maps a clip to a new clip and returns the parameters it drew, so an augmented clip
records exactly how it was made (``augmentations.json``, copied into generation manifests):

* ``flip``: horizontal mirror.
* ``reverse``: frames in reverse order.
* ``speed``: resample in time by a factor in [0.5, 2] (boxes interpolated linearly between the
  two nearest source frames where the object is present in both; elsewhere absent).
* ``jitter``: shift by up to 10 % of the frame and scale by 0.8-1.2 about the centre.
* ``paste``: an instance of another clip (category kept, a fresh id).
* ``crowd``: 1-3 more instances, copies of this clip's own shifted across the frame (fresh ids).
* ``cross``: one instance is moved so that it crosses another at the middle frame; the one drawn
  behind (depth order) gets ``visibility`` = the fraction of its box not covered by the other.
* ``exit``: an instance leaves for a run of middle frames and comes back (absent there).

Boxes pushed out of the frame are clipped to it, and a box left with no area becomes absent, as
the readers treat boxes that leave the frame; every output is validated.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from .clip import Clip, Instance, clip_to_frame
from .dataset import TrackletDataset, sidecar_folder

#: Written beside augmented tracklets: clip name -> the ops that made it (read by ``generate``
#: into each clip's manifest record).
AUGMENTATIONS_FILE = "augmentations.json"

Op = Callable[[Clip, np.random.Generator, list[Clip]], tuple[Clip, dict]]


def read_augmentations(tracklets: str | Path) -> dict[str, list] | None:
    """The augmentation ops of each clip of a tracklet file or folder, when it has them."""
    file = sidecar_folder(tracklets) / AUGMENTATIONS_FILE
    return json.loads(file.read_text()) if file.is_file() else None


def flip(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    out = clip.copy()
    for inst in out.instances:
        inst.boxes[:, [0, 2]] = clip.width - inst.boxes[:, [2, 0]]
    return out, {}


def reverse(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    out = clip._with_frames(np.arange(clip.num_frames)[::-1])
    out.frame_names = None
    return out, {}


def speed(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    factor = float(np.round(np.exp(rng.uniform(np.log(0.5), np.log(2.0))), 3))
    times = np.arange(0, clip.num_frames - 1 + 1e-9, factor)  # source time of each new frame
    out = clip.copy()
    out.num_frames, out.frame_names = len(times), None
    for new, old in zip(out.instances, clip.instances):
        lo = np.floor(times).astype(int)
        hi = np.minimum(lo + 1, clip.num_frames - 1)
        w = (times - lo)[:, None]
        present = old.present[lo] & (old.present[hi] | (w[:, 0] == 0))
        boxes = np.where(present[:, None], (1 - w) * old.boxes[lo] + w * np.nan_to_num(old.boxes[hi]), np.nan)
        new.boxes, new.present = boxes, present
        new.visibility = None if old.visibility is None else old.visibility[lo].copy()
        new.score = None
        new.attributes = {}
    out.instances = [i for i in out.instances if i.present.any()]
    return out, {"factor": factor}


def jitter(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    dx, dy = (float(v) for v in np.round(rng.uniform(-0.1, 0.1, 2) * [clip.width, clip.height], 2))
    scale = float(np.round(rng.uniform(0.8, 1.2), 3))
    cx, cy = clip.width / 2, clip.height / 2
    # x' = (x - cx) * s + cx + dx  ==  x * s - offset
    return clip.transform_boxes(scale, scale, cx * scale - cx - dx, cy * scale - cy - dy), \
        {"dx": dx, "dy": dy, "scale": scale}


def paste(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    donors = [(c, i) for c in pool if c.name != clip.name for i in c.instances if i.present.any()]
    if not donors:
        return clip.copy(), {"pasted": None}
    donor, inst = donors[int(rng.integers(len(donors)))]
    name = donor.categories[inst.category_id]
    out = clip.copy()
    category = {v: k for k, v in out.categories.items()}.get(name)
    if category is None:
        raise ValueError(f"clip {donor.name!r}: category {name!r} is not in clip {clip.name!r}'s table")
    new = _fit_length(inst, clip.num_frames)
    new.boxes[:, [0, 2]] *= clip.width / donor.width
    new.boxes[:, [1, 3]] *= clip.height / donor.height
    new.id, new.category_id = _fresh_id(out), category
    out.instances.append(new)
    return out, {"from_clip": donor.name, "instance": inst.id, "new_id": new.id}


def crowd(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    out = clip.copy()
    added = []
    for _ in range(int(rng.integers(1, 4)) if clip.instances else 0):
        src = clip.instances[int(rng.integers(len(clip.instances)))]
        new = src.take_frames(np.arange(clip.num_frames))
        shift = rng.uniform(-0.4, 0.4, 2) * [clip.width, clip.height]
        new.boxes += np.tile(shift, 2)
        new.id = _fresh_id(out)
        out.instances.append(new)
        added.append({"copy_of": src.id, "new_id": new.id, "shift": np.round(shift, 2).tolist()})
    return out, {"added": added}


def cross(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    both = [i for i in clip.instances if i.present.all()]
    if len(both) < 2 or clip.num_frames < 3:
        return clip.copy(), {"crossed": None}
    a_i, b_i = rng.choice(len(both), 2, replace=False)
    out = clip.copy()
    a, b = out.instance(both[a_i].id), out.instance(both[b_i].id)
    T = clip.num_frames
    ca = (a.boxes[:, :2] + a.boxes[:, 2:]) / 2
    half = (b.boxes[:, 2:] - b.boxes[:, :2]) / 2
    side = 1.0 if rng.random() < 0.5 else -1.0
    # b's centre goes linearly from one side of a to the other, meeting a's centre at T // 2.
    span = side * clip.width * 0.3 * (np.arange(T) - T // 2) / max(T // 2, 1)
    cb = ca + np.stack([span, np.zeros(T)], axis=1)
    b.boxes = np.concatenate([cb - half, cb + half], axis=1)
    front, back = (a, b) if rng.random() < 0.5 else (b, a)
    back.visibility = 1.0 - _covered(back.boxes, front.boxes)
    front.visibility = np.ones(T)
    return out, {"moved": b.id, "across": a.id, "front": front.id}


def exit_and_reenter(clip: Clip, rng, pool) -> tuple[Clip, dict]:
    long = [i for i in clip.instances if i.present.sum() >= 3]
    if not long:
        return clip.copy(), {"hidden": None}
    out = clip.copy()
    inst = out.instance(long[int(rng.integers(len(long)))].id)
    frames = inst.frames()
    start = int(rng.integers(1, len(frames) - 1))
    stop = int(rng.integers(start + 1, len(frames)))  # at least one present frame after the gap
    gone = frames[start:stop]
    inst.present[gone] = False
    inst.boxes[gone] = np.nan
    return out, {"instance": inst.id, "absent_frames": gone.tolist()}


OPS: dict[str, Op] = {"flip": flip, "reverse": reverse, "speed": speed, "jitter": jitter, "paste": paste,
                      "crowd": crowd, "cross": cross, "exit": exit_and_reenter}


def augment_clip(clip: Clip, ops: list[str], rng: np.random.Generator, pool: list[Clip]) -> tuple[Clip, list[dict]]:
    """Apply ``ops`` in order; return the valid new clip and each op's record."""
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise ValueError(f"unknown augmentation op(s) {unknown}; known: {', '.join(OPS)}")
    records = []
    out = clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boxes leaving the frame are expected here; counted below
        for name in ops:
            out, params = OPS[name](out, rng, pool)
            _to_frame(out)
            records.append({"op": name, **params})
    out.caption = None
    return out.validate(), records


def _to_frame(clip: Clip) -> None:
    """Clip boxes to the frame; a box left without area becomes absent (as the readers do)."""
    for inst in clip.instances:
        clip_to_frame(inst, clip.width, clip.height)
        b = inst.boxes
        gone = inst.present & ~((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1]))
        inst.present[gone] = False
        b[gone] = np.nan
        b[~inst.present] = np.nan
    clip.instances = [i for i in clip.instances if i.present.any()]


def _fit_length(inst: Instance, T: int) -> Instance:
    """A copy of ``inst`` with ``T`` frames: cut, or padded with absent frames."""
    n = min(T, inst.num_frames)
    out = inst.take_frames(np.arange(n))
    pad = T - n
    out.boxes = np.concatenate([out.boxes, np.full((pad, 4), np.nan)])
    out.present = np.concatenate([out.present, np.zeros(pad, bool)])
    out.visibility = None if out.visibility is None else np.concatenate([out.visibility, np.ones(pad)])
    out.score, out.attributes = None, {}
    return out


def _fresh_id(clip: Clip) -> int:
    return max((i.id for i in clip.instances), default=0) + 1


def _covered(back: np.ndarray, front: np.ndarray) -> np.ndarray:
    """Per frame, the fraction of ``back``'s box area that ``front`` covers."""
    w = np.clip(np.minimum(back[:, 2], front[:, 2]) - np.maximum(back[:, 0], front[:, 0]), 0, None)
    h = np.clip(np.minimum(back[:, 3], front[:, 3]) - np.maximum(back[:, 1], front[:, 1]), 0, None)
    area = (back[:, 2] - back[:, 0]) * (back[:, 3] - back[:, 1])
    return np.clip(np.divide(w * h, area, out=np.zeros_like(area), where=area > 0), 0.0, 1.0)


def augment_dataset(dataset: TrackletDataset, ops: list[str], copies: int, seed: int,
                    keep_source: bool = False) -> tuple[TrackletDataset, dict[str, list[dict]]]:
    """``copies`` augmented versions of every clip (named ``<clip>_aug<k>``), with each one's op records.

    Copy ``k`` of clip ``i`` draws from ``default_rng([seed, i, k])``: the same command gives the
    same tracklets, and adding copies does not change the earlier ones.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    clips = [c.copy() for c in dataset.clips] if keep_source else []
    records: dict[str, list[dict]] = {}
    for i, clip in enumerate(dataset.clips):
        for k in range(copies):
            new, ops_done = augment_clip(clip, ops, np.random.default_rng([seed, i, k]), dataset.clips)
            new.name, new.video_id, new.frame_names = f"{clip.name}_aug{k}", None, None
            records[new.name] = [{"source_clip": clip.name, "source": dataset.source}, *ops_done]
            clips.append(new)
    for clip in clips:
        clip.frame_names = None
    return TrackletDataset(clips, dataset.categories, source=dataset.source), records
