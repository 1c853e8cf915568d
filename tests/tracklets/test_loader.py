"""The clip loader on synthetic clips written to disk: shapes, windows, resize geometry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from trackdiffusion.tracklets import TrackletDataset, TrackletError
from trackdiffusion.tracklets.loader import ClipDataset, collate_clips, read_clip_frames
from trackdiffusion.tracklets.synthetic import SyntheticWorld, WorldConfig
from trackdiffusion.tracklets.synthetic.writer import write_clip

# One solid object on a flat, noiseless background: its pixels are easy to find after resizing.
PLAIN = dict(backgrounds=("flat",), textures=("solid",), background_noise=0.0, min_objects=1, max_objects=1,
             p_reentry=0.0)


def _split(tmp_path, config: WorldConfig, count: int, videos_only: bool = False):
    world = SyntheticWorld(config)
    clips, frames = [], []
    for i in range(count):
        f, clip = world.render_clip("train", i)
        clip = write_clip(f, clip, tmp_path)
        if videos_only:
            clip.frame_names = None
        clips.append(clip)
        frames.append(f)
    return TrackletDataset(clips, world.categories, image_root=str(tmp_path)), frames


def test_items_have_the_documented_shapes(tmp_path):
    dataset, _ = _split(tmp_path, WorldConfig(num_frames=8, min_objects=2, max_objects=3), 2)
    loader = ClipDataset(dataset, num_frames=4, stride=2, width=32, window="first")
    item = loader[0]
    assert item["frames"].shape == (4, 3, 32, 32) and item["frames"].dtype == torch.float32
    assert item["frames"].min() >= -1 and item["frames"].max() <= 1
    n = item["tracklets"].num_instances
    assert item["tracklets"].boxes.shape == (4, n, 4) and len(item["category_names"]) == n
    assert item["caption"] == dataset[0].caption and item["clip"] == dataset[0].name
    batch = collate_clips([loader[0], loader[1]])
    assert batch["frames"].shape == (2, 4, 3, 32, 32)
    assert batch["tracklets"].present.shape[:2] == (2, 4) and batch["start"].tolist() == [0, 0]


def test_windows_pick_the_right_frames(tmp_path):
    dataset, frames = _split(tmp_path, WorldConfig(num_frames=12), 3)
    first = ClipDataset(dataset, num_frames=3, stride=2, window="first")
    center = ClipDataset(dataset, num_frames=3, stride=2, window="center")
    assert first.window_start(0) == 0 and center.window_start(0) == (12 - 5) // 2
    item = center[1]
    expected = frames[1][[3, 5, 7]]  # 64x64 stays 64x64: the pixels come back exactly
    got = ((item["frames"] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    assert np.array_equal(got, expected)
    random = ClipDataset(dataset, num_frames=3, stride=2, seed=4)
    starts = {e: [random.window_start(i) for i in range(3)] for e in range(6) if random.set_epoch(e) is None}
    assert all(0 <= s <= 7 for ss in starts.values() for s in ss)
    assert len({tuple(s) for s in starts.values()}) > 1  # epochs move the windows
    again = ClipDataset(dataset, num_frames=3, stride=2, seed=4)
    again.set_epoch(5)
    assert [again.window_start(i) for i in range(3)] == starts[5]


def _object_box(frame: np.ndarray, background: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(np.abs(frame.astype(int) - background).sum(-1) > 60)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if len(xs) else None


@pytest.mark.parametrize("src, dst", [((64, 64), (48, 32)), ((96, 64), (64, 64)), ((64, 64), (40, 40))])
def test_loaded_boxes_match_the_loaded_frames(tmp_path, src, dst):
    config = WorldConfig(width=src[0], height=src[1], num_frames=6, **PLAIN)
    dataset, frames = _split(tmp_path, config, 6)
    loader = ClipDataset(dataset, num_frames=6, width=dst[0], height=dst[1], window="first")
    checked = 0
    for i in range(len(loader)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # boxes cut by the centre crop warn (the data model's rule)
            item = loader[i]
        pixels = ((item["frames"] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        background = np.median(frames[i][0].reshape(-1, 3), axis=0)  # flat, and mostly uncovered
        t_ = item["tracklets"]
        scale = np.array([dst[0], dst[1], dst[0], dst[1]])
        for t in range(6):
            if t_.num_instances == 0 or not t_.present[t, 0]:
                continue
            box = t_.boxes[t, 0].numpy() * scale
            if box[0] <= 0 or box[1] <= 0 or box[2] >= dst[0] or box[3] >= dst[1]:
                continue  # cut by the frame or the crop: a clipped box is not tight (by design)
            found = _object_box(pixels[t], background)
            assert found is not None
            # Resampling blurs edges by up to a pixel; the geometry must agree to that.
            assert np.abs(np.array(found) - box).max() <= 1.01, (i, t, found, box)
            checked += 1
    assert checked >= 12


def test_mp4_per_clip_is_read_when_no_frame_names(tmp_path):
    dataset, frames = _split(tmp_path, WorldConfig(num_frames=5), 1, videos_only=True)
    got = read_clip_frames(dataset[0], tmp_path, np.array([1, 3]))
    assert got.shape == (2, 64, 64, 3)
    assert np.abs(got.astype(int) - frames[0][[1, 3]]).mean() < 6  # H.264 at 64x64 is lossy


def test_short_clips_are_named_or_skipped(tmp_path):
    dataset, _ = _split(tmp_path, WorldConfig(num_frames=4), 2)
    dataset.clips[1] = dataset.clips[1].window(0, 2)
    with pytest.raises(TrackletError, match="train_00001.*2 frames.*needs 4"):
        ClipDataset(dataset, num_frames=4)
    with pytest.warns(UserWarning, match="skipped 1 clip"):
        loader = ClipDataset(dataset, num_frames=4, skip_short=True)
    assert len(loader) == 1 and loader.skipped == ["train_00001"]


def test_missing_frames_name_the_clip(tmp_path):
    dataset, _ = _split(tmp_path, WorldConfig(num_frames=3), 1)
    (tmp_path / "videos" / "train_00000.mp4").unlink()
    (tmp_path / dataset[0].frame_names[1]).unlink()
    with pytest.raises(FileNotFoundError, match="train_00000"):
        ClipDataset(dataset, num_frames=2, window="first")[0]
