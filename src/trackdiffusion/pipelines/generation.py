"""Generation at data-set scale: every clip of a tracklet data set -> video + labels.

A run is planned first (:func:`plan_jobs`, no model needed): each clip's tracklets, prompt, seed
and fingerprint (:mod:`.fingerprint`). :func:`check_jobs` then rejects what cannot be generated,
naming the clip, before a model is loaded. :func:`generate_shard` generates the clips of one
shard (:mod:`.sharding`) that are not already on disk with the same fingerprint, in batches,
each clip written atomically (:mod:`.clip_store`); :func:`~.clip_store.merge` writes the data-set
level label files once every shard is done. Clip ``i`` of the plan uses seed ``seed + i`` (retry
``k`` of a clip that failed verification: ``seed + i + k * RETRY_SEED_STRIDE``), so a killed job
re-run with the same command produces what an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal, Protocol

import numpy as np
import torch

from .. import __version__
from ..tracklets import Clip, Instance, TrackletDataset
from ..tracklets.captions import caption_for
from ..tracklets.loader import read_clip_frames
from ..video.draw import draw_tracklets
from ..video.io import save_image, write_gif, write_mp4, write_png_frames
from ..video.sheet import contact_sheet
from . import clip_store
from .fingerprint import differences, tracklets_hash
from .pipeline_trackdiffusion import TrackDiffusionPipeline, frame_multiple
from .sharding import Shard

RETRY_SEED_STRIDE = 1_000_003  # a prime far above any data set's clip count: retry seeds never collide
OnMismatch = Literal["regenerate", "refuse"]


@dataclass
class GenerationSettings:
    steps: int = 50
    guidance: float = 5.0
    box_guidance: float | None = None
    guidance_rescale: float = 0.0      # phi of the pipeline's guidance_rescale (0: off)
    seed: int = 0
    prompt: str | None = None          # one prompt for every clip; default: each clip's caption
    num_frames: int | None = None      # first window of T frames (default: whole clips)
    stride: int = 1
    width: int | None = None           # output size (default: the model's)
    height: int | None = None
    sheet_clips: int = 8               # clips shown in the contact sheet
    batch_size: int = 1                # clips sampled together (not part of the fingerprint)
    max_retries: int = 0               # with a verifier: regenerations of a failing clip


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`check_jobs` and the fingerprint need to know of a model without loading it."""

    identity: str                # content hash of the checkpoint (or of the weights)
    dtype: str                   # e.g. "float32"
    default_size: tuple[int, int]  # (height, width)
    size_factor: int             # frame sizes must be multiples of this
    bank_size: int               # most instances per clip (0: no limit)
    takes_phrases: bool = False  # trained with per-instance appearance phrases

    @classmethod
    def from_pipeline(cls, pipe: TrackDiffusionPipeline, identity: str) -> "ModelInfo":
        return cls(identity, str(pipe.unet.dtype).removeprefix("torch."), pipe.default_size(), pipe.size_factor,
                   pipe.unet.location_tokens.bank_size, pipe.unet.location_tokens.phrase is not None)

    @classmethod
    def from_checkpoint(cls, path: str | Path, identity: str, dtype: str) -> "ModelInfo":
        """Read the geometry from a checkpoint's config files (no weights are loaded)."""
        path = Path(path)
        unet = _read_config(path / "unet" / "config.json")
        vae_file = path / "vae" / "config.json"
        vae_factor = 2 ** (len(_read_config(vae_file)["block_out_channels"]) - 1) if vae_file.is_file() else 1
        size = unet.get("sample_size")
        bank = unet.get("identity_bank_size", 0) if unet.get("use_identity_embedding", True) else 0
        return cls(identity, dtype, (size * vae_factor, size * vae_factor) if size else (0, 0),
                   frame_multiple(vae_factor, unet), bank,
                   bool(unet.get("appearance_phrases", False)))


class Verifier(Protocol):
    """Checks that a generated clip shows its labels (see :mod:`trackdiffusion.evaluation.verification`)."""

    def settings(self) -> dict: ...
    def check(self, frames: np.ndarray, labels: Clip) -> dict: ...  # {"passed": bool, "failed_instances": [...], ...}


@dataclass
class ClipJob:
    """One clip of a plan. ``target``: the labels at the output resolution (caption = prompt)."""

    position: int
    clip: Clip
    target: Clip
    prompt: str
    seed: int
    fingerprint: dict
    source: dict


@dataclass
class ShardReport:
    generated: list[str] = field(default_factory=list)
    regenerated: dict[str, list[str]] = field(default_factory=dict)  # clip -> what differed
    kept: int = 0


