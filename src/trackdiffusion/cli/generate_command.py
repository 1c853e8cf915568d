"""``generate``: tracklets -> videos + labels, on one process, a shard, or every ``accelerate launch`` process.

Everything that can be checked without the model (tracklets, sizes, instance counts, what is
already on disk) is checked before the model loads, so a bad run fails in seconds.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from ..tracklets.dataset import sidecar_folder
from .app import app

console = Console(stderr=True)
DTYPES = ("float32", "float16", "bfloat16")


def _say(message: str) -> None:
    console.print(escape(message), highlight=False, soft_wrap=True)


def read_input(tracklets: Path, width: Optional[int], height: Optional[int]):
    """Read tracklets; ``width``/``height`` give the frame size to formats that do not store it."""
    from ..tracklets.formats import FORMATS, detect_format, read_tracklets

    if (width is None) != (height is None):
        raise typer.BadParameter("pass --width and --height together (the input frame size)")
    if width is None:
        return read_tracklets(tracklets)
    fmt = detect_format(tracklets)
    if "width" not in inspect.signature(FORMATS[fmt].read).parameters:
        raise ValueError(f"{tracklets} is {fmt}, which stores each video's frame size; --width/--height "
                                 "apply to formats that do not (mot, got10k, bdd)")
    return read_tracklets(tracklets, fmt, width=width, height=height)


def _use_phrases(dataset, tracklets: Path, takes_phrases: bool) -> None:
    """Condition on the ``phrases.json`` beside the tracklets when the model was trained with phrases."""
    from ..tracklets.phrases import PHRASES_FILE, read_split_phrases

    folder = sidecar_folder(tracklets)
    if takes_phrases:
        read_split_phrases(dataset, folder)
    elif (folder / PHRASES_FILE).is_file():
        _say(f"note: {folder / PHRASES_FILE} is not used: the checkpoint was trained without appearance phrases")


def _output_size(size: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    if size is None:
        return None, None
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"--size expects WIDTHxHEIGHT, e.g. 64x64; got {size!r}") from None
    return w, h


def _captions(tracklets: Path) -> dict[str, str] | None:
    from ..tracklets.captions import load_captions
    from ..tracklets.loader import CAPTIONS_FILE

    file = sidecar_folder(tracklets) / CAPTIONS_FILE
    return load_captions(file) if file.is_file() else None


@app.command()
def generate(
    tracklets: Optional[Path] = typer.Option(None, "--tracklets",
                                             help="Tracklets in any supported format, or a split folder."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (clips/, labels, manifest.jsonl)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Pipeline checkpoint [default: the shipped one]."),
    steps: int = typer.Option(50, "--steps", help="Denoising steps (>= 1)."),
    guidance: float = typer.Option(5.0, "--guidance", help="Classifier-free guidance scale."),
    box_guidance: Optional[float] = typer.Option(None, "--box-guidance", help="Separate box guidance scale."),
    guidance_rescale: float = typer.Option(0.0, "--guidance-rescale",
                                           help="Pull the guided prediction's std towards the conditional one's "
                                           "(phi in [0, 1], as in diffusers; 0: off)."),
    seed: int = typer.Option(0, "--seed", help="Clip i uses seed + i."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="One prompt for every clip [default: captions]."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Use the first T frames of each clip."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first K clips."),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width of the input tracklets, for formats "
                                        "that do not store it (MOT without seqinfo, GOT-10k, BDD100K)."),
    height: Optional[int] = typer.Option(None, "--height", help="Frame height of the input tracklets (see --width)."),
    size: Optional[str] = typer.Option(None, "--size", help="Output WIDTHxHEIGHT [default: the model's]."),
    batch_size: int = typer.Option(1, "--batch-size", help="Clips sampled together in each process."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... [default: accelerate's "
                                         "device of this process: its GPU if there is one, else the CPU]."),
    dtype: str = typer.Option("float32", "--dtype", help=f"Model precision: {', '.join(DTYPES)}."),
    num_shards: Optional[int] = typer.Option(None, "--num-shards", help="Split the clips into K shards (with --shard)."),
    shard: Optional[int] = typer.Option(None, "--shard", help="Generate shard I of --num-shards (e.g. a SLURM array index)."),
    on_mismatch: str = typer.Option("regenerate", "--on-mismatch",
                                    help="A clip in OUT made with other inputs or settings: regenerate it, or refuse."),
    merge: Optional[Path] = typer.Option(None, "--merge", help="Only write the data-set level files of this output "
                                         "folder from its finished clips (shards merge automatically)."),
    verify: bool = typer.Option(False, "--verify", help="Check every clip with the grounding tracker (see `verify`)."),
    tracker: Optional[Path] = typer.Option(None, "--tracker", help="Tracker for --verify [default: the shipped one]."),
    max_retries: int = typer.Option(2, "--max-retries", help="With --verify: regenerations of a failing clip "
                                    "(new seeds); instances still failing become ignore regions."),
    min_iou: float = typer.Option(0.5, "--min-iou", help="With --verify: an instance passes at this spatio-temporal IoU."),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Generate a video per clip, with overlays, labels (CocoVID, YouTube-VIS, MOT) and manifest.jsonl.

    Several processes: `accelerate launch --num_processes N -m trackdiffusion.cli.main generate ...`, or
    `--num-shards K --shard I` per scheduler task. Re-running the same command finishes a killed run.
    """
    from ..pipelines import clip_store
    from ..pipelines.generation import write_sheet

    if merge is not None:
        labels = clip_store.merge(merge, sheet=lambda data, root: write_sheet(data, root, 8))
        _say(f"merged {len(labels)} clips in {merge}")
        return
    if tracklets is None or out is None:
        raise typer.BadParameter("pass --tracklets and --out (or --merge OUT)")
    if dtype not in DTYPES:
        raise typer.BadParameter(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if on_mismatch not in ("regenerate", "refuse"):
        raise typer.BadParameter(f"--on-mismatch must be regenerate or refuse, got {on_mismatch!r}")
    if limit is not None and limit < 0:
        raise typer.BadParameter(f"--limit must be >= 0, got {limit}")
    _run(tracklets, out, checkpoint, dict(steps=steps, guidance=guidance, box_guidance=box_guidance,
                                          guidance_rescale=guidance_rescale, seed=seed, prompt=prompt,
                                          num_frames=frames, batch_size=batch_size,
                                          max_retries=max_retries if verify else 0),
         limit, (width, height), _output_size(size), device, dtype, (num_shards, shard), on_mismatch,
         (tracker, min_iou) if verify else None, quiet)


def _run(tracklets, out, checkpoint, options, limit, input_size, output, device, dtype, shard_flags, on_mismatch,
         verify, quiet) -> None:
    import torch

    from ..assets import DEFAULT_CHECKPOINT, DEFAULT_TRACKER, require
    from ..pipelines import TrackDiffusionPipeline, clip_store
    from ..pipelines.fingerprint import checkpoint_hash
    from ..pipelines.generation import (GenerationSettings, ModelInfo, check_jobs, compare_with_disk, generate_shard,
                                        plan_jobs, refuse_mismatches, write_plan, write_sheet)
    from ..pipelines.sharding import resolve_shard, wait_until
    from ..tracklets.augment import read_augmentations

    shard = resolve_shard(*shard_flags, cpu=device == "cpu" or (device is None and not torch.cuda.is_available()))
    dataset = read_input(tracklets, *input_size)
    checkpoint = checkpoint or require(DEFAULT_CHECKPOINT, "the shipped checkpoint")
    settings = GenerationSettings(**options, width=output[0], height=output[1])
    model = ModelInfo.from_checkpoint(checkpoint, checkpoint_hash(checkpoint), dtype)
    # Phrases name clips of the whole file, so they are attached (and checked) before --limit cuts it.
    _use_phrases(dataset, tracklets, model.takes_phrases)
    if limit is not None:
        dataset.clips = dataset.clips[:limit]
    verifier = None
    if verify is not None:
        from ..evaluation.verification import TrackerVerifier

        verifier = TrackerVerifier(verify[0] or require(DEFAULT_TRACKER, "the shipped grounding tracker"),
                                   min_iou=verify[1])
    jobs = plan_jobs(dataset, settings, model, _captions(tracklets), verifier.settings() if verifier else None,
                     read_augmentations(tracklets))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_jobs(jobs, settings, model)
    for w in caught:
        _say(f"warning: {w.message}")
    todo, stale = compare_with_disk(out, shard.select(jobs))
    if on_mismatch == "refuse":
        refuse_mismatches(out, shard.select(jobs), stale)
    write_plan(out, jobs, settings, dataset, model)
    if stale:
        first = next(iter(stale.items()))
        _say(f"{len(stale)} clip(s) in {out} were made differently and are regenerated "
             f"(e.g. {first[0]!r}: {', '.join(first[1])})")
    if todo:
        # Loaded in the asked precision (a cast after loading would bypass diffusers' fp32 keep-list).
        pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint, torch_dtype=getattr(torch, dtype))
        pipe = pipe.to(device or str(_default_device()))
        pipe.set_progress_bar_config(disable=True)
        with Progress(disable=quiet, console=console) as bar:
            task = bar.add_task(f"shard {shard.index + 1}/{shard.count}" if shard.count > 1 else "generating",
                                total=len(todo))
            generate_shard(pipe, jobs, out, settings, shard, verifier, on_mismatch, progress=lambda _: bar.advance(task))
    mine = len(shard.select(jobs))
    _say(f"shard {shard.index}/{shard.count}: {len(todo)} clip(s) generated, {mine - len(todo)} already done"
         if shard.count > 1 else f"{len(todo)} clip(s) generated, {mine - len(todo)} already done")
    plan = clip_store.read_plan(out)
    if shard.distributed:
        if shard.index != 0:
            return
        wait_until(lambda: not clip_store.status(out, plan)[1])
    _, missing = clip_store.status(out, plan)
    if missing:
        _say(f"{len(missing)} clip(s) of other shards are not done yet; the last shard to finish merges "
             f"(or run `trackdiffusion generate --merge {out}`)")
        return
    labels = clip_store.merge(out, sheet=lambda data, root: write_sheet(data, root, settings.sheet_clips))
    sheet = f" (contact sheet: {out / 'contact_sheet.png'})" if len(labels) else ""
    _say(f"wrote labels of {len(labels)} clips to {out}{sheet}")


def _default_device():
    from accelerate import PartialState

    return PartialState().device
