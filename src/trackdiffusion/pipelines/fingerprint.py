"""What made a generated clip: a fingerprint of its inputs and settings, part by part.

Resuming compares the fingerprint a finished clip recorded with the one the current command
would record; any differing part means the clip on disk is not what the command asks for. The
parts are named, so a refusal can say which setting changed (``seed 0 -> 5``). Tracklets and
checkpoints are hashed (their content, not their paths), small settings are kept as values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..tracklets import Clip

# Files of a checkpoint folder that do not change what it generates.
_NOT_WEIGHTS = {"README.md", "loss.png"}


def tracklets_hash(clip: Clip) -> str:
    """sha256 of everything about ``clip`` that conditions generation (size, frames, instances)."""
    record = {
        "size": [clip.width, clip.height], "frames": clip.num_frames,
        "instances": [{"id": inst.id, "category": clip.categories[inst.category_id],
                       "present": inst.present.astype(int).tolist(),
                       # 1e-6 px: what survives a round trip through the json formats.
                       "boxes": np.round(np.nan_to_num(inst.boxes[inst.present], nan=-1.0), 6).tolist(),
                       **({"phrase": inst.phrase} if inst.phrase else {})}  # phrase-less hashes stay as they were
                      for inst in clip.instances],
    }
    return _sha256(json.dumps(record, sort_keys=True).encode())


def checkpoint_hash(path: str | Path) -> str:
    """sha256 over the relative names and contents of a checkpoint folder's weight/config files."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _NOT_WEIGHTS):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def differences(recorded: dict, wanted: dict) -> list[str]:
    """``"seed 0 -> 5"`` for every part that differs (hashes shortened to 12 characters)."""
    out = []
    for key in sorted(set(recorded) | set(wanted)):
        old, new = recorded.get(key), wanted.get(key)
        if old != new:
            out.append(f"{key} {_short(old)} -> {_short(new)}")
    return out


def _short(value) -> str:
    text = json.dumps(value)
    return text[:13] + '…"' if isinstance(value, str) and len(value) == 64 else text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
