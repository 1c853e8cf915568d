"""Training batches drawn by step, from frames on disk or from a latent cache.

Batch ``k`` of optimizer step ``s`` on process ``r`` is a pure function of ``(seed, s, k, r)``
(clips and window starts), so a resumed run sees exactly the batches an uninterrupted run would,
whatever the number of DataLoader workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset, Sampler

from ..tracklets import collate_tracklets
from ..tracklets.loader import ClipDataset, read_clip_frames
from ..video.transform import resize_crop_frames


class LatentCache:
    """Every frame of every clip at the model resolution, encoded once: ``clip -> [L, C, h, w]``
    float16, in safetensors shards that every process reads lazily (memory-mapped).

    With W processes, process r encodes clips r, r + W, ... into ``shard-<r>-of-<W>.safetensors``
    (the cache key in its metadata), so the W ranks encode in parallel and wait at the barrier only
    for the slowest shard; then each reads the windows of its batches straight from the files.
    Without a VAE the "latents" are the frames themselves in [-1, 1] (pixel-space training).
    """

    def __init__(self, files: dict[str, Path]):
        self.files = files  # clip name -> its shard
        self._handles: dict[Path, object] = {}
        self._pid = os.getpid()

    @staticmethod
    def key(clips: ClipDataset, vae_path: str | None, data_path: str) -> str:
        """Identifies what the cache was made from; a mismatch rebuilds it."""
        vae_id = None
        if vae_path:
            weights = sorted(Path(vae_path).glob("*.safetensors"))
            vae_id = [str(Path(vae_path).resolve())] + [f"{w.name}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights]
        desc = {"data": str(Path(data_path).resolve()), "size": [clips.width, clips.height], "vae": vae_id,
                "clips": [[c.name, c.num_frames] for c in clips.clips]}
        return hashlib.sha256(json.dumps(desc).encode()).hexdigest()

    @staticmethod
    def shard_path(folder: Path, rank: int, world: int) -> Path:
        return Path(folder) / f"shard-{rank:05d}-of-{world:05d}.safetensors"

    @classmethod
    @torch.no_grad()
    def build_shard(cls, folder: Path, key: str, clips: ClipDataset, vae, rank: int = 0, world: int = 1,
                    progress=None, chunk: int = 32) -> Path:
        """Encode this rank's clips into its shard, unless a shard with ``key`` is there already."""
        path = cls.shard_path(folder, rank, world)
        if path.is_file() and _shard_key(path) == key:
            return path
        out = {}
        for clip in clips.clips[rank::world]:
            frames = resize_crop_frames(read_clip_frames(clip, clips.image_root), clips.width, clips.height)
            x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
            if vae is not None:
                x = torch.cat([vae.encode(c.to(vae.device, vae.dtype)).latent_dist.mode() for c in x.split(chunk)])
                x = x * vae.config.scaling_factor
            out[clip.name] = x.to(torch.float16).cpu().contiguous()
            if progress is not None:
                progress()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(out, tmp, metadata={"key": key})
        tmp.replace(path)
        return path

    @classmethod
    def open(cls, folder: Path, key: str, world: int = 1) -> "LatentCache":
        """Map every clip to its shard (reads the shards' headers only)."""
        files = {}
        for rank in range(world):
            path = cls.shard_path(folder, rank, world)
            if not path.is_file() or _shard_key(path) != key:
                raise FileNotFoundError(f"latent cache shard {path} is missing or was built from other data")
            with safe_open(path, "pt") as f:
                files.update(dict.fromkeys(f.keys(), path))
        return cls(files)

    def window(self, clip: str, index: np.ndarray) -> torch.Tensor:
        """``[C, T, h, w]`` float32 latents of the frames ``index`` (evenly spaced) of ``clip``."""
        if self._pid != os.getpid():  # a DataLoader worker: file handles do not cross a fork
            self._handles, self._pid = {}, os.getpid()
        path = self.files[clip]
        if path not in self._handles:
            self._handles[path] = safe_open(path, "pt")
        step = int(index[1] - index[0]) if len(index) > 1 else 1
        rows = self._handles[path].get_slice(clip)[int(index[0]):int(index[-1]) + 1]  # reads these frames only
        return rows[::step].float().permute(1, 0, 2, 3)


def _shard_key(path: Path) -> str | None:
    with safe_open(path, "pt") as f:
        return (f.metadata() or {}).get("key")


class TrainingWindows(Dataset):
    """``(clip index, window start)`` -> one example: ``latents`` (cached) or ``frames``, plus tracklets."""

    def __init__(self, clips: ClipDataset, cache: LatentCache | None = None):
        self.clips, self.cache = clips, cache

    def __len__(self) -> int:
        return len(self.clips)

    def room(self, index: int) -> int:
        return self.clips.clips[index].num_frames - self.clips.span

    def __getitem__(self, key: tuple[int, int]) -> dict:
        index, start = key
        item = self.clips.item(index, start, frames=self.cache is None)
        if self.cache is not None:
            frame_index = start + self.clips.stride * np.arange(self.clips.num_frames)
            item["latents"] = self.cache.window(item["clip"], frame_index)
        return item


def collate_windows(items: list[dict]) -> dict:
    batch = {"tracklets": collate_tracklets([it["tracklets"] for it in items]),
             "caption": [it["caption"] for it in items],
             "category_names": [it["category_names"] for it in items],
             "phrases": [it["phrases"] for it in items],
             "clip": [it["clip"] for it in items]}
    if "latents" in items[0]:
        batch["latents"] = torch.stack([it["latents"] for it in items])  # [B, C, T, h, w]
    else:
        batch["frames"] = torch.stack([it["frames"] for it in items])  # [B, T, 3, H, W]
    return batch


class StepBatches(Sampler):
    """Yields the ``(clip, start)`` keys of every micro-batch from ``start_step`` to ``max_steps``."""

    def __init__(self, windows: TrainingWindows, batch_size: int, seed: int, rank: int,
                 start_step: int, max_steps: int, accumulation: int = 1):
        self.windows, self.batch_size, self.seed, self.rank = windows, batch_size, seed, rank
        self.start_step, self.max_steps, self.accumulation = start_step, max_steps, accumulation

    def __len__(self) -> int:
        return (self.max_steps - self.start_step) * self.accumulation

    def keys(self, step: int, micro: int) -> list[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, step, micro, self.rank])
        index = rng.integers(len(self.windows), size=self.batch_size)
        return [(int(i), int(rng.integers(self.windows.room(int(i)) + 1))) for i in index]

    def __iter__(self):
        for step in range(self.start_step, self.max_steps):
            for micro in range(self.accumulation):
                yield self.keys(step, micro)
