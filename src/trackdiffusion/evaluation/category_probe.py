"""Does the model draw the category it is asked for? A causal probe, per noise level.

For each held-out clip and each timestep ``t``: encode the real frames, noise them to ``t`` (a
fixed seed), take one guided denoising step and decode the model's estimate of the clean clip;
the grounding tracker then names the category at every annotated box (:func:`.fidelity.class_counts`).
This is done with the true categories and with every instance forced to another category (each
category mapped to the next one of the tracker's list: a permutation, so two instances of one
category stay alike). The captions name the categories too, so the same permutation is applied
to the category words of the caption (``forced``), or the caption is left out (``empty``: the
boxes alone must carry the category).

Reported per ``t`` (x100): ``true``: accuracy against the true categories with the true
conditioning; ``forced_vs_true``: the same accuracy with the forced conditioning (a model that
ignores the category keeps it high); ``forced_vs_forced``: accuracy against the forced categories;
``shift = true - forced_vs_true``; the same for the empty caption; and the mean gate openings.

Legend: B batch (1 clip), C latent channels, T frames, h, w latent size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch
from einops import rearrange

from ..pipelines import TrackDiffusionPipeline
from ..pipelines.inputs import prepare_tracklets
from ..pipelines.pipeline_trackdiffusion import to_uint8
from ..tracklets.clip import Clip
from ..tracklets.dataset import TrackletDataset
from ..tracklets.loader import read_clip_frames
from .fidelity import ClassCounts, class_counts
from .learning_curve import gate_openings
from .tracker.model import GroundingTracker

DEFAULT_TIMESTEPS = (100, 300, 500, 700, 900)


def category_permutation(names: list[str]) -> dict[str, str]:
    """Each category to the next one in ``names`` (cyclic)."""
    return {a: names[(i + 1) % len(names)] for i, a in enumerate(names)}


def force_categories(clip: Clip, mapping: dict[str, str]) -> Clip:
    """``clip`` with every instance's category (and the category words of its caption) mapped."""
    forced = clip.copy()
    ids = {name: cid for cid, name in clip.categories.items()}
    missing = sorted(set(mapping.values()) - set(ids))
    if missing:
        forced.categories = dict(clip.categories)
        for name in missing:
            ids[name] = max(forced.categories, default=0) + 1
            forced.categories[ids[name]] = name
    for inst in forced.instances:
        inst.category_id = ids[mapping[clip.categories[inst.category_id]]]
    if clip.caption:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
        forced.caption = pattern.sub(lambda m: mapping[m.group(1)], clip.caption)
    return forced


@dataclass
class ProbeRow:
    t: int
    counts: dict[str, ClassCounts] = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        acc = {k: c.accuracy for k, c in self.counts.items()}
        return {"t": self.t, **acc, "shift": acc["true"] - acc["forced_vs_true"],
                "shift_empty_caption": acc["true_empty"] - acc["forced_empty_vs_true"]}


@torch.no_grad()
def _estimate(pipe: TrackDiffusionPipeline, latents: torch.Tensor, t: int, clip: Clip, prompt: str,
              guidance: float, generator: torch.Generator) -> np.ndarray:
    """The decoded one-step clean estimate ``[T, H, W, 3]`` uint8 from ``latents [1, C, T, h, w]`` noised to ``t``."""
    alpha_bar = pipe.scheduler.alphas_cumprod[t].to(latents)
    noise = torch.randn(latents.shape, generator=generator).to(latents)
    noisy = alpha_bar.sqrt() * latents + (1 - alpha_bar).sqrt() * noise
    prepared = prepare_tracklets(clip)
    cond = pipe._conditioning([prompt], prepared, latents.device, latents.dtype, cfg=guidance > 1.0, separate=False)
    branches = len(cond["encoder_hidden_states"])
    out = pipe.unet(torch.cat([noisy] * branches), torch.tensor([t] * branches), **cond).sample.chunk(branches)
    pred = out[0] if branches == 1 else out[0] + guidance * (out[1] - out[0])
    if pipe.scheduler.config.prediction_type == "v_prediction":
        x0 = alpha_bar.sqrt() * noisy - (1 - alpha_bar).sqrt() * pred
    else:
        x0 = (noisy - (1 - alpha_bar).sqrt() * pred) / alpha_bar.sqrt()
    return to_uint8(pipe.decode_latents(x0))[0]


@torch.no_grad()
def _encode(pipe: TrackDiffusionPipeline, frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` -> ``[1, C, T, h, w]`` scaled latents (pixels without a VAE)."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if pipe.vae is not None:
        x = pipe.vae.encode(x.to(pipe.vae.dtype)).latent_dist.mode() * pipe.vae.config.scaling_factor
    return rearrange(x.float(), "t c h w -> 1 c t h w").to(pipe.unet.dtype)


def category_probe(pipe: TrackDiffusionPipeline, tracker: GroundingTracker, clips: TrackletDataset,
                   timesteps: tuple[int, ...] = DEFAULT_TIMESTEPS, guidance: float = 5.0,
                   seed: int = 0) -> dict:
    """The probe of the module docstring on every clip of ``clips`` (frames encoded at their own size)."""
    mapping = category_permutation(list(tracker.config.categories.values()))
    rows = {t: ProbeRow(t, {k: ClassCounts() for k in ("true", "forced_vs_true", "forced_vs_forced", "true_empty",
                                                        "forced_empty_vs_true", "forced_empty_vs_forced")})
            for t in timesteps}
    for i, clip in enumerate(clips.clips):
        if clip.width % pipe.size_factor or clip.height % pipe.size_factor:
            raise ValueError(f"clip {clip.name!r} is {clip.width}x{clip.height}: the probe encodes its frames, "
                             f"so both must be divisible by {pipe.size_factor}")
        latents = _encode(pipe, read_clip_frames(clip, clips.image_root))
        forced = force_categories(clip, mapping)
        true_labels = {inst.id: clip.categories[inst.category_id] for inst in clip.instances}
        forced_labels = {inst.id: forced.categories[inst.category_id] for inst in forced.instances}
        for t in timesteps:
            counts = rows[t].counts
            for suffix, caption_true, caption_forced in (("", clip.caption or "", forced.caption or ""),
                                                         ("_empty", "", "")):
                gen = lambda: torch.Generator().manual_seed(seed + 1000 * i + t)  # noqa: E731  same noise for both
                est = _estimate(pipe, latents, t, clip, caption_true, guidance, gen())
                counts[f"true{suffix}"].add(class_counts(tracker, est, clip, true_labels))
                est = _estimate(pipe, latents, t, forced, caption_forced, guidance, gen())
                counts[f"forced{suffix}_vs_true"].add(class_counts(tracker, est, clip, true_labels))
                counts[f"forced{suffix}_vs_forced"].add(class_counts(tracker, est, clip, forced_labels))
    return {"timesteps": [rows[t].values() for t in timesteps], "gates": gate_openings(pipe.unet),
            "clips": len(clips), "guidance": guidance, "mapping": mapping}
