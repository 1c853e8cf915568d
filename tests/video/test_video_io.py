"""Video and frame I/O round trips."""

from __future__ import annotations

import numpy as np
import pytest

from trackdiffusion.video import (read_mp4, read_video, resize_crop_frames, save_image, save_video, scale_frames,
                                  write_gif, write_mp4, write_png_frames)
from trackdiffusion.video.io import list_frame_files


def _smooth_frames(T: int = 6, H: int = 32, W: int = 48) -> np.ndarray:
    """Blocks of flat colour moving over a gradient: what H.264 keeps well."""
    ys, xs = np.mgrid[0:H, 0:W]
    frames = np.zeros((T, H, W, 3), dtype=np.uint8)
    for t in range(T):
        frames[t, ..., 0] = (xs * 255 // W).astype(np.uint8)
        frames[t, ..., 1] = (ys * 255 // H).astype(np.uint8)
        frames[t, ..., 2] = 90
        frames[t, 8:20, 4 + 3 * t:16 + 3 * t] = (250, 250, 30)
    return frames


def test_png_frames_round_trip_exactly(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, size=(4, 17, 23, 3), dtype=np.uint8)
    paths = write_png_frames(frames, tmp_path / "clip")
    assert [p.name for p in paths] == ["000000.png", "000001.png", "000002.png", "000003.png"]
    assert np.array_equal(read_video(tmp_path / "clip"), frames)
    save_video(frames, tmp_path / "again")  # no suffix: a folder of pngs
    assert np.array_equal(read_video(tmp_path / "again"), frames)


def test_frame_folders_sort_naturally(tmp_path):
    frames = np.stack([np.full((4, 4, 3), 10 * t, dtype=np.uint8) for t in range(12)])
    for t, f in enumerate(frames):
        save_image(f, tmp_path / f"img{t}.jpg" if t % 2 else tmp_path / f"img{t}.png")
    assert [p.name for p in list_frame_files(tmp_path)][:3] == ["img0.png", "img1.jpg", "img2.png"]
    back = read_video(tmp_path)
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).max() <= 3  # jpg is lossy


def test_mp4_round_trip_is_close(tmp_path):
    frames = _smooth_frames()
    write_mp4(frames, tmp_path / "a.mp4", fps=8)
    back = read_mp4(tmp_path / "a.mp4")
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 4


def test_mp4_of_odd_size_is_padded_not_resized(tmp_path):
    frames = _smooth_frames(H=31, W=45)
    with pytest.warns(UserWarning, match="padded to 46x32"):
        save_video(frames, tmp_path / "odd.mp4")
    back = read_video(tmp_path / "odd.mp4")
    assert back.shape == (6, 32, 46, 3)
    # The original pixels stay where they were: no rescaling.
    assert np.abs(back[:, :31, :45].astype(int) - frames).mean() < 4


def test_gif_and_strip(tmp_path):
    frames = _smooth_frames()
    write_gif(frames, tmp_path / "a.gif", fps=5)
    back = read_video(tmp_path / "a.gif")
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 12  # 256-colour palette
    save_video(frames, tmp_path / "strip.png")
    strip = read_video(tmp_path / "strip.png")
    assert strip.shape[0] == 1 and strip.shape[2] > 6 * 48


def test_bad_frames_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(np.zeros((2, 8, 8, 3), dtype=np.float32), tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="unknown video suffix"):
        save_video(np.zeros((2, 8, 8, 3), dtype=np.uint8), tmp_path / "x.xyz")
    with pytest.raises(FileNotFoundError):
        read_mp4(tmp_path / "missing.mp4")


def test_resize_helpers():
    frames = np.zeros((2, 10, 20, 3), dtype=np.uint8)
    frames[:, :, 5:15] = 200  # a band centred in x
    assert scale_frames(frames, 3).shape == (2, 30, 60, 3)
    assert scale_frames(frames, 0.5).shape == (2, 5, 10, 3)
    out = resize_crop_frames(frames, 10, 10)  # cover: height 10 fits, crop x 5..15
    assert out.shape == (2, 10, 10, 3)
    assert np.all(out[:, :, 1:-1] == 200)
