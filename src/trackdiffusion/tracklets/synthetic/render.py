"""Rendering one clip of the synthetic world, with exact annotations.

Shapes are painted with hard edges (no anti-aliasing), so the annotation is exact: the box of
an instance is the tight box of its in-frame pixels as if nothing occluded it, and its
visibility is the fraction of all its pixels (inside or outside the frame) that is seen.
Objects are painted back to front in a fixed depth order; an instance is present in a frame
when at least one of its pixels is inside the frame (it may be fully occluded there, with
visibility 0). Legend: T frames, N instances, P patch side, H, W frame size.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..captions import count_phrase, describe_objects
from ..clip import Clip, Instance
from .appearance import Background, make_background, pick_object_colour
from .config import WorldConfig
from .motion import crossing_path, free_path, radius_profile, reentry_path
from .shapes import EXTENT, shape_mask, texture_pattern

_TEXTURE_WORDS = {"solid": "", "stripes": "striped", "checker": "checkered", "dots": "dotted"}


@dataclass
class ObjectPlan:
    """What one object looks like and where it goes (everything random is drawn here)."""

    category: str
    colour_name: str
    colour: np.ndarray  # [3] uint8
    shade: np.ndarray  # [3] uint8, the texture's second colour
    texture: str
    texture_angle: float
    rotation: float  # radians, fixed over the clip
    centre: np.ndarray  # [T, 2] float pixels (x, y)
    radius: np.ndarray  # [T] float pixels
    motion: str  # "free", "crossing" or "reentry"

    @property
    def phrase(self) -> str:
        """Noun phrase for captions, e.g. ``red striped circle``."""
        return " ".join(w for w in (self.colour_name, _TEXTURE_WORDS[self.texture], self.category) if w)


def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of clip ``index`` of ``split``: independent of every other clip.

    crc32 (not ``hash``) keeps the split's share of the seed stable across processes and runs.
    """
    return np.random.default_rng([seed, zlib.crc32(split.encode()), index])


def plan_objects(config: WorldConfig, background: Background, rng: np.random.Generator) -> list[ObjectPlan]:
    """The objects of a clip, in depth order (first = farthest back)."""
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    plans: list[ObjectPlan] = []
    for k in range(count):
        category = config.categories[rng.integers(len(config.categories))]
        texture = config.textures[rng.integers(len(config.textures))]
        colour_name, colour, shade = pick_object_colour(background, config.min_contrast, rng)
        radius = radius_profile(config, rng)
        centre: np.ndarray | None = None
        if rng.random() < config.p_reentry:
            centre, motion = reentry_path(config, category, radius, rng), "reentry"
        elif k > 0 and rng.random() < config.p_crossing:
            partner = plans[int(rng.integers(k))]
            centre, motion = crossing_path(config, radius, partner.centre, rng), "crossing"
        if centre is None:  # no special path drawn, or the partner never came inside the frame
            centre, motion = free_path(config, radius, rng), "free"
        plans.append(ObjectPlan(
            category=category, colour_name=colour_name, colour=colour, shade=shade, texture=texture,
            texture_angle=float(rng.choice([0.0, 0.25, 0.5, 0.75]) * np.pi),
            rotation=float(np.deg2rad(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg))),
            centre=centre, radius=radius, motion=motion,
        ))
    # Depth is drawn independently of the creation order, so crossing objects pass in front
    # of their partner as often as behind it.
    return [plans[i] for i in rng.permutation(count)]


@dataclass
class _Patch:
    """An object rasterised on a square patch per frame around its centre."""

    mask: np.ndarray  # [T, P, P] bool, all of the object's pixels (also outside the frame)
    colour: np.ndarray  # [T, P, P, 3] uint8
    xs: np.ndarray  # [T, P] frame column of each patch column
    ys: np.ndarray  # [T, P] frame row of each patch row


def rasterise(plan: ObjectPlan) -> _Patch:
    """The object's pixels in every frame, vectorised over T."""
    half = int(np.ceil(EXTENT[plan.category] * plan.radius.max())) + 1
    offsets = np.arange(-half, half + 1)  # [P]
    origin = np.floor(plan.centre).astype(np.int64)  # [T, 2]
    xs = origin[:, 0:1] + offsets  # [T, P]
    ys = origin[:, 1:2] + offsets
    # Pixel centres relative to the object centre, in radii.
    dx = (xs + 0.5 - plan.centre[:, 0:1]) / plan.radius[:, None]  # [T, P]
    dy = (ys + 0.5 - plan.centre[:, 1:2]) / plan.radius[:, None]
    c, s = np.cos(plan.rotation), np.sin(plan.rotation)
    u = dx[:, None, :] * c + dy[:, :, None] * s  # [T, P(rows), P(cols)]
    v = dy[:, :, None] * c - dx[:, None, :] * s
    mask = shape_mask(plan.category, u, v)
    pattern = texture_pattern(plan.texture, u, v, plan.texture_angle)
    colour = np.where(pattern[..., None], plan.shade, plan.colour).astype(np.uint8)
    return _Patch(mask, colour, xs, ys)


