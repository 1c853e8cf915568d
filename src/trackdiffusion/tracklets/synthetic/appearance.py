"""Colours and backgrounds of the synthetic world.

Colours come from small named palettes (jittered per clip) so captions can name them
("a red striped circle on a navy background"): text a sentence encoder understands.
Backgrounds are static over a clip and simple (flat, a gradient, or a soft texture) because a
tiny model trained on a CPU has to learn them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKGROUNDS: tuple[str, ...] = ("flat", "gradient", "texture")

OBJECT_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "orange": (245, 140, 25), "yellow": (240, 220, 40),
    "green": (40, 180, 60), "cyan": (40, 210, 220), "blue": (40, 80, 230),
    "purple": (140, 50, 200), "pink": (255, 150, 190), "white": (245, 245, 245),
    "black": (20, 20, 20),
}
BACKGROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "grey": (128, 128, 128), "dark grey": (60, 60, 60), "light grey": (190, 190, 190),
    "beige": (210, 195, 160), "navy": (30, 40, 90), "dark green": (30, 80, 45),
    "brown": (110, 75, 45), "sky blue": (150, 190, 225), "olive": (110, 110, 50),
    "teal": (30, 100, 100),
}
# Per-channel jitter of a palette colour: variety within a name, small enough to keep the name right.
_OBJECT_JITTER, _BACKGROUND_JITTER = 12, 10
_GRADIENT_SHIFT = (25.0, 45.0)  # brightness difference between the two ends of a gradient
_TEXTURE_AMPLITUDE = 14.0  # of the soft background texture, 0-255 scale
# A texture or stripe colour is the object colour pulled this far towards black or white.
_SHADE_MIX = 0.45


@dataclass(frozen=True)
class Background:
    """A clip's background: ``kind`` in :data:`BACKGROUNDS` over the palette colour ``name``."""

    kind: str
    name: str
    image: np.ndarray  # [H, W, 3] uint8, noise included


def _jitter(rgb: tuple[int, int, int], amount: int, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.asarray(rgb, dtype=np.float64) + rng.integers(-amount, amount + 1, size=3), 0, 255)


def make_background(kinds: tuple[str, ...], width: int, height: int, noise_std: float,
                    rng: np.random.Generator) -> Background:
    """A random background of one of ``kinds`` (static: one image for every frame)."""
    kind = kinds[rng.integers(len(kinds))]
    name = list(BACKGROUND_COLOURS)[rng.integers(len(BACKGROUND_COLOURS))]
    base = _jitter(BACKGROUND_COLOURS[name], _BACKGROUND_JITTER, rng)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    ys, xs = (ys + 0.5) / height - 0.5, (xs + 0.5) / width - 0.5  # [-0.5, 0.5] pixel centres
    image = np.broadcast_to(base, (height, width, 3)).copy()
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ramp = xs * np.cos(angle) + ys * np.sin(angle)  # [H, W] within [-0.71, 0.71]
        shift = rng.uniform(*_GRADIENT_SHIFT) * rng.choice([-1.0, 1.0])
        image += (ramp / 0.71 * shift / 2)[..., None]
    elif kind == "texture":
        # Two soft sine waves: low frequency, so a 16x16 latent can carry them.
        wave = np.zeros((height, width))
        for _ in range(2):
            angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(1.0, 3.0), rng.uniform(0, 2 * np.pi)
            wave += np.sin(2 * np.pi * freq * (xs * np.cos(angle) + ys * np.sin(angle)) + phase)
        tint = rng.uniform(0.5, 1.0, size=3)  # not pure grey, so the texture carries some hue
        image += wave[..., None] * (_TEXTURE_AMPLITUDE / 2) * tint
    elif kind != "flat":
        raise ValueError(f"unknown background kind {kind!r} (known: {', '.join(BACKGROUNDS)})")
    image += rng.normal(0.0, noise_std, size=image.shape) if noise_std > 0 else 0.0
    return Background(kind, name, np.clip(np.rint(image), 0, 255).astype(np.uint8))


def pick_object_colour(background: Background, min_contrast: float,
                       rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray]:
    """``(name, colour [3] uint8, shade [3] uint8)`` of an object on ``background``.

    The colour is a jittered palette colour whose L1 distance to every background pixel is at
    least ``min_contrast``; when no palette colour is that far, the farthest one is used.
    """
    names = list(OBJECT_COLOURS)
    candidates = np.stack([_jitter(OBJECT_COLOURS[n], _OBJECT_JITTER, rng) for n in names])  # [K, 3]
    pixels = background.image.reshape(-1, 3).astype(np.float64)  # [H*W, 3]
    distance = np.abs(candidates[:, None, :] - pixels[None]).sum(-1).min(1)  # [K]
    allowed = np.flatnonzero(distance >= min_contrast)
    k = int(rng.choice(allowed)) if len(allowed) else int(np.argmax(distance))
    colour = candidates[k]
    return names[k], np.rint(colour).astype(np.uint8), np.rint(shade_of(colour)).astype(np.uint8)


def shade_of(colour: np.ndarray) -> np.ndarray:
    """The texture's second colour (float RGB): bright colours get a dark shade and dark ones a
    light shade, so a texture stays visible."""
    colour = np.asarray(colour, dtype=np.float64)
    target = 0.0 if colour.mean() > 110 else 255.0
    return colour + (target - colour) * _SHADE_MIX
