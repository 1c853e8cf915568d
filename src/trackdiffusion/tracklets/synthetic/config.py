"""The configuration of the synthetic world, saved next to the data as ``world.json``.

Sizes and speeds are fractions of the shorter frame side, so a world rendered at another
resolution looks the same; the comments give the pixel values at 64 x 64.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .appearance import BACKGROUNDS
from .shapes import SHAPES, TEXTURES


@dataclass(frozen=True)
class WorldConfig:
    """Everything that decides what the synthetic world renders (with ``seed``)."""

    train_clips: int = 200
    val_clips: int = 32
    num_frames: int = 16
    width: int = 64
    height: int = 64
    fps: float = 8.0
    min_objects: int = 1
    max_objects: int = 4
    categories: tuple[str, ...] = SHAPES
    textures: tuple[str, ...] = TEXTURES
    backgrounds: tuple[str, ...] = BACKGROUNDS
    min_radius: float = 0.1  # 6.4 px
    max_radius: float = 0.22  # 14 px; the largest shapes reach 1.15 radii (16 px)
    max_scale_change: float = 0.35  # radius grows or shrinks by up to 35 % over a clip
    min_speed: float = 0.008  # 0.5 px per frame
    max_speed: float = 0.04  # 2.5 px per frame
    motion_noise: float = 0.004  # std of the per-frame velocity change (0.25 px)
    max_rotation_deg: float = 15.0  # fixed tilt per object; larger would turn squares into diamonds
    p_crossing: float = 0.5  # per object after the first: its path crosses an earlier object's
    p_reentry: float = 0.2  # per object: it leaves the frame and comes back
    min_contrast: float = 150.0  # L1 distance (0-255 per channel) of object colours to the background
    background_noise: float = 2.0  # std of the fixed per-pixel background noise (0-255)
    seed: int = 0

    def __post_init__(self) -> None:
        # Lists from JSON become tuples, so configs compare and hash by value.
        for name in ("categories", "textures", "backgrounds"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        problems = self.problems()
        if problems:
            raise ValueError("invalid WorldConfig:\n" + "\n".join(f"  {p}" for p in problems))

    def problems(self) -> list[str]:
        """Every inconsistent field, as ``field: message``."""
        out: list[str] = []
        positive = ("num_frames", "width", "height", "fps", "min_objects", "min_radius", "max_speed")
        out += [f"{n}: must be > 0, got {getattr(self, n)}" for n in positive if getattr(self, n) <= 0]
        non_negative = ("train_clips", "val_clips", "min_speed", "motion_noise", "max_scale_change",
                        "max_rotation_deg", "min_contrast", "background_noise", "seed")
        out += [f"{n}: must be >= 0, got {getattr(self, n)}" for n in non_negative if getattr(self, n) < 0]
        for lo, hi in (("min_objects", "max_objects"), ("min_radius", "max_radius"), ("min_speed", "max_speed")):
            if getattr(self, lo) > getattr(self, hi):
                out.append(f"{lo}/{hi}: {getattr(self, lo)} > {getattr(self, hi)}")
        if self.max_radius > 0.3:
            out.append(f"max_radius: {self.max_radius} leaves no room to move (at most 0.3 of the shorter side)")
        if self.max_scale_change >= 1:
            out.append(f"max_scale_change: must be < 1, got {self.max_scale_change}")
        for p in ("p_crossing", "p_reentry"):
            if not 0 <= getattr(self, p) <= 1:
                out.append(f"{p}: must be in [0, 1], got {getattr(self, p)}")
        for name, known in (("categories", SHAPES), ("textures", TEXTURES), ("backgrounds", BACKGROUNDS)):
            values = getattr(self, name)
            if not values:
                out.append(f"{name}: must not be empty")
            unknown = [v for v in values if v not in known]
            if unknown:
                out.append(f"{name}: unknown {unknown} (known: {', '.join(known)})")
            if len(set(values)) != len(values):
                out.append(f"{name}: duplicates in {list(values)}")
        return out

    @property
    def clips_per_split(self) -> dict[str, int]:
        return {"train": self.train_clips, "val": self.val_clips}

    @property
    def scale(self) -> float:
        """Pixels per unit of the fractional sizes and speeds (the shorter frame side)."""
        return float(min(self.width, self.height))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict, where: str = "world config") -> "WorldConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown} (known: {sorted(known)})")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> "WorldConfig":
        return cls.from_dict(json.loads(Path(path).read_text()), where=str(path))
