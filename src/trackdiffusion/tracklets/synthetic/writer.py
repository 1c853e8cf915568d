"""Writing the synthetic world to disk in the split-directory layout.

``OUT/world.json`` holds the config; each split ``OUT/<split>/`` holds ``frames/<clip>/*.png``,
``videos/<clip>.mp4``, ``cocovid.json``, ``ytvis.json``, ``mot/<clip>/gt/gt.txt``,
``captions.json`` and ``phrases.json`` (each object's colour, texture and shape); ``videos=False``
leaves the mp4s out (the png frames are what training and evaluation read, and a machine without
the ffmpeg binary can still write a world). Clips are independent, so they are rendered and written in a process pool;
the result does not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ...video.io import write_mp4, write_png_frames
from ..captions import save_captions
from ..clip import Clip
from ..dataset import TrackletDataset
from ..formats import write_split
from ..loader import CAPTIONS_FILE, video_path
from ..phrases import PHRASES_FILE, save_phrases
from .config import WorldConfig
from .render import SyntheticWorld

WORLD_FILE = "world.json"
# Below this many clips a pool costs more to start than it saves.
_MIN_CLIPS_FOR_POOL = 16


def write_clip(frames: np.ndarray, clip: Clip, split_dir: Path, video: bool = True) -> Clip:
    """Write one clip's ``frames [T, H, W, 3]`` as png files and (``video``) an mp4; sets and returns
    its frame names."""
    paths = write_png_frames(frames, split_dir / "frames" / clip.name)
    if video:
        write_mp4(frames, video_path(split_dir, clip.name), fps=clip.fps or 8.0)
    clip.frame_names = [p.relative_to(split_dir).as_posix() for p in paths]
    return clip


def write_split_annotations(dataset: TrackletDataset, split_dir: Path) -> None:
    """CocoVID, YouTube-VIS and MOT files plus ``captions.json`` and ``phrases.json`` of a split."""
    write_split(dataset, split_dir)
    save_captions({c.name: c.caption or "" for c in dataset.clips}, split_dir / CAPTIONS_FILE)
    save_phrases(dataset, split_dir / PHRASES_FILE)


def _render_and_write(job: tuple[WorldConfig, str, int, Path, bool]) -> Clip:
    config, split, index, split_dir, video = job
    rendered = SyntheticWorld(config).render(split, index)
    for inst in rendered.clip.instances:  # written to phrases.json with the split's labels
        inst.phrase = rendered.phrases[inst.id]
    return write_clip(rendered.frames, rendered.clip, split_dir, video)


def _available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _run_jobs(jobs: list[tuple], workers: int) -> Iterator[Clip]:
    """Results of ``_render_and_write`` in job order."""
    if workers <= 1 or len(jobs) < _MIN_CLIPS_FOR_POOL:
        yield from map(_render_and_write, jobs)
        return
    # fork: workers start in milliseconds instead of re-importing torch (a spawned child would);
    # they only run numpy, Pillow and the ffmpeg binary.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_render_and_write, jobs, chunksize=max(1, len(jobs) // (workers * 8)))


def _prepare(out_dir: Path, config: WorldConfig, overwrite: bool) -> None:
    world_file = out_dir / WORLD_FILE
    splits = [out_dir / s for s in config.clips_per_split if (out_dir / s).exists()]
    if splits and not overwrite:
        raise FileExistsError(f"{out_dir} already holds {', '.join(p.name for p in splits)}; "
                              f"pass overwrite=True (--overwrite) to replace them")
    if splits and not world_file.exists():
        raise FileExistsError(f"{out_dir} has {', '.join(p.name for p in splits)} but no {WORLD_FILE}: "
                              f"not a synthetic world, refusing to delete anything there")
    for split_dir in splits:
        shutil.rmtree(split_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config.save(world_file)


def write_world(config: WorldConfig, out_dir: str | Path, progress: bool | Callable[[int, int], None] = False,
                workers: int | None = None, overwrite: bool = False, videos: bool = True) -> dict[str, TrackletDataset]:
    """Render every split of ``config`` into ``out_dir``; returns the data set of each split.

    ``progress``: True shows a rich progress bar; a callable gets ``(done, total)`` after each
    clip. ``workers``: processes (default: the available cores). Existing split folders are
    replaced only with ``overwrite`` and only when ``out_dir`` holds a ``world.json``. ``videos``:
    write each clip's mp4 next to its png frames.
    """
    out_dir = Path(out_dir)
    _prepare(out_dir, config, overwrite)
    workers = _available_cores() if workers is None else workers
    total = sum(config.clips_per_split.values())
    world = SyntheticWorld(config)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   disable=progress is not True)
    out: dict[str, TrackletDataset] = {}
    done = 0
    with bar:
        task = bar.add_task("synthetic world", total=total)
        for split, count in config.clips_per_split.items():
            if count == 0:
                continue
            split_dir = out_dir / split
            clips = []
            for clip in _run_jobs([(config, split, i, split_dir, videos) for i in range(count)], workers):
                clip.categories = world.categories  # one shared table again after the trip through pickle
                clips.append(clip)
                done += 1
                bar.update(task, completed=done, description=f"synthetic world: {split}")
                if callable(progress):
                    progress(done, total)
            dataset = TrackletDataset(clips, world.categories, source=str(split_dir), image_root=str(split_dir))
            write_split_annotations(dataset, split_dir)
            out[split] = dataset
    return out
