"""New tracklets from existing ones (``trackdiffusion tracklets augment``)."""

from __future__ import annotations

import json
from pathlib import Path

#: Written beside augmented tracklets: clip name -> the ops that made it (read by ``generate``
#: into each clip's manifest record).
AUGMENTATIONS_FILE = "augmentations.json"


def read_augmentations(tracklets: str | Path) -> dict[str, list] | None:
    """The augmentation ops of each clip of a tracklet file or folder, when it has them."""
    tracklets = Path(tracklets)
    file = (tracklets if tracklets.is_dir() else tracklets.parent) / AUGMENTATIONS_FILE
    return json.loads(file.read_text()) if file.is_file() else None
