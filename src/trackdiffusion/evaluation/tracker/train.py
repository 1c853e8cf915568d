"""``trackdiffusion train-tracker``: training the grounding tracker, with resume and a val report.

The training set is the clips of ``data`` (optionally a seeded ``train_fraction`` of them, or the
clips named in ``clip_list``) plus every clip of each ``extra_data`` split (e.g. generated clips,
for the trainability experiment); all must share one category table. Batches are drawn
uniformly over the pooled clips (:func:`.data.sample_batch`), so adding splits changes what a
step sees, not how many steps there are. Optimiser: AdamW with a cosine schedule.

Output folder: ``checkpoints/step-*`` (atomic, resumable), ``loss.csv`` / ``loss.png``,
``final/`` (``config.json`` + fp16 ``model.safetensors``), ``train_config.json`` and, with
``val_data``, ``report.json`` (val TrackAP and SOT of the saved fp16 weights).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from diffusers.optimization import get_scheduler

from ...training.checkpointing import latest_checkpoint, load_checkpoint, save_checkpoint
from ...training.progress_log import LossLog, progress_bar
from ...tracklets.dataset import TrackletDataset
from ..sot import sot_evaluate
from ..trackap import track_ap
from .config import TrackerConfig
from .data import BatchSpec, FramePool, load_pool, read_split, sample_batch, subset_clips
from .inference import track_dataset
from .model import GroundingTracker
from .targets import FrameTargets, LossWeights, tracker_loss

FINAL_DIR = "final"
REPORT_FILE = "report.json"


@dataclass
class TrackerTrainConfig:
    """Everything a training run depends on (saved as ``train_config.json``)."""

    data: str
    output_dir: str
    val_data: str | None = None
    extra_data: list[str] = field(default_factory=list)
    train_fraction: float = 1.0
    clip_list: str | None = None  # a text file of clip names of ``data``, one per line
    max_steps: int = 3000
    clips_per_batch: int = 8
    frames_per_clip: int = 4
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    min_visibility: float = 0.25  # less visible objects are ignored by the losses
    input_size: int = 64
    seed: int = 0
    checkpoint_every: int = 250
    keep_last: int = 2
    log_every: int = 25

    def problems(self) -> list[str]:
        out = []
        if not 0 < self.train_fraction <= 1:
            out.append(f"train_fraction: must be in (0, 1], got {self.train_fraction}")
        if not 0 <= self.min_visibility <= 1:
            out.append(f"min_visibility: must be in [0, 1], got {self.min_visibility}")
        if self.clip_list is not None and self.train_fraction != 1:
            out.append("clip_list and train_fraction: give one of them")
        for name in ("max_steps", "clips_per_batch", "frames_per_clip", "checkpoint_every", "keep_last", "log_every"):
            if getattr(self, name) < 1:
                out.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        return out


def training_clips(cfg: TrackerTrainConfig) -> tuple[TrackletDataset, list[TrackletDataset]]:
    """The real training clips (after fraction / clip list) and the extra splits."""
    names = None
    if cfg.clip_list is not None:
        names = [n.strip() for n in Path(cfg.clip_list).read_text().splitlines() if n.strip()]
    real = read_split(cfg.data, names)
    if cfg.train_fraction < 1:
        real = subset_clips(real, cfg.train_fraction, cfg.seed)
    extra = [read_split(path) for path in cfg.extra_data]
    for split in extra:
        if split.categories != real.categories:
            raise ValueError(f"{split.source}: category table {split.categories} differs from "
                             f"{real.source}'s {real.categories}")
    return real, extra


def evaluate_tracker(model: GroundingTracker, dataset: TrackletDataset) -> dict[str, float]:
    """Val TrackAP (AP, AP50, AP75, AR@100) and SOT (success, norm_precision) of ``model``, x100."""
    results = track_dataset(model, dataset)
    ap = track_ap(dataset, results.tracks)
    sot = sot_evaluate(dataset, results.followed)["overall"]
    return {"AP": ap["AP"], "AP50": ap["AP50"], "AP75": ap["AP75"], "AR@100": ap["AR@100"],
            "success": sot["success"], "norm_precision": sot["norm_precision"], "clips": len(dataset)}


def train_tracker(cfg: TrackerTrainConfig, progress: bool = True,
                  log: Callable[[str], None] | None = None) -> Path:
    """Train (or resume) a grounding tracker; return the ``final/`` folder."""
    problems = cfg.problems()
    if problems:
        raise ValueError("invalid tracker training config: " + "; ".join(problems))
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    real, extra = training_clips(cfg)
    model_cfg = TrackerConfig(categories=dict(real.categories), input_size=cfg.input_size)
    say = log or (lambda _: None)
    started = time.perf_counter()
    pool = FramePool.concatenate([load_pool(d, cfg.input_size, model_cfg.category_ids) for d in [real, *extra]])
    say(f"loaded {pool.num_clips} clips ({len(real)} from {cfg.data}"
        + "".join(f", {len(d)} from {d.source}" for d in extra) + f") in {time.perf_counter() - started:.1f} s")
    torch.manual_seed(cfg.seed)
    acc = Accelerator(cpu=not torch.cuda.is_available())
    # Channels-last makes the CPU (oneDNN) convolutions about 25 % faster here.
    model = GroundingTracker(model_cfg).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    schedule = get_scheduler("cosine", optimizer, num_warmup_steps=min(cfg.warmup_steps, cfg.max_steps // 10),
                             num_training_steps=cfg.max_steps)
    model, optimizer, schedule = acc.prepare(model, optimizer, schedule)
    step = 0
    resume = latest_checkpoint(out)
    if resume is not None:
        step = load_checkpoint(acc, resume)["step"]
        say(f"resumed from {resume}")
    loss_log = LossLog(out, resume_step=step)
    spec = BatchSpec(clips_per_batch=cfg.clips_per_batch, frames_per_clip=cfg.frames_per_clip)
    weights = LossWeights()
    model.train()
    running, t0 = [], time.perf_counter()
    with progress_bar(not progress) as bar:
        task = bar.add_task("training tracker", total=cfg.max_steps, completed=step, info="")
        while step < cfg.max_steps:
            frames, targets = sample_batch_on(pool, spec, cfg.seed, step, acc.device)
            loss, parts = tracker_loss(model, frames, targets, model_cfg.stride, cfg.min_visibility, weights)
            acc.backward(loss)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running.append(loss.item())
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                rate = len(running) / (time.perf_counter() - t0)
                loss_log.append(step, sum(running) / len(running), schedule.get_last_lr()[0], rate)
                info = " ".join(f"{k} {v:.3f}" for k, v in parts.items())
                bar.update(task, info=f"loss {sum(running) / len(running):.3f} ({info})  {rate:.2f} it/s")
                running, t0 = [], time.perf_counter()
            bar.update(task, completed=step)
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                save_checkpoint(acc, out, step, {"config": asdict(cfg)}, cfg.keep_last)
                loss_log.plot("grounding tracker loss")
    final = out / FINAL_DIR
    if acc.is_main_process:
        acc.unwrap_model(model).save_pretrained(final)
        if cfg.val_data:
            # Measured on the weights as saved (fp16), i.e. exactly what a user loads.
            report = evaluate_tracker(GroundingTracker.from_pretrained(final), read_split(cfg.val_data))
            report.update(steps=cfg.max_steps, train_clips=len(real), extra_clips=sum(len(d) for d in extra),
                          minutes=round((time.perf_counter() - started) / 60, 1))
            (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    acc.wait_for_everyone()
    return final


def sample_batch_on(pool: FramePool, spec: BatchSpec, seed: int, step: int,
                    device: torch.device) -> tuple[torch.Tensor, FrameTargets]:
    """:func:`.data.sample_batch` moved to ``device``."""
    frames, targets = sample_batch(pool, spec, seed, step)
    frames = frames.to(device).contiguous(memory_format=torch.channels_last)
    return frames, FrameTargets(**{k: v.to(device) for k, v in vars(targets).items()})
