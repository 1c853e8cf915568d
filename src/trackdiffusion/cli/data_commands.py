"""``synth`` and ``show``: make the synthetic world and draw tracklets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import typer
from rich.console import Console

from ..tracklets.clip import Clip
from ..tracklets.formats import read_tracklets
from ..tracklets.loader import read_clip_frames
from ..tracklets.synthetic import WorldConfig, write_world
from ..video.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, save_image, save_video
from ..video.draw import draw_tracklets
from ..video.sheet import contact_sheet, frame_stride, pick_frames
from .app import app

console = Console(stderr=True)
_CANVAS_GREY = 128


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write world.json and the train/ and val/ splits to."),
    clips: Optional[int] = typer.Option(None, "--clips", help="Training clips [default: 200]."),
    val_clips: Optional[int] = typer.Option(None, "--val-clips", help="Validation clips [default: 32]."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames per clip [default: 16]."),
    size: Optional[int] = typer.Option(None, "--size", help="Frame width and height in pixels [default: 64]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed [default: 0]."),
    objects: Optional[Tuple[int, int]] = typer.Option(None, "--objects",
                                                      help="MIN MAX objects per clip [default: 1 4]."),
    config: Optional[Path] = typer.Option(None, "--config",
                                          help="A world.json to start from; the flags above override it."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes [default: the available cores]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the splits of an existing world in OUT."),
    videos: bool = typer.Option(True, "--videos/--no-videos", help="Write each clip's mp4 beside its png frames "
                                "(--no-videos: frames only, no ffmpeg needed)."),
) -> None:
    """Render the seeded synthetic MOT world (frames, mp4, CocoVID, YouTube-VIS, MOT, captions)."""
    base = WorldConfig.load(config) if config else WorldConfig()
    low, high = objects if objects else (None, None)
    given = {"train_clips": clips, "val_clips": val_clips, "num_frames": frames, "width": size, "height": size,
             "seed": seed, "min_objects": low, "max_objects": high}
    try:
        world = WorldConfig.from_dict({**base.to_dict(), **{k: v for k, v in given.items() if v is not None}})
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    start = time.perf_counter()
    try:
        splits = write_world(world, out, progress=True, workers=workers, overwrite=overwrite, videos=videos)
    except FileExistsError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from None
    counts = " + ".join(f"{len(d)} {name}" for name, d in splits.items())
    console.print(f"wrote {counts} clips of {world.num_frames} frames at {world.width}x{world.height} "
                  f"to {out} in {time.perf_counter() - start:.1f} s")


def _frames_or_canvas(clip: Clip, root: str | None, index: np.ndarray) -> tuple[np.ndarray, bool]:
    """The frames ``index`` of ``clip`` from ``root``, or a grey canvas (and False) when there are none."""
    if root is not None:
        try:
            return read_clip_frames(clip, root, index), True
        except FileNotFoundError:
            pass
    return np.full((len(index), clip.height, clip.width, 3), _CANVAS_GREY, dtype=np.uint8), False


@app.command()
def show(
    path: Path = typer.Argument(..., help="A data set any reader understands (file or split folder)."),
    out: Path = typer.Option(..., "--out", help="Output: .png contact sheet, or .mp4/.gif video of one clip."),
    clip: Optional[str] = typer.Option(None, "--clip", help="Clip to draw [default: the first; a .png: all]."),
    max_clips: int = typer.Option(8, "--max-clips", help="Rows of a contact sheet."),
    max_frames: Optional[int] = typer.Option(
        None, "--max-frames", help="At most this many frames, at one stride [default: 16 on a sheet, all in a video]."),
    height: int = typer.Option(192, "--height", help="Height in pixels of each drawn frame."),
    image_root: Optional[Path] = typer.Option(None, "--image-root", help="Folder the frames are under."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Video frame rate [default: the clip's, else 8]."),
) -> None:
    """Draw the tracklets of a data set on its frames (a grey canvas where there are none)."""
    dataset = read_tracklets(path)
    root = str(image_root) if image_root else dataset.image_root
    if not dataset.clips:
        console.print(f"[red]{path}: the data set has no clips[/red]")
        raise typer.Exit(1)
    try:
        chosen = [dataset.clip(clip)] if clip else list(dataset.clips)
    except KeyError as err:
        console.print(f"[red]{err.args[0]}[/red]")
        raise typer.Exit(1) from None
    suffix = out.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        chosen, limit = chosen[:max_clips], max_frames or 16
    elif suffix in VIDEO_SUFFIXES or suffix == ".gif":
        chosen, limit = chosen[:1], max_frames
    else:
        raise typer.BadParameter(f"{out}: use .png for a contact sheet, .mp4 or .gif for a video")
    drawn, canvas = [], 0
    for c in chosen:
        stride, index = frame_stride(c.num_frames, limit), pick_frames(c.num_frames, limit)
        frames, found = _frames_or_canvas(c, root, index)
        canvas += not found
        shown = c.window(0, len(index), stride, drop_empty=False)
        drawn.append(draw_tracklets(frames, shown, scale=height / c.height))
    if canvas:
        console.print(f"no frames found for {canvas} clip(s) under {root}; drawn on a grey canvas")
    if suffix in IMAGE_SUFFIXES:
        save_image(contact_sheet(drawn, labels=[c.name for c in chosen]), out)
    else:
        save_video(drawn[0], out, fps=fps or chosen[0].fps or 8.0)
    console.print(f"wrote {out}")
