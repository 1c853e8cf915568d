"""Do generated objects follow their boxes? A simple, honest number for the embedded default.

**In-box contrast** of a clip: the background colour is the per-channel median of the pixels
outside every box (over all frames); for each present instance and frame, the contrast is the mean
absolute difference (0-255, averaged over channels) between its box's pixels and that background.
The clip's value is the mean over instances and frames. Real clips score high (objects differ from
the background); noise or a box-blind generator scores about as low as the background's own
texture. **Mismatched control**: the same number with the boxes of another clip (a cyclic shift of
the clips), i.e. what a generator that ignores the boxes gets by chance.

**Colour stability**: per instance, the standard deviation over its present frames of its mean
in-box colour (0-255, averaged over channels); the clip's value is the mean over instances. Lower is
steadier; compare with the real clips, where objects keep one colour.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..tracklets.clip import Clip


@dataclass
class BoxFollowing:
    contrast: float            # in-box contrast with the clips' own boxes
    mismatched_contrast: float  # with another clip's boxes (chance level)
    colour_std: float          # colour stability over frames (lower is steadier)
    clips: int

    def to_dict(self) -> dict:
        return asdict(self)


def _pixel_box(box: np.ndarray) -> tuple[int, int, int, int]:
    """The pixels a float xyxy box touches, as slice bounds."""
    return int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3]))


def _pixel_boxes(clip: Clip, t: int) -> list[tuple[int, int, int, int]]:
    return [_pixel_box(inst.boxes[t]) for inst in clip.instances if inst.present[t]]


def background_colour(frames: np.ndarray, clip: Clip) -> np.ndarray:
    """Per-channel median of the pixels outside every box, ``[3]`` (all pixels if none are outside)."""
    outside = np.ones(frames.shape[:3], dtype=bool)  # [T, H, W]
    for t in range(len(frames)):
        for x0, y0, x1, y1 in _pixel_boxes(clip, t):
            outside[t, y0:y1, x0:x1] = False
    pixels = frames[outside] if outside.any() else frames.reshape(-1, 3)
    return np.median(pixels.reshape(-1, 3).astype(np.float64), axis=0)


def in_box_contrast(frames: np.ndarray, clip: Clip) -> float:
    """Mean |box pixels - background| of ``frames [T, H, W, 3]`` uint8 with ``clip``'s boxes (``nan`` without boxes)."""
    background = background_colour(frames, clip)
    values = []
    for t in range(min(len(frames), clip.num_frames)):
        for x0, y0, x1, y1 in _pixel_boxes(clip, t):
            patch = frames[t, y0:y1, x0:x1].reshape(-1, 3).astype(np.float64)
            if len(patch):
                values.append(np.abs(patch - background).mean())
    return float(np.mean(values)) if values else float("nan")


def colour_std(frames: np.ndarray, clip: Clip) -> float:
    """Mean over instances of the std over frames of the mean in-box colour (``nan`` if undefined)."""
    per_instance = []
    for inst in clip.instances:
        colours = []
        for t in np.flatnonzero(inst.present):
            x0, y0, x1, y1 = _pixel_box(inst.boxes[t])
            patch = frames[t, y0:y1, x0:x1].reshape(-1, 3).astype(np.float64)
            if len(patch):
                colours.append(patch.mean(axis=0))
        if len(colours) >= 2:
            per_instance.append(np.std(np.stack(colours), axis=0).mean())
    return float(np.mean(per_instance)) if per_instance else float("nan")


def box_following(videos: list[np.ndarray], clips: list[Clip]) -> BoxFollowing:
    """The three numbers over a set of clips (``videos[i]`` uint8 ``[T, H, W, 3]`` of ``clips[i]``)."""
    if len(videos) != len(clips) or not clips:
        raise ValueError(f"need one video per clip, got {len(videos)} videos for {len(clips)} clips")
    contrast = [in_box_contrast(v, c) for v, c in zip(videos, clips)]
    control = float("nan")  # one clip has no other clip's boxes to borrow
    if len(clips) > 1:
        shifted = clips[1:] + clips[:1]
        control = float(np.nanmean([in_box_contrast(v, _fit(o, c)) for v, c, o in zip(videos, clips, shifted)]))
    stability = [colour_std(v, c) for v, c in zip(videos, clips)]
    return BoxFollowing(float(np.nanmean(contrast)), control, float(np.nanmean(stability)), len(clips))


def _fit(other: Clip, clip: Clip) -> Clip:
    """``other``'s boxes on ``clip``'s frame size and length (the mismatched control)."""
    out = other.resize(clip.width, clip.height) if (other.width, other.height) != (clip.width, clip.height) else other
    T = min(out.num_frames, clip.num_frames)
    return out.window(0, T, drop_empty=False) if T < out.num_frames else out
