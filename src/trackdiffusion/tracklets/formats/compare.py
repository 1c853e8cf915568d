"""Field-by-field comparison of two data sets: what "round-trip exact" means, checked."""

from __future__ import annotations

import numpy as np

from ..clip import Clip, Instance
from ..dataset import TrackletDataset

_CLIP_FIELDS = ("width", "height", "num_frames", "fps", "caption", "frame_names", "video_id")


def compare_datasets(a: TrackletDataset, b: TrackletDataset) -> list[str]:
    """Every difference between ``a`` and ``b``, one line each; empty when they are equal.

    Compared: categories; clip names in order and their size, length, fps, caption, frame names
    and video id; instances in order with id, category, iscrowd, ``present``, boxes bit for bit
    (NaN equal to NaN), and visibility, score and attributes (None differs from an array).
    Not compared: ``source``, ``image_root`` and ``info``, which describe where the data came from.
    """
    out = []
    if a.categories != b.categories:
        out.append(f"categories differ: {a.categories} != {b.categories}")
    names_a, names_b = [c.name for c in a.clips], [c.name for c in b.clips]
    if names_a != names_b:
        return out + [f"clip names differ: {names_a} != {names_b}"]
    for ca, cb in zip(a.clips, b.clips):
        out += _clip_differences(ca, cb)
    return out


def _clip_differences(a: Clip, b: Clip) -> list[str]:
    where = f"clip {a.name!r}"
    out = [f"{where}: {f} {getattr(a, f)!r:.80} != {getattr(b, f)!r:.80}"
           for f in _CLIP_FIELDS if getattr(a, f) != getattr(b, f)]
    ids_a, ids_b = [i.id for i in a.instances], [i.id for i in b.instances]
    if ids_a != ids_b:
        return out + [f"{where}: instance ids differ: {ids_a} != {ids_b}"]
    for ia, ib in zip(a.instances, b.instances):
        out += [f"{where}: instance {ia.id}: {d}" for d in _instance_differences(ia, ib)]
    return out


def _instance_differences(a: Instance, b: Instance) -> list[str]:
    out = [f"{f} {getattr(a, f)} != {getattr(b, f)}"
           for f in ("category_id", "iscrowd") if getattr(a, f) != getattr(b, f)]
    arrays = {"present": (a.present, b.present), "boxes": (a.boxes, b.boxes),
              "visibility": (a.visibility, b.visibility), "score": (a.score, b.score)}
    if a.attributes.keys() != b.attributes.keys():
        out.append(f"attribute names {sorted(a.attributes)} != {sorted(b.attributes)}")
    shared = sorted(a.attributes.keys() & b.attributes.keys())
    arrays |= {f"attribute {k!r}": (a.attributes[k], b.attributes[k]) for k in shared}
    for name, (x, y) in arrays.items():
        if x is None or y is None:
            if (x is None) != (y is None):
                out.append(f"{name}: {'None' if x is None else 'values'} != {'None' if y is None else 'values'}")
        elif x.shape != y.shape:
            out.append(f"{name}: shape {x.shape} != {y.shape}")
        else:
            same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == "f" else x == y
            frames = np.flatnonzero(~same.reshape(len(same), -1).all(axis=1))
            if len(frames):
                out.append(f"{name} differ in frames {frames[:10].tolist()}")
    return out
