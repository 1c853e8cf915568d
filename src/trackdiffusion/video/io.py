"""Reading and writing videos and frames as ``uint8 [T, H, W, 3]`` arrays.

mp4 is H.264 through the ffmpeg binary that imageio-ffmpeg ships (works offline); gif and
images go through Pillow. Legend: T frames, H, W frame size.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from .sheet import contact_sheet

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def as_frames(frames: np.ndarray) -> np.ndarray:
    """``frames`` checked as ``uint8 [T, H, W, 3]`` (grey ``[T, H, W]`` is expanded to RGB)."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype} (convert with np.clip(...).astype(np.uint8))")
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise ValueError(f"frames must be [T, H, W, 3] with T, H, W > 0, got {list(frames.shape)}")
    return frames


def _even_size(frames: np.ndarray, path: Path) -> np.ndarray:
    """Pad odd heights/widths by one replicated row/column: H.264 in yuv420p needs even sizes.

    Padding (not resizing) keeps every pixel where it was; the warning says so, never silent.
    """
    T, H, W, _ = frames.shape
    pad_h, pad_w = H % 2, W % 2
    if not (pad_h or pad_w):
        return frames
    warnings.warn(f"{path}: {W}x{H} frames padded to {W + pad_w}x{H + pad_h} (H.264 needs even sizes); "
                  f"the extra row/column repeats the last one", stacklevel=3)
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def write_mp4(frames: np.ndarray, path: str | Path, fps: float = 8.0, crf: int = 18) -> Path:
    """Write ``frames [T, H, W, 3]`` as an H.264 mp4 (``crf``: 0 lossless-ish, 51 worst)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = _even_size(as_frames(frames), path)
    T, H, W, _ = frames.shape
    import imageio_ffmpeg  # here, not at the top: training and benchmark-only installs need no ffmpeg binary

    # macro_block_size=1: imageio-ffmpeg would otherwise rescale sizes that are not multiples of 16.
    writer = imageio_ffmpeg.write_frames(
        str(path), (W, H), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
        macro_block_size=1, output_params=["-crf", str(int(crf))], ffmpeg_log_level="error")
    writer.send(None)  # start the ffmpeg process
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()
    return path


def read_mp4(path: str | Path) -> np.ndarray:
    """Every frame of a video file (any container ffmpeg reads) as ``uint8 [T, H, W, 3]``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no video file at {path}")
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    W, H = meta["size"]
    frames = [np.frombuffer(buf, dtype=np.uint8).reshape(H, W, 3) for buf in reader]
    if not frames:
        raise ValueError(f"{path}: the video has no frames")
    return np.stack(frames)


def write_gif(frames: np.ndarray, path: str | Path, fps: float = 8.0) -> Path:
    """Write a looping gif. Pillow quantises colours and merges identical consecutive frames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f) for f in as_frames(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)
    return path


def read_gif(path: str | Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])


def read_image(path: str | Path) -> np.ndarray:
    """One image as ``uint8 [H, W, 3]``."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Write ``uint8 [H, W, 3]`` (format from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(as_frames(image[None])[0]).save(path)
    return path


def _natural_key(name: str) -> list:
    """``frame2`` sorts before ``frame10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_frame_files(folder: str | Path) -> list[Path]:
    """The image files of a folder in natural order."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: _natural_key(p.name))


def read_frames(paths: list[str | Path]) -> np.ndarray:
    """Images of one size as ``uint8 [T, H, W, 3]``."""
    if not paths:
        raise ValueError("no frame files to read")
    frames = [read_image(p) for p in paths]
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        found = ", ".join(f"{Path(p).name}: {f.shape[1]}x{f.shape[0]}" for p, f in zip(paths, frames))
        raise ValueError(f"frames differ in size ({found})")
    return np.stack(frames)


def write_png_frames(frames: np.ndarray, folder: str | Path) -> list[Path]:
    """Write ``folder/000000.png, 000001.png, ...``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{t:06d}.png" for t in range(len(frames))]
    for frame, p in zip(as_frames(frames), paths):
        # compress_level 1: these files are rewritten often and read by training; size matters less.
        Image.fromarray(frame).save(p, compress_level=1)
    return paths


def read_video(path: str | Path) -> np.ndarray:
    """``uint8 [T, H, W, 3]`` from a video file, a gif, a folder of images or one image."""
    path = Path(path)
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise FileNotFoundError(f"{path}: no {'/'.join(IMAGE_SUFFIXES)} files in the folder")
        return read_frames(files)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        return read_gif(path)
    if suffix in IMAGE_SUFFIXES:
        return read_image(path)[None]
    if suffix in VIDEO_SUFFIXES:
        return read_mp4(path)
    raise ValueError(f"{path}: cannot tell how to read {suffix or 'a file without suffix'} "
                     f"(video: {', '.join(VIDEO_SUFFIXES)}; gif; images; a folder of images)")


def save_video(frames: np.ndarray, path: str | Path, fps: float = 8.0) -> Path:
    """Write ``frames [T, H, W, 3]`` by the suffix of ``path``.

    ``.mp4`` (and other video suffixes) -> H.264; ``.gif`` -> gif; ``.png``/``.jpg`` -> the
    frames side by side in one image; no suffix -> a folder of png frames.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return write_mp4(frames, path, fps)
    if suffix == ".gif":
        return write_gif(frames, path, fps)
    if suffix in IMAGE_SUFFIXES:
        return save_image(contact_sheet([as_frames(frames)]), path)
    if suffix == "":
        write_png_frames(frames, path)
        return path
    raise ValueError(f"{path}: unknown video suffix {suffix!r} (use .mp4, .gif, .png or a folder)")
