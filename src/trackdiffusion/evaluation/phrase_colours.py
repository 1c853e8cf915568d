"""Does an object wear the colour its appearance phrase names? (``ColourAcc``)

The tracker scores shape and category, not colour, so phrases need their own measure. For every
instance whose phrase starts with a colour of the synthetic world's palette ("red striped star"),
in every frame where it is at least 90 % visible, each pixel of the middle half of its box is
given the nearest (L1) palette colour or texture shade of a palette colour, and the box the colour
most of them get. ``ColourAcc`` is the share of boxes whose colour is the phrase's, x100; real
clips give its ceiling for the world (the middle half of a cross or a star shows some background).
Hand-written because no library measures this.
Legend: T frames, H, W frame size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset
from ..tracklets.loader import read_clip_frames
from ..tracklets.synthetic.appearance import OBJECT_COLOURS, shade_of

_MIN_VISIBILITY = 0.9  # an occluder inside the box would average its colour in
_INNER = 0.25  # the measured region starts this fraction of the box side in from each edge


def phrase_colour(phrase: str | None) -> str | None:
    """The palette colour a phrase starts with, or None."""
    if not phrase:
        return None
    word = phrase.split()[0].lower()
    return word if word in OBJECT_COLOURS else None


_NAMES = list(OBJECT_COLOURS)
_BASE = np.asarray(list(OBJECT_COLOURS.values()), dtype=np.float64)  # [K, 3]
_REFERENCE = np.concatenate([_BASE, np.stack([shade_of(c) for c in _BASE])])  # [2K, 3]: colours, then shades


def majority_colour(pixels: np.ndarray) -> str:
    """The palette name most of ``pixels [P, 3]`` are nearest to (a shade counts for its colour)."""
    nearest = np.abs(pixels[:, None, :].astype(np.float64) - _REFERENCE[None]).sum(-1).argmin(1) % len(_NAMES)
    return _NAMES[int(np.bincount(nearest, minlength=len(_NAMES)).argmax())]


def colour_counts(frames: np.ndarray, clip: Clip) -> tuple[int, int]:
    """``(matches, measured boxes)`` of one clip's ``frames [T, H, W, 3]`` against its phrases."""
    T, H, W, _ = frames.shape
    correct = total = 0
    for inst in clip.instances:
        named = phrase_colour(inst.phrase)
        if named is None or inst.iscrowd:
            continue
        visible = inst.present if inst.visibility is None else inst.present & (inst.visibility >= _MIN_VISIBILITY)
        for t in np.flatnonzero(visible):
            x0, y0, x1, y1 = inst.boxes[t]
            dx, dy = (x1 - x0) * _INNER, (y1 - y0) * _INNER
            xs = slice(max(0, int(round(x0 + dx))), min(W, int(round(x1 - dx))))
            ys = slice(max(0, int(round(y0 + dy))), min(H, int(round(y1 - dy))))
            region = frames[t, ys, xs].reshape(-1, 3)
            if not len(region):  # a box under 2 px: nothing to measure
                continue
            correct += majority_colour(region) == named
            total += 1
    return correct, total


def colour_accuracy(pairs) -> float:
    """``ColourAcc`` (x100, nan without measured boxes) over ``(frames, clip)`` pairs."""
    correct = total = 0
    for frames, clip in pairs:
        c, n = colour_counts(frames, clip)
        correct, total = correct + c, total + n
    return 100.0 * correct / total if total else float("nan")


def dataset_colour_accuracy(data: TrackletDataset, phrased: TrackletDataset) -> float:
    """``ColourAcc`` of ``data``'s clips (e.g. generated) against the phrases of the same clips in ``phrased``."""
    return colour_accuracy((read_clip_frames(c, data.image_root), with_phrases(c, phrased.clip(c.name)))
                           for c in data.clips)


VARIANTS = ("with phrases", "category only")


def phrase_variants(pipe, only: str | None = None) -> tuple[str, ...]:
    """The variants :func:`compare_phrases` generates: both (only the second for a model without
    phrases), or ``only`` one of :data:`VARIANTS`."""
    takes_phrases = pipe.unet.location_tokens.phrase is not None
    if only is None:
        return VARIANTS if takes_phrases else VARIANTS[1:]
    if only not in VARIANTS:
        raise ValueError(f"unknown variant {only!r}; choose one of {', '.join(map(repr, VARIANTS))}")
    if only == VARIANTS[0] and not takes_phrases:
        raise ValueError("the model was trained without appearance phrases: it has no 'with phrases' variant")
    return (only,)


def compare_phrases(pipe, tracker, truth: TrackletDataset, settings, workdir: Path,
                    variants: tuple[str, ...] | None = None) -> dict:
    """The held-out clips ``truth`` (phrases attached) generated with their phrases and / or with the
    category only (same seeds; ``variants``, default :func:`phrase_variants`), each scored with
    :func:`.fidelity.fidelity_row` and ``ColourAcc`` against the phrases; plus the real clips' row."""
    from ..pipelines.generation import generate_dataset
    from .fidelity import fidelity_row

    def scored(dataset: TrackletDataset) -> dict:
        return {**fidelity_row(tracker, dataset), "ColourAcc": dataset_colour_accuracy(dataset, truth)}

    rows = {"real": scored(truth)}
    plain = TrackletDataset([c.copy() for c in truth.clips], truth.categories, truth.source, truth.image_root)
    for inst in (i for c in plain.clips for i in c.instances):
        inst.phrase = None
    inputs = dict(zip(VARIANTS, (truth, plain)))
    for name in variants or phrase_variants(pipe):
        generated = generate_dataset(pipe, inputs[name], Path(workdir) / name.replace(" ", "-"), settings)
        rows[name] = scored(generated)
    return rows


def with_phrases(clip: Clip, source: Clip) -> Clip:
    """``clip`` (e.g. generated labels) with the phrases of ``source``'s instances of the same ids."""
    out = clip.copy()
    phrases = {inst.id: inst.phrase for inst in source.instances}
    for inst in out.instances:
        inst.phrase = phrases.get(inst.id)
    return out
