"""The on-disk layout of a generation run, written so that a killed process never leaves a half clip.

::

    OUT/plan.json                      every clip of the run, in order, with its fingerprint
    OUT/clips/<clip>/frames/000000.png generated frames
    OUT/clips/<clip>/video.mp4         generated video
    OUT/clips/<clip>/overlay.gif       the video with its boxes drawn
    OUT/clips/<clip>/labels.json       the clip's label shard (CocoVID, frame names relative to OUT)
    OUT/clips/<clip>/record.json       its manifest record (fingerprint, seed, prompt, attempts, ...)
    OUT/.partial/                      clips being written (temporary folders)

A clip is written into a temporary folder under ``.partial/`` and renamed into ``clips/`` in one
``os.rename``, so ``clips/<clip>`` is either absent or complete; whatever a killed process left
under ``.partial/`` is deleted when its clip is written again. :func:`merge` writes the data-set
level files from the shards: ``cocovid.json``, ``ytvis.json``, ``mot/``, ``captions.json``,
``phrases.json``, ``manifest.jsonl``, ``generation.json`` and ``contact_sheet.png``, each replaced atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from ..tracklets import Clip, TrackletDataset
from ..tracklets.formats import cocovid, mot, ytvis
from ..tracklets.formats.common import dir_name
from ..tracklets.captions import save_captions
from ..tracklets.loader import CAPTIONS_FILE
from ..tracklets.phrases import PHRASES_FILE, read_split_phrases, save_phrases

PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.jsonl"
SETTINGS_FILE = "generation.json"
RECORD_FILE = "record.json"
LABELS_FILE = "labels.json"
CLIPS_DIR = "clips"
PARTIAL_DIR = ".partial"


def clip_dir(out: Path, name: str) -> Path:
    return out / CLIPS_DIR / dir_name(name)


def frame_names(name: str, num_frames: int) -> list[str]:
    """The frame files of clip ``name`` relative to OUT (what every label file names)."""
    return [f"{CLIPS_DIR}/{dir_name(name)}/frames/{t:06d}.png" for t in range(num_frames)]


def read_record(out: Path, name: str) -> dict | None:
    """The record of a finished clip, or None when the clip is not on disk."""
    path = clip_dir(out, name) / RECORD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def write_clip_atomically(out: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Run ``write(folder)`` on a fresh temporary folder, then make it ``clips/<clip>``."""
    partial_root = out / PARTIAL_DIR / CLIPS_DIR / dir_name(name)
    if partial_root.exists():  # left by a killed run of this clip (one shard owns it: never a live one)
        shutil.rmtree(partial_root)
    partial = _unique(partial_root)
    partial.mkdir(parents=True)
    try:
        write(partial)
        final = clip_dir(out, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # a stale clip: move it out of the way first (a kill here loses only it)
            retire(final)
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:
        partial_root.rmdir()  # empty now; a folder per clip ever written would pile up otherwise
    except OSError:
        pass
    return final


def retire(path: Path) -> None:
    """Remove a folder so that it disappears in one step (a rename), then delete it."""
    trash = _unique(path.parent.parent / PARTIAL_DIR / "retired")
    trash.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, trash)
    except FileNotFoundError:  # another process retired it first
        return
    shutil.rmtree(trash, ignore_errors=True)


def _unique(parent: Path) -> Path:
    """A fresh path under ``parent`` no other process picks (pid + random suffix)."""
    return parent / f"{os.getpid()}.{uuid.uuid4().hex[:8]}"


def remove_dead_leftovers(parent: Path) -> None:
    """Delete the ``<pid>.<suffix>`` folders of ``parent`` whose process is gone (a merge or a
    retire killed midway); a live process's folder is its work in progress and stays."""
    for folder in parent.iterdir() if parent.is_dir() else ():
        pid = folder.name.split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_plan(out: Path, plan: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / PLAN_FILE, json.dumps(plan, indent=1) + "\n")


def read_plan(out: Path) -> dict:
    path = out / PLAN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {out} is not the output folder of a `generate` run")
    return json.loads(path.read_text())


