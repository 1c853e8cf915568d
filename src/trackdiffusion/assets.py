"""Where the shipped checkpoint lives (``assets/`` at the repository root)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_CHECKPOINT = ASSETS / "tiny-synthetic"
DEFAULT_TRACKER = ASSETS / "grounding-tracker"


def require(path: Path, what: str) -> Path:
    """``path`` if it exists, else an error saying what is missing and how to get it."""
    if not path.exists():
        raise FileNotFoundError(
            f"{what} not found at {path}. It ships in the repository's assets/ folder (run from a "
            "clone, e.g. after `make demo`), or pass the folder explicitly.")
    return path