def prepare_clip(clip: Clip, settings: GenerationSettings) -> Clip:
    """The tracklets one generated clip is made from (window of ``num_frames`` if asked)."""
    if settings.num_frames is None or settings.num_frames == clip.num_frames:
        return clip
    return clip.window(0, settings.num_frames, settings.stride, drop_empty=True)


def output_size(settings: GenerationSettings, model: ModelInfo) -> tuple[int, int]:
    """(height, width) of the generated frames."""
    if (settings.width is None) != (settings.height is None):
        raise ValueError("set both the output width and height, or neither")
    return (settings.height, settings.width) if settings.width else model.default_size


def plan_jobs(dataset: TrackletDataset, settings: GenerationSettings, model: ModelInfo,
              captions: dict[str, str] | None = None, verify: dict | None = None,
              augmentations: dict[str, list] | None = None) -> list[ClipJob]:
    """Every clip of ``dataset`` as a job, in order (clip ``i`` gets seed ``seed + i``)."""
    height, width = output_size(settings, model)
    common = {"steps": settings.steps, "guidance": settings.guidance, "box_guidance": settings.box_guidance,
              "size": [width, height], "checkpoint": model.identity, "dtype": model.dtype,
              "verify": verify, "max_retries": settings.max_retries if verify else 0}
    if settings.guidance_rescale:  # only when on: folders generated before the option keep their fingerprints
        common["guidance_rescale"] = settings.guidance_rescale
    jobs = []
    for i, source in enumerate(dataset.clips):
        clip = prepare_clip(source, settings)
        prompt = settings.prompt or caption_for(clip, captions)
        target = _output_clip(clip, width, height, prompt)
        fingerprint = {**common, "tracklets": tracklets_hash(clip), "prompt": prompt, "seed": settings.seed + i}
        origin = {"dataset": dataset.source, "clip": source.name,
                  "augmentation": (augmentations or {}).get(source.name)}
        jobs.append(ClipJob(i, clip, target, prompt, settings.seed + i, fingerprint, origin))
    return jobs


def check_jobs(jobs: list[ClipJob], settings: GenerationSettings, model: ModelInfo) -> None:
    """Raise a ValueError naming every clip (and setting) that cannot be generated; warn about
    clips whose aspect ratio the output size changes."""
    if settings.steps < 1:
        raise ValueError(f"steps must be >= 1 (0 would write pure noise), got {settings.steps}")
    if settings.batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {settings.batch_size}")
    if settings.max_retries < 0:
        raise ValueError(f"max retries must be >= 0, got {settings.max_retries}")
    if settings.guidance < 0:
        raise ValueError(f"guidance must be >= 0, got {settings.guidance}")
    if settings.box_guidance is not None and settings.box_guidance < 0:
        raise ValueError(f"box guidance must be >= 0, got {settings.box_guidance}")
    if not 0 <= settings.guidance_rescale <= 1:
        raise ValueError(f"guidance rescale must lie in [0, 1], got {settings.guidance_rescale}")
    height, width = output_size(settings, model)
    if height <= 0 or width <= 0 or height % model.size_factor or width % model.size_factor:
        raise ValueError(f"output size {width}x{height} must be positive multiples of {model.size_factor} "
                         "(the VAE factor times the UNet's downsampling)")
    crowded = [f"{j.clip.name!r} ({len(j.clip)})" for j in jobs if model.bank_size and len(j.clip) > model.bank_size]
    if crowded:
        raise ValueError(f"{len(crowded)} clip(s) have more instances than the model's identity_bank_size="
                         f"{model.bank_size}: {', '.join(crowded[:10])}; drop instances or use another model")
    squashed = [j.clip for j in jobs if abs(j.clip.width / j.clip.height - width / height) > 0.01 * width / height]
    if squashed:
        c = squashed[0]
        warnings.warn(f"{len(squashed)} clip(s) are not {width}x{height}-shaped (e.g. {c.name!r}: {c.width}x{c.height}):"
                      " their frames are squashed to the output size, boxes scaled per axis; set the output size "
                      "(--size) to keep the aspect ratio", stacklevel=2)


def compare_with_disk(out: Path, jobs: list[ClipJob]) -> tuple[list[ClipJob], dict[str, list[str]]]:
    """(jobs to generate, {clip on disk with another fingerprint: what differs})."""
    todo, stale = [], {}
    for job in jobs:
        record = clip_store.read_record(out, job.clip.name)
        if record is None:
            todo.append(job)
        elif record["fingerprint"] != job.fingerprint:
            stale[job.clip.name] = differences(record["fingerprint"], job.fingerprint)
            todo.append(job)
    return todo, stale


