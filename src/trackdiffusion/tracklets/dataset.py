"""A data set of clips sharing one category table: what every format reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .clip import Clip
from .errors import Problem


@dataclass
class TrackletDataset:
    """Clips plus their shared ``categories`` (id -> name).

    ``source`` is the path the data set was read from (used in messages), ``image_root`` the
    folder the clips' ``frame_names`` are relative to, when frames exist on disk.
    """

    clips: list[Clip]
    categories: dict[int, str]
    source: str | None = None
    image_root: str | None = None
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self):
        return iter(self.clips)

    def __getitem__(self, index: int) -> Clip:
        return self.clips[index]

    def clip(self, name: str) -> Clip:
        for c in self.clips:
            if c.name == name:
                return c
        raise KeyError(f"{self.source or 'data set'} has no clip named {name!r}")

    def category_id(self, name: str) -> int:
        for cid, cname in self.categories.items():
            if cname == name:
                return cid
        raise KeyError(f"unknown category name {name!r} (known: {sorted(self.categories.values())})")

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        names = set()
        for c in self.clips:
            if c.name in names:
                out.append(Problem(f"clip {c.name!r}", "duplicate clip name"))
            names.add(c.name)
            if c.categories is not self.categories and c.categories != self.categories:
                out.append(Problem(f"clip {c.name!r}", "category table differs from the data set's"))
            out.extend(c.problems())
        return out


def sidecar_folder(tracklets: str | Path) -> Path:
    """The folder whose sidecars (captions.json, phrases.json, augmentations.json) belong to
    ``tracklets`` (a tracklet folder, or a file in it)."""
    tracklets = Path(tracklets)
    return tracklets if tracklets.is_dir() else tracklets.parent
