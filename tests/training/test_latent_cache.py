"""The latent cache: one shard per process, read lazily, rebuilt when its data changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trackdiffusion.tracklets.loader import ClipDataset, read_clip_frames
from trackdiffusion.training.data import LatentCache
from trackdiffusion.video.transform import resize_crop_frames


def _clips(world, **kw):
    return ClipDataset.from_dir(world / "train", num_frames=3, width=32, height=32, **kw)


def test_sharded_cache_reads_the_same_windows_as_the_frames(tiny_world, tmp_path):
    clips = _clips(tiny_world, stride=2)
    key = LatentCache.key(clips, None, str(tiny_world / "train"))
    for rank in range(3):  # three "processes", each encoding its share: clips r, r + 3, ...
        LatentCache.build_shard(tmp_path, key, clips, None, rank, 3)
    shards = sorted(p.name for p in tmp_path.iterdir())
    assert shards == [f"shard-0000{r}-of-00003.safetensors" for r in range(3)]
    cache = LatentCache.open(tmp_path, key, world=3)
    assert sorted(cache.files) == sorted(c.name for c in clips.clips)
    assert [cache.files[c.name].name[:11] for c in clips.clips] == [f"shard-0000{i % 3}" for i in range(len(clips.clips))]
    for clip in clips.clips:
        index = np.array([1, 3, 5])  # frames of a stride-2 window
        frames = resize_crop_frames(read_clip_frames(clip, clips.image_root), 32, 32)[index]
        expected = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float() / 127.5 - 1.0
        got = cache.window(clip.name, index)  # [C, T, h, w]
        assert got.shape == (3, 3, 32, 32)
        assert torch.equal(got, expected.half().float())


def test_a_shard_from_other_data_is_rebuilt_and_a_missing_one_named(tiny_world, tmp_path):
    clips = _clips(tiny_world)
    path = LatentCache.build_shard(tmp_path, "old-key", clips, None)
    stamp = path.stat().st_mtime_ns
    assert LatentCache.build_shard(tmp_path, "old-key", clips, None).stat().st_mtime_ns == stamp  # reused
    LatentCache.build_shard(tmp_path, "new-key", clips, None)
    assert LatentCache.open(tmp_path, "new-key").files
    with pytest.raises(FileNotFoundError, match="shard-00000-of-00002"):
        LatentCache.open(tmp_path, "new-key", world=2)
