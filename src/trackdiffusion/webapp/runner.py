"""One generation at a time, in a worker thread, with progress and cancelling.

The model and the CPU are shared by every browser tab, so the app runs one generation at a
time: a second request while one runs is refused with :class:`Busy` (its message is shown in the
page) instead of waiting unseen in a queue. The pipeline reports each denoising step through its
``callback_on_step_end``; cancelling makes that callback raise :class:`Cancelled`, so the work
stops after the current step.

Each generation writes into its own folder under the app's work folder::

    run-0003/clip/frames/<clip>/000000.png ...  the generated frames
    run-0003/clip/videos/<clip>.mp4             the video
    run-0003/clip/overlays/<clip>.mp4           the video with the asked-for boxes drawn
    run-0003/clip/cocovid.json, ytvis.json, mot/<clip>/, captions.json   labels (output resolution)
    run-0003/contact_sheet.png                  generated frames above the overlay
    run-0003/<clip>.zip                         clip/ zipped: the download
"""

from __future__ import annotations

import itertools
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..evaluation.tracker.model import GroundingTracker
from ..pipelines import TrackDiffusionPipeline
from ..tracklets import Clip, TrackletDataset
from ..tracklets.synthetic.writer import write_clip, write_split_annotations
from ..video.draw import draw_tracklets
from ..video.io import save_image, write_mp4
from ..video.sheet import contact_sheet
from ..video.transform import scale_frames
from .verify import InstanceCheck, verify_clip

KEEP_RUNS = 8  # older run folders are deleted: the app may run for days
OVERLAY_SCALE = 4


class Busy(RuntimeError):
    """Another generation is running."""


class Cancelled(RuntimeError):
    """Raised from the step callback to stop a cancelled generation."""


@dataclass
class GenerationRequest:
    clip: Clip  # tracklets at any resolution, the frames to generate
    caption: str
    steps: int
    guidance: float
    seed: int


@dataclass
class GenerationResult:
    folder: Path
    video: Path
    overlay: Path
    sheet: Path
    archive: Path
    labels: Clip  # the tracklets at the output resolution, as written to the labels
    checks: list[InstanceCheck] | None  # None: no tracker to verify with


@dataclass
class Job:
    """A generation in progress; the worker thread writes, the page's generator reads."""

    session: str
    total: int
    step: int = 0
    stage: str = "generating"
    result: GenerationResult | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set() and self.result is None


class GenerationRunner:
    def __init__(self, pipe: TrackDiffusionPipeline, tracker: GroundingTracker | None, workdir: str | Path):
        self.pipe = pipe
        self.tracker = tracker
        self.workdir = Path(workdir)
        self._lock = threading.Lock()  # guards self.job
        self.job: Job | None = None
        self._runs = itertools.count()

    def start(self, session: str, request: GenerationRequest) -> Job:
        """Start ``request`` in a worker thread; :class:`Busy` when a generation is running."""
        with self._lock:
            if self.job is not None and not self.job.done.is_set():
                raise Busy(f"a generation is already running (step {self.job.step} of {self.job.total}); "
                           "wait for it to finish or cancel it, then generate again")
            job = self.job = Job(session=session, total=request.steps)
        folder = self.workdir / f"run-{next(self._runs):04d}"
        threading.Thread(target=self._run, args=(job, request, folder), daemon=True).start()
        return job

    def cancel(self, session: str) -> str:
        """Cancel ``session``'s running generation; returns what happened, for the page."""
        with self._lock:
            job = self.job
        if job is None or job.done.is_set():
            return "nothing is running"
        if job.session != session:
            return "the running generation was started from another page; only that page can cancel it"
        job.cancel.set()
        return f"cancelling after step {job.step} of {job.total}"

    def _run(self, job: Job, request: GenerationRequest, folder: Path) -> None:
        try:
            job.result = self._generate(job, request, folder)
        except Cancelled:
            shutil.rmtree(folder, ignore_errors=True)
        except Exception as err:  # noqa: BLE001 - the thread must report every failure to the page, not die silently
            job.error = f"{type(err).__name__}: {err}"
        finally:
            job.done.set()

    def _generate(self, job: Job, request: GenerationRequest, folder: Path) -> GenerationResult:
        def on_step(pipe, i, t, tensors):
            job.step = i + 1
            if job.cancel.is_set():
                raise Cancelled()

        clip = request.clip
        out = self.pipe(request.caption, clip, num_inference_steps=request.steps, guidance_scale=request.guidance,
                        generator=torch.Generator().manual_seed(request.seed), clip_names=[clip.name],
                        callback_on_step_end=on_step)
        frames, labels = out.frames[0], out.tracklets[0]
        labels.caption, labels.fps = request.caption, clip.fps or 8.0
        job.stage = "writing"
        result = write_outputs(frames, labels, folder)
        if self.tracker is not None:
            job.stage = "verifying"
            result.checks = verify_clip(self.tracker, frames, labels)
        self._prune()
        return result

    def _prune(self) -> None:
        runs = sorted(p for p in self.workdir.glob("run-*") if p.is_dir())
        for old in runs[:-KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)


def write_outputs(frames: np.ndarray, labels: Clip, folder: Path) -> GenerationResult:
    """Write ``frames [T, H, W, 3]`` and ``labels`` (output pixels) as the module docstring lays out."""
    clip_dir = folder / "clip"
    write_clip(frames, labels, clip_dir)
    write_split_annotations(TrackletDataset([labels], dict(labels.categories), image_root=str(clip_dir)), clip_dir)
    drawn = draw_tracklets(frames, labels, scale=OVERLAY_SCALE)
    overlay = write_mp4(drawn, clip_dir / "overlays" / f"{labels.name}.mp4", fps=labels.fps or 8.0)
    sheet = save_image(contact_sheet([scale_frames(frames, OVERLAY_SCALE), drawn], ["generated", "boxes"]),
                       folder / "contact_sheet.png")
    archive = folder / f"{labels.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(clip_dir.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(clip_dir).as_posix())
    return GenerationResult(folder, clip_dir / "videos" / f"{labels.name}.mp4", overlay, sheet, archive, labels, None)