def refuse_mismatches(out: Path, jobs: list[ClipJob], stale: dict[str, list[str]]) -> None:
    """The ``--on-mismatch refuse`` policy: a ValueError naming each clip and setting."""
    strays = clip_store.stray_clips(out, [j.clip.name for j in jobs])
    if stale or strays:
        lines = [f"clip {name!r}: {', '.join(diff)}" for name, diff in list(stale.items())[:10]]
        if strays:
            lines.append(f"{len(strays)} clip(s) not in these tracklets: {', '.join(p.name for p in strays[:5])}")
        raise ValueError(f"{out} holds clips made differently from what this command asks for:\n  "
                         + "\n  ".join(lines) + "\nuse another --out, or --on-mismatch regenerate to replace them")


def write_plan(out: Path, jobs: list[ClipJob], settings: GenerationSettings, dataset: TrackletDataset,
               model: ModelInfo) -> None:
    height, width = output_size(settings, model)
    clip_store.write_plan(out, {
        "clips": [j.clip.name for j in jobs], "fingerprints": {j.clip.name: j.fingerprint for j in jobs},
        "categories": {str(k): v for k, v in dataset.categories.items()}, "settings": asdict(settings),
        "width": width, "height": height, "source": dataset.source})


def generate_shard(pipe: TrackDiffusionPipeline, jobs: list[ClipJob], out: str | Path, settings: GenerationSettings,
                   shard: Shard = Shard(), verifier: Verifier | None = None, on_mismatch: OnMismatch = "regenerate",
                   progress: Callable[[str], None] | None = None) -> ShardReport:
    """Generate this shard's clips that are not on disk with their planned fingerprint."""
    out = Path(out)
    mine = shard.select(jobs)
    todo, stale = compare_with_disk(out, mine)
    if on_mismatch == "refuse":
        refuse_mismatches(out, mine, stale)
    report = ShardReport(regenerated=stale, kept=len(mine) - len(todo))
    for batch in _batches(todo, settings.batch_size):
        for job, frames in zip(batch, _sample(pipe, batch, settings, [j.seed for j in batch]), strict=True):
            _finish(pipe, job, frames, out, settings, verifier, shard)
            report.generated.append(job.clip.name)
            if progress is not None:
                progress(job.clip.name)
    return report


def generate_dataset(pipe: TrackDiffusionPipeline, dataset: TrackletDataset, out: str | Path,
                     settings: GenerationSettings, captions: dict[str, str] | None = None,
                     progress: Callable[[str], None] | None = None, model_identity: str | None = None,
                     verifier: Verifier | None = None) -> TrackletDataset:
    """Generate every clip of ``dataset`` into ``out`` in this process; return the merged labels.

    ``model_identity`` names the weights in the fingerprints (default: a hash of them).
    """
    out = Path(out)
    model = ModelInfo.from_pipeline(pipe, model_identity or weights_hash(pipe))
    jobs = plan_jobs(dataset, settings, model, captions, verifier.settings() if verifier else None)
    check_jobs(jobs, settings, model)
    write_plan(out, jobs, settings, dataset, model)
    generate_shard(pipe, jobs, out, settings, verifier=verifier, progress=progress)
    return clip_store.merge(out, sheet=lambda labels, root: write_sheet(labels, root, settings.sheet_clips))


