"""Trajectories of the synthetic objects: smooth, noisy, bouncing, crossing and re-entering.

A path is built from an *anchor* (a frame, a position and a velocity there) by stepping
forwards and backwards in time, reflecting at walls. One mechanism then gives every kind of
motion: a free object has walls a little inside the frame; a crossing object is anchored on
another object's position at some frame; a re-entering object is anchored on a wall outside
the frame, so it is fully outside at the anchor frame and inside before and after.
Positions are pixel coordinates ``(x, y)`` of the object centre, arrays ``[T, 2]``.
"""

from __future__ import annotations

import numpy as np

from .config import WorldConfig
from .shapes import EXTENT

# The velocity noise is an AR(1) process: it wanders smoothly instead of accumulating.
_NOISE_MEMORY = 0.7
# Free objects may be cut by the border by up to about this fraction of their radius.
_WALL_INSET = 0.6
# A crossing object heads off at 60-180 degrees to its partner's direction, so they do cross.
_CROSS_ANGLE = (np.pi / 3, np.pi)
_CROSS_JITTER = 0.2  # anchor offset from the partner's centre, in radii
_REENTRY_SPEED = (0.7, 1.2)  # times max_speed along the axis it leaves by
_REENTRY_MARGIN = 1.0  # pixels between the shape's extent and the outer wall


def radius_profile(config: WorldConfig, rng: np.random.Generator) -> np.ndarray:
    """``[T]`` radii in pixels: a random size that grows or shrinks smoothly over the clip."""
    T = config.num_frames
    r0 = rng.uniform(config.min_radius, config.max_radius) * config.scale
    ratio = 1.0 + rng.uniform(-config.max_scale_change, config.max_scale_change)
    steps = (np.arange(T) - (T - 1) / 2) / max(T - 1, 1)  # [-0.5, 0.5]
    return r0 * ratio ** steps


def bounce_path(anchor: np.ndarray, velocity: np.ndarray, anchor_t: int, num_frames: int,
                lo: np.ndarray, hi: np.ndarray, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """``[T, 2]`` positions through ``anchor`` at ``anchor_t``, reflecting at ``lo`` / ``hi``.

    Backwards in time is the same walk with the velocity reversed, so the path is smooth
    through the anchor.
    """
    out = np.empty((num_frames, 2))
    out[anchor_t] = anchor
    for direction in (1, -1):
        p, base, wobble = anchor.astype(np.float64), velocity * direction, np.zeros(2)
        stop = num_frames if direction > 0 else -1
        for t in range(anchor_t + direction, stop, direction):
            wobble = _NOISE_MEMORY * wobble + rng.normal(0.0, noise_std, size=2)
            p = p + base + wobble
            for wall, outside in ((lo, p < lo), (hi, p > hi)):
                p = np.where(outside, 2 * wall - p, p)
                base, wobble = np.where(outside, -base, base), np.where(outside, -wobble, wobble)
            p = np.clip(p, lo, hi)  # a step longer than the room between the walls
            out[t] = p
    return out


def _random_velocity(config: WorldConfig, rng: np.random.Generator, angle: float | None = None) -> np.ndarray:
    speed = rng.uniform(config.min_speed, config.max_speed) * config.scale
    angle = rng.uniform(0, 2 * np.pi) if angle is None else angle
    return speed * np.array([np.cos(angle), np.sin(angle)])


def _walls(config: WorldConfig, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inset = _WALL_INSET * radius.max()
    size = np.array([config.width, config.height], dtype=np.float64)
    return np.full(2, inset), size - inset


def free_path(config: WorldConfig, radius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An object wandering inside the frame, bouncing off the borders."""
    lo, hi = _walls(config, radius)
    anchor_t = int(rng.integers(config.num_frames))
    anchor = rng.uniform(lo, hi)
    noise = config.motion_noise * config.scale
    return bounce_path(anchor, _random_velocity(config, rng), anchor_t, config.num_frames, lo, hi, noise, rng)


def crossing_path(config: WorldConfig, radius: np.ndarray, partner: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray | None:
    """A path through ``partner``'s position ``[T, 2]`` at a random frame; None if it never is inside."""
    lo, hi = _walls(config, radius)
    inside = np.flatnonzero(np.all((partner >= lo) & (partner <= hi), axis=1))
    if len(inside) == 0:
        return None
    t = int(rng.choice(inside))
    step = partner[min(t + 1, config.num_frames - 1)] - partner[max(t - 1, 0)]
    heading = np.arctan2(step[1], step[0]) if np.any(step) else rng.uniform(0, 2 * np.pi)
    angle = heading + rng.uniform(*_CROSS_ANGLE) * rng.choice([-1.0, 1.0])
    anchor = np.clip(partner[t] + rng.normal(0.0, _CROSS_JITTER * radius[t], size=2), lo, hi)
    noise = config.motion_noise * config.scale
    return bounce_path(anchor, _random_velocity(config, rng, angle), t, config.num_frames, lo, hi, noise, rng)


def reentry_path(config: WorldConfig, shape: str, radius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A path that leaves the frame by one side and comes back.

    At the anchor frame (in the middle half of the clip) the centre sits on a wall outside the
    frame, just farther than the shape reaches, so the object is fully outside there; about
    0 or 1 extra frames on each side are outside too.
    """
    T = config.num_frames
    lo, hi = _walls(config, radius)
    anchor_t = int(rng.integers(T // 4, T - T // 4))
    axis, side = int(rng.integers(2)), int(rng.integers(2))
    size = (config.width, config.height)[axis]
    speed = rng.uniform(*_REENTRY_SPEED) * config.max_speed * config.scale
    outside = EXTENT[shape] * radius[anchor_t] + _REENTRY_MARGIN + speed * int(rng.integers(2))
    anchor = rng.uniform(lo, hi)
    velocity = _random_velocity(config, rng) * 0.5
    if side == 0:
        lo[axis], anchor[axis], velocity[axis] = -outside, -outside, speed
    else:
        hi[axis], anchor[axis], velocity[axis] = size + outside, size + outside, -speed
    noise = config.motion_noise * config.scale
    return bounce_path(anchor, velocity, anchor_t, T, lo, hi, noise, rng)