def stray_clips(out: Path, names: list[str]) -> list[Path]:
    """Clip folders of earlier runs in ``out`` that are not in this run's plan."""
    wanted = {dir_name(n) for n in names}
    root = out / CLIPS_DIR
    return sorted(p for p in root.iterdir() if p.name not in wanted) if root.is_dir() else []


def status(out: Path, plan: dict) -> tuple[list[str], list[str]]:
    """(finished clips, unfinished clips) of ``plan``; finished means on disk with the planned fingerprint."""
    done, missing = [], []
    for name in plan["clips"]:
        record = read_record(out, name)
        ok = record is not None and record["fingerprint"] == plan["fingerprints"][name]
        (done if ok else missing).append(name)
    return done, missing


def merge(out: str | Path, sheet: Callable[[TrackletDataset, Path], None] | None = None) -> TrackletDataset:
    """Write the data-set level files of ``out`` from its finished clips; return the labels.

    Refuses (ValueError naming them) while clips of the plan are unfinished. Clip folders that
    are not in the plan (an earlier run with other tracklets or ``--limit``) are removed, so the
    labels list exactly the clips on disk.
    """
    out = Path(out)
    plan = read_plan(out)
    done, missing = status(out, plan)
    if missing:
        raise ValueError(f"{out}: {len(missing)} of {len(plan['clips'])} clips are not generated yet "
                         f"(first: {', '.join(missing[:5])}); re-run the generate command (all its shards)")
    for stray in stray_clips(out, plan["clips"]):
        retire(stray)
    for kind in ("merge", "retired"):
        remove_dead_leftovers(out / PARTIAL_DIR / kind)
    categories = {int(k): v for k, v in plan["categories"].items()}
    clips, records = [], []
    for name in done:
        shard = cocovid.read(clip_dir(out, name) / LABELS_FILE)
        read_split_phrases(shard, clip_dir(out, name))
        clip = shard.clip(name)
        clip.categories = categories
        clips.append(clip)
        records.append(read_record(out, name))
    labels = TrackletDataset(clips, categories, source=str(out), image_root=str(out))
    staging = _unique(out / PARTIAL_DIR / "merge")
    staging.mkdir(parents=True)
    cocovid.write(labels, staging / cocovid.DEFAULT_NAME)
    ytvis.write(labels, staging / ytvis.DEFAULT_NAME)
    mot.write(_crowd_as_mot_ignore(labels), staging / "mot")
    save_captions({c.name: c.caption or "" for c in clips}, staging / CAPTIONS_FILE)
    save_phrases(labels, staging / PHRASES_FILE)
    (staging / MANIFEST_FILE).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    meta = {"settings": plan["settings"], "clips": len(clips), "width": plan["width"], "height": plan["height"],
            "source": plan["source"]}
    (staging / SETTINGS_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    for name in (cocovid.DEFAULT_NAME, ytvis.DEFAULT_NAME, CAPTIONS_FILE, PHRASES_FILE, MANIFEST_FILE, SETTINGS_FILE):
        os.replace(staging / name, out / name)
    if (out / "mot").exists():
        retire(out / "mot")
    (staging / "mot").mkdir(exist_ok=True)
    os.rename(staging / "mot", out / "mot")
    shutil.rmtree(staging, ignore_errors=True)
    if sheet is not None:
        sheet(labels, out)
    return labels


def _crowd_as_mot_ignore(labels: TrackletDataset) -> TrackletDataset:
    """MOTChallenge has no crowd flag; its ignore boxes are rows with ``conf == 0``."""
    out = TrackletDataset([c.copy() for c in labels.clips], labels.categories, labels.source, labels.image_root)
    for clip in out.clips:
        clip.categories = labels.categories
        for inst in clip.instances:
            if inst.iscrowd:
                inst.attributes["mot_conf"] = np.zeros(clip.num_frames)
    return out


def write_label_shard(clip: Clip, folder: Path) -> None:
    labels = TrackletDataset([clip], clip.categories)
    cocovid.write(labels, folder / LABELS_FILE)
    if any(inst.phrase for inst in clip.instances):  # no tracking format has a field for them
        save_phrases(labels, folder / PHRASES_FILE)