def composite(background: np.ndarray, plans: list[ObjectPlan],
              num_frames: int) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, _Patch]]]:
    """Paint ``plans`` back to front over ``background [H, W, 3]``.

    Returns ``frames [T, H, W, 3] uint8``, ``owner [T, H, W]`` (the index of the object seen at
    each pixel, -1 for background) and per object ``(in-frame mask [T, P, P], patch)``.
    """
    H, W = background.shape[:2]
    frames = np.broadcast_to(background, (num_frames, H, W, 3)).copy()
    owner = np.full((num_frames, H, W), -1, dtype=np.int16)
    painted = []
    for k, plan in enumerate(plans):
        patch = rasterise(plan)
        in_x = (patch.xs >= 0) & (patch.xs < W)  # [T, P]
        in_y = (patch.ys >= 0) & (patch.ys < H)
        inside = patch.mask & in_y[:, :, None] & in_x[:, None, :]  # [T, P, P]
        t, py, px = np.nonzero(inside)
        gy, gx = patch.ys[t, py], patch.xs[t, px]
        frames[t, gy, gx] = patch.colour[t, py, px]
        owner[t, gy, gx] = k
        painted.append((inside, patch))
    return frames, owner, painted


def tight_boxes(inside: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``boxes [T, 4]`` xyxy (nan where empty) and ``present [T]`` of the pixels ``inside [T, P, P]``."""
    rows, cols = inside.any(2), inside.any(1)  # [T, P] each
    present = rows.any(1)
    P = inside.shape[1]
    first = lambda a: np.argmax(a, axis=1)  # noqa: E731
    last = lambda a: P - 1 - np.argmax(a[:, ::-1], axis=1)  # noqa: E731
    T = np.arange(len(present))
    boxes = np.stack([xs[T, first(cols)], ys[T, first(rows)], xs[T, last(cols)] + 1, ys[T, last(rows)] + 1], 1)
    boxes = boxes.astype(np.float64)
    boxes[~present] = np.nan
    return boxes, present


@dataclass
class RenderedClip:
    """A rendered clip: ``frames [T, H, W, 3] uint8``, its ``clip``, ``ids [T, H, W]`` (the
    instance id seen at each pixel, 0 for background; also the clip's segmentation) and
    ``phrases`` (instance id -> appearance phrase; kept off the clip's instances, so that clips
    rendered in memory condition a model without phrases as they always did)."""

    frames: np.ndarray
    clip: Clip
    ids: np.ndarray
    phrases: dict[int, str]


class SyntheticWorld:
    """The seeded synthetic MOT world: ``render_clip(split, i)`` depends only on (config, split, i)."""

    def __init__(self, config: WorldConfig | None = None):
        self.config = config or WorldConfig()
        self.categories = {i + 1: name for i, name in enumerate(self.config.categories)}

    def clip_name(self, split: str, index: int) -> str:
        return f"{split}_{index:05d}"

    def render_clip(self, split: str, index: int) -> tuple[np.ndarray, Clip]:
        """``(frames [T, H, W, 3] uint8, Clip)`` of clip ``index`` of ``split`` (see :meth:`render`)."""
        rendered = self.render(split, index)
        return rendered.frames, rendered.clip

    def render(self, split: str, index: int) -> "RenderedClip":
        """Frames, annotations and the instance id seen at every pixel of clip ``index`` of ``split``.

        Instance ids are 1..N in depth order (1 = farthest back); objects that never enter the
        frame are left out. The clip's caption names every instance's colour, texture and shape.
        """
        cfg = self.config
        background, plans = self.plan_clip(split, index)
        frames, owner, painted = composite(background.image, plans, cfg.num_frames)
        # seen[t, k]: pixels where object k is on top, counted over every frame at once.
        flat = owner.reshape(cfg.num_frames, -1).astype(np.int64) + 1  # 0 = background
        seen = np.stack([np.bincount(row, minlength=len(plans) + 1) for row in flat])[:, 1:]  # [T, N]
        instances, phrases = [], []
        to_id = np.zeros(len(plans) + 1, dtype=np.int16)  # owner + 1 -> instance id (0: none)
        category_id = {name: cid for cid, name in self.categories.items()}
        for k, (plan, (inside, patch)) in enumerate(zip(plans, painted)):
            boxes, present = tight_boxes(inside, patch.xs, patch.ys)
            if not present.any():
                continue
            total = patch.mask.sum(axis=(1, 2))  # [T] all pixels, inside the frame or not
            visibility = np.where(present, seen[:, k] / np.maximum(total, 1), 1.0)
            instances.append(Instance(id=len(instances) + 1, category_id=category_id[plan.category],
                                      boxes=boxes, present=present, visibility=visibility))
            to_id[k + 1] = len(instances)
            phrases.append(plan.phrase)
        scene = count_phrase(f"{background.name} background", 1)
        caption = f"a video of {describe_objects(phrases)} on {scene}" if phrases else f"a video of {scene}"
        clip = Clip(name=self.clip_name(split, index), width=cfg.width, height=cfg.height,
                    num_frames=cfg.num_frames, categories=self.categories, instances=instances,
                    fps=cfg.fps, caption=caption)
        return RenderedClip(frames, clip, to_id[owner + 1], {i + 1: p for i, p in enumerate(phrases)})

    def plan_clip(self, split: str, index: int) -> tuple[Background, list[ObjectPlan]]:
        """The background and object plans behind :meth:`render_clip` (for inspection and tests)."""
        cfg = self.config
        rng = clip_rng(cfg.seed, split, index)
        background = make_background(cfg.backgrounds, cfg.width, cfg.height, cfg.background_noise, rng)
        return background, plan_objects(cfg, background, rng)