def weights_hash(pipe: TrackDiffusionPipeline) -> str:
    """sha256 of the UNet's and VAE's tensors (for pipelines not loaded from a folder)."""
    import hashlib

    digest = hashlib.sha256()
    for module in (pipe.unet, pipe.vae):
        for name, tensor in ([] if module is None else sorted(module.state_dict().items())):
            digest.update(name.encode() + tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _batches(jobs: list[ClipJob], size: int) -> list[list[ClipJob]]:
    """Consecutive runs of at most ``size`` jobs with the same frame count (a batch is one tensor)."""
    out: list[list[ClipJob]] = []
    for job in jobs:
        if out and len(out[-1]) < size and out[-1][0].clip.num_frames == job.clip.num_frames:
            out[-1].append(job)
        else:
            out.append([job])
    return out


def _sample(pipe: TrackDiffusionPipeline, jobs: list[ClipJob], settings: GenerationSettings,
            seeds: list[int]) -> np.ndarray:
    """uint8 frames ``[B, T, H, W, 3]`` of ``jobs`` sampled together (one seeded generator per clip)."""
    height, width = jobs[0].target.height, jobs[0].target.width
    # Generators live on the CPU so that a seed gives the same noise on every device.
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    result = pipe([j.prompt for j in jobs], [_conditioning_clip(j.clip) for j in jobs], height=height, width=width,
                  num_inference_steps=settings.steps, guidance_scale=settings.guidance,
                  box_guidance_scale=settings.box_guidance, guidance_rescale=settings.guidance_rescale,
                  generator=generators,
                  clip_names=[j.clip.name for j in jobs])
    return result.frames


def _conditioning_clip(clip: Clip) -> Clip:
    """``clip``, or for a clip without instances one placeholder instance absent in every frame:
    the UNet needs at least one (masked) instance slot, and a masked slot conditions nothing, so
    the video is background only."""
    if clip.instances:
        return clip
    out = clip.copy()
    category = next(iter(out.categories), 0)
    out.categories = out.categories or {0: "object"}
    out.instances = [Instance(-1, category, np.full((clip.num_frames, 4), np.nan), np.zeros(clip.num_frames, bool))]
    return out


def _finish(pipe: TrackDiffusionPipeline, job: ClipJob, frames: np.ndarray, out: Path, settings: GenerationSettings,
            verifier: Verifier | None, shard: Shard) -> None:
    """Verify (and retry) one sampled clip, then write it atomically."""
    started = time.perf_counter()
    labels = job.target.copy()
    labels.frame_names = clip_store.frame_names(labels.name, labels.num_frames)
    attempts = []
    seed = job.seed
    if verifier is not None:
        for attempt in range(settings.max_retries + 1):
            if attempt:
                seed = job.seed + attempt * RETRY_SEED_STRIDE
                frames = _sample(pipe, [job], settings, [seed])[0]
            result = verifier.check(frames, labels)
            attempts.append({"seed": seed, **result})
            if result["passed"]:
                break
        else:  # still failing: a tracker must not learn labels the video does not show
            failed = set(attempts[-1]["failed_instances"])
            for inst in labels.instances:
                inst.iscrowd = inst.iscrowd or inst.id in failed
    record = {
        "clip": job.clip.name, "position": job.position, "source": job.source, "prompt": job.prompt, "seed": seed,
        "fingerprint": job.fingerprint, "software": {"trackdiffusion": __version__, "torch": torch.__version__},
        "device": str(pipe._execution_device), "batch_size": settings.batch_size, "shard": [shard.index, shard.count],
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "verification": ({"passed": attempts[-1]["passed"], "attempts": attempts} if attempts else None),
    }

    def write(folder: Path) -> None:
        write_png_frames(frames, folder / "frames")
        write_mp4(frames, folder / "video.mp4", fps=labels.fps or 8.0)
        write_gif(draw_tracklets(frames, labels, scale=_overlay_scale(labels.height)), folder / "overlay.gif")
        clip_store.write_label_shard(labels, folder)
        record["seconds_after_sampling"] = round(time.perf_counter() - started, 3)
        (folder / clip_store.RECORD_FILE).write_text(json.dumps(record, indent=1) + "\n")  # last

    clip_store.write_clip_atomically(out, job.clip.name, write)


def _output_clip(clip: Clip, width: int, height: int, prompt: str) -> Clip:
    """The input tracklets at the output resolution (normalized boxes kept), same ids."""
    out = clip.resize(width, height) if (clip.width, clip.height) != (width, height) else clip.copy()
    out.caption = prompt
    out.frame_names = None
    return out


def _overlay_scale(height: int) -> int:
    return max(1, 256 // height)


def _read_config(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: not a TrackDiffusion checkpoint folder")
    return json.loads(path.read_text())


def write_sheet(labels: TrackletDataset, out: Path, count: int) -> None:
    """``out/contact_sheet.png`` of the first ``count`` clips (removed when there are none)."""
    path = out / "contact_sheet.png"
    clips = labels.clips[:count]
    if not clips:
        path.unlink(missing_ok=True)
        return
    rows = overlay_rows(clips, out, _overlay_scale(clips[0].height))
    save_image(contact_sheet(rows, [c.name for c in clips], max_frames=8), path)


def overlay_rows(clips: list[Clip], root: str | Path, scale: int) -> list[np.ndarray]:
    """Frames of ``clips`` under ``root`` with their boxes drawn (for side-by-side sheets)."""
    return [draw_tracklets(read_clip_frames(c, root), c, scale=scale, labels=False) for c in clips]


def pairs_sheet(real: TrackletDataset, other: TrackletDataset, path: Path, label: str, count: int = 6,
                max_frames: int = 8) -> None:
    """A sheet of row pairs with the same boxes drawn: a clip of ``real`` (its first frames, as many
    as ``other``'s clip of that name has), then that clip of ``other``, labelled ``label``."""
    rows, labels = [], []
    for clip in other.clips[:count]:
        scale = max(1, 192 // clip.height)
        rows += (overlay_rows([real.clip(clip.name).window(0, clip.num_frames)], real.image_root, scale)
                 + overlay_rows([clip], other.image_root, scale))
        labels += [f"{clip.name} real", f"{clip.name} {label}"]
    save_image(contact_sheet(rows, labels, max_frames=max_frames), path)
