"""The training set a tracker reads: real and generated clips in one data set (``trackdiffusion mix``).

Output ``D`` (``--to cocovid`` or ``ytvis``)::

    D/cocovid.json | D/ytvis.json   file names frames/<clip>/000000.png (relative to D)
    D/frames/<clip>/...             the frames, copied (hard-linked where the file system allows)

or (``--to mot``) MOTChallenge sequences ``D/<clip>/gt/gt.txt``, ``seqinfo.ini`` and
``D/<clip>/img1/000001.png ...`` as TrackEval and ByteTrack-style loaders read them. Always
``D/sources.json`` (clip -> ``real`` / ``generated``) and the split lists ``D/splits/train.txt``,
``real.txt``, ``generated.txt``. Clips are renamed ``real_<name>`` / ``gen_<name>`` and instance
ids are renumbered to be unique over the whole data set (mmtracking's CocoVID ``instance_id`` is
global), so the two sources can never collide.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..tracklets import Clip, TrackletDataset
from ..tracklets.formats import write_tracklets
from ..tracklets.formats.common import dir_name
from ..tracklets.loader import read_clip_frames
from ..video.io import write_png_frames
from .clip_store import MANIFEST_FILE

LAYOUTS = ("cocovid", "ytvis", "mot")
REAL, GENERATED = "real", "generated"


def verified_clips(generated: TrackletDataset, folder: Path, require_verified: bool) -> tuple[list[Clip], int]:
    """The generated clips a tracker may learn from, and how many were left out.

    With ``require_verified`` only clips whose manifest record says verification passed; a run
    without verification is refused (nothing to go by), naming the way out.
    """
    if not require_verified:
        return list(generated.clips), 0
    manifest = folder / MANIFEST_FILE
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} is missing: {folder} is not a generate output folder "
                                "(pass --unverified to use its clips anyway)")
    records = {r["clip"]: r for r in map(json.loads, manifest.read_text().splitlines())}
    unverified = [n for n, r in records.items() if r.get("verification") is None]
    if unverified:
        raise ValueError(f"{folder}: {len(unverified)} clip(s) were generated without --verify (first: "
                         f"{unverified[0]!r}); run `trackdiffusion generate --verify` or pass --unverified")
    keep = [c for c in generated.clips if records.get(c.name, {}).get("verification", {}).get("passed")]
    return keep, len(generated.clips) - len(keep)


def choose_count(available: int, real: int, ratio: float | None, count: int | None) -> int:
    """How many generated clips to use: ``count``, or ``ratio`` x the real clips, else all."""
    if ratio is not None and count is not None:
        raise ValueError("pass a ratio or a number of generated clips, not both")
    wanted = count if count is not None else (round(ratio * real) if ratio is not None else available)
    if wanted < 0 or (ratio is not None and ratio < 0):
        raise ValueError(f"the number of generated clips must be >= 0, got {wanted}")
    if wanted > available:
        raise ValueError(f"{wanted} generated clips asked for, {available} available")
    return wanted


def mix(real: TrackletDataset | None, generated: list[Clip], generated_root: str | Path, out: str | Path,
        layout: str) -> TrackletDataset:
    """Write real + generated clips as one data set in ``layout``; return it (frame names relative to ``out``)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    categories = dict(real.categories) if real is not None else {}
    for clip in [*(real.clips if real is not None else []), *generated]:
        _add_categories(categories, clip.categories)  # real ids first, the generated set's where free
    sources: dict[str, str] = {}
    clips: list[Clip] = []
    parts = ([] if real is None else [(REAL, "real_", c, real.image_root) for c in real.clips]) + \
        [(GENERATED, "gen_", c, str(generated_root)) for c in generated]
    next_id = 1
    for source, prefix, clip, root in parts:
        if root is None:
            raise ValueError(f"clip {clip.name!r} ({source}): its data set has no image root to copy frames from")
        new = _with_table(clip, categories)
        new.name = prefix + clip.name
        new.video_id = None
        for inst in new.instances:
            inst.id, next_id = next_id, next_id + 1
        new.frame_names = _copy_frames(clip, root, out, new.name, layout)
        sources[new.name] = source
        clips.append(new)
    dataset = TrackletDataset(clips, categories, source=str(out), image_root=str(out))
    write_tracklets(dataset, out if layout == "mot" else out / f"{layout}.json", layout)
    (out / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")
    splits = out / "splits"
    splits.mkdir(exist_ok=True)
    for name, keep in (("train", None), ("real", REAL), ("generated", GENERATED)):
        names = [c.name for c in clips if keep is None or sources[c.name] == keep]
        (splits / f"{name}.txt").write_text("".join(n + "\n" for n in names))
    return dataset


def _add_categories(categories: dict[int, str], table: dict[int, str]) -> None:
    """Add the names of ``table`` that ``categories`` lacks, keeping their ids when free."""
    known = set(categories.values())
    for cid, name in sorted(table.items()):
        if name not in known:
            categories[cid if cid not in categories else max(categories) + 1] = name
            known.add(name)


def _with_table(clip: Clip, categories: dict[int, str]) -> Clip:
    """A copy of ``clip`` whose category ids index ``categories`` (by name; it holds every name)."""
    by_name = {v: k for k, v in categories.items()}
    new = clip.copy()
    for inst in new.instances:
        inst.category_id = by_name[clip.categories[inst.category_id]]
    new.categories = categories
    return new


def _copy_frames(clip: Clip, root: str, out: Path, name: str, layout: str) -> list[str]:
    """Put the frames of ``clip`` where ``layout`` expects them; return their names relative to ``out``."""
    folder = f"{dir_name(name)}/img1" if layout == "mot" else f"frames/{dir_name(name)}"
    first = 1 if layout == "mot" else 0  # MOTChallenge numbers frames from 1
    sources = [Path(root) / f for f in clip.frame_names] if clip.frame_names else None
    if sources and all(p.is_file() for p in sources):
        names = [f"{folder}/{t + first:06d}{p.suffix}" for t, p in enumerate(sources)]
        for src, dst in zip(sources, names):
            _link_or_copy(src, out / dst)
        return names
    paths = write_png_frames(read_clip_frames(clip, root), out / folder)  # frames only in a video
    names = [f"{folder}/{t + first:06d}.png" for t in range(len(paths))]
    for path, dst in reversed(list(zip(paths, names))):  # last first: a shift by one never overwrites
        if path != out / dst:
            os.replace(path, out / dst)
    return names


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
