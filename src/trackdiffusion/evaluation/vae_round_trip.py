"""The ceiling a VAE puts on the latent route: real clips encoded and decoded, then tracked.

A generated clip can only be as trackable as the decoder can draw; ``round_trip_split`` writes
each clip's frames after one encode / decode (posterior mode) as a split folder, which
:func:`.fidelity.fidelity_row` then scores like any generated split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL

from ..pipelines.pipeline_trackdiffusion import to_uint8
from ..tracklets.dataset import TrackletDataset
from ..tracklets.loader import read_clip_frames
from ..tracklets.synthetic.writer import write_clip, write_split_annotations


@torch.no_grad()
def reconstruct(vae: AutoencoderKL, frames: np.ndarray, chunk: int = 32) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` -> its reconstruction, uint8 ``[T, H, W, 3]``."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    rec = torch.cat([vae.decode(vae.encode(c.to(vae.dtype)).latent_dist.mode()).sample.float() for c in x.split(chunk)])
    return to_uint8(rec)


def round_trip_split(vae: AutoencoderKL, dataset: TrackletDataset, out: str | Path) -> TrackletDataset:
    """Write every clip of ``dataset`` (frames from its image root) through ``vae`` into the split ``out``."""
    out = Path(out)
    clips = [write_clip(reconstruct(vae, read_clip_frames(c, dataset.image_root)), c.copy(), out) for c in dataset.clips]
    labels = TrackletDataset(clips, dict(dataset.categories), source=f"VAE round trip of {dataset.source}",
                             image_root=str(out))
    write_split_annotations(labels, out)
    return labels
