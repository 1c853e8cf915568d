"""Shape masks and surface textures on local object coordinates.

Every function takes ``u, v``: the pixel centres of a patch around an object, in the object's
own frame (rotated with it) and divided by its radius, so one formula serves every size and
every frame at once (arrays of any shape, usually ``[T, P, P]`` for T frames of a P x P patch).
Shape ``s`` fits inside a circle of radius ``EXTENT[s]``, which sizes patches and exits.
"""

from __future__ import annotations

import numpy as np

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star", "cross")
TEXTURES: tuple[str, ...] = ("solid", "stripes", "checker", "dots")

# Farthest distance from the centre (in radii) each shape reaches, whatever its rotation.
EXTENT = {"circle": 1.0, "square": 1.132, "triangle": 1.24, "diamond": 1.1, "star": 1.15, "cross": 1.057}

# Sizes are chosen so every shape covers a similar area at the same radius (a triangle with
# circumradius 1 would look far smaller than a circle of radius 1).
_SQUARE_HALF = 0.8
_DIAMOND_HALF = 1.1
_TRIANGLE_INRADIUS = 0.62
_STAR_OUTER, _STAR_INNER, _STAR_POINTS = 1.15, 0.5, 5
_CROSS_HALF_WIDTH, _CROSS_ARM = 0.34, 1.0
# Texture cells per radius: coarse enough to stay visible on a 6-pixel object.
_TEXTURE_FREQ = 1.4
_DOT_RADIUS = 0.3


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of ``shape`` at local coordinates ``u, v`` (same shape as ``u``)."""
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= _SQUARE_HALF
    if shape == "diamond":
        return np.abs(u) + np.abs(v) <= _DIAMOND_HALF
    if shape == "triangle":
        # Three half-planes with outward normals at 90, 210 and 330 degrees (image y points
        # down, so the apex is at the top).
        inside = v <= _TRIANGLE_INRADIUS
        for angle in (np.deg2rad(210.0), np.deg2rad(330.0)):
            inside &= u * np.cos(angle) + v * np.sin(angle) <= _TRIANGLE_INRADIUS
        return inside
    if shape == "star":
        # Radius interpolated linearly in angle between the tips and the notches.
        r = np.hypot(u, v)
        sector = 2 * np.pi / _STAR_POINTS
        phase = np.mod(np.arctan2(v, u) + np.pi / 2, sector) / sector  # 0 at a tip (apex up)
        to_tip = np.abs(phase - 0.5) * 2  # 1 at a tip, 0 at a notch
        return r <= _STAR_INNER + (_STAR_OUTER - _STAR_INNER) * to_tip
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= _CROSS_HALF_WIDTH) & (av <= _CROSS_ARM)) | ((av <= _CROSS_HALF_WIDTH) & (au <= _CROSS_ARM))
    raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")


def texture_pattern(texture: str, u: np.ndarray, v: np.ndarray, angle: float) -> np.ndarray:
    """Boolean pattern (True = second colour) of ``texture`` at local coordinates ``u, v``.

    ``angle`` (radians) turns the pattern inside the object, so two striped squares differ.
    """
    if texture == "solid":
        return np.zeros(u.shape, dtype=bool)
    c, s = np.cos(angle), np.sin(angle)
    a = (u * c + v * s) * _TEXTURE_FREQ
    b = (v * c - u * s) * _TEXTURE_FREQ
    if texture == "stripes":
        return np.floor(a).astype(np.int64) % 2 == 1
    if texture == "checker":
        return (np.floor(a) + np.floor(b)).astype(np.int64) % 2 == 1
    if texture == "dots":
        da, db = a - np.round(a), b - np.round(b)
        return da * da + db * db <= _DOT_RADIUS ** 2
    raise ValueError(f"unknown texture {texture!r} (known: {', '.join(TEXTURES)})")
