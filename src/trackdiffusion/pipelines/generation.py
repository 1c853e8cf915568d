"""Generation at data-set scale: every clip of a tracklet data set -> video + labels.

Output (the same split layout as the synthetic world, so evaluation reads both alike)::

    OUT/frames/<clip>/000000.png ...   generated frames
    OUT/videos/<clip>.mp4              generated video
    OUT/overlays/<clip>.gif            the video with the input boxes drawn
    OUT/cocovid.json, ytvis.json, mot/ labels of the generated frames (output resolution, same ids)
    OUT/captions.json                  the prompt of every clip
    OUT/contact_sheet.png              overlays of the first clips
    OUT/generation.json                settings

Clip ``i`` uses seed ``seed + i``, and a clip whose files exist is skipped, so a killed job
resumes where it stopped and produces what an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..tracklets import Clip, TrackletDataset
from ..tracklets.captions import caption_for
from ..tracklets.loader import read_clip_frames
from ..tracklets.synthetic.writer import write_clip, write_split_annotations
from ..video.draw import draw_tracklets
from ..video.io import list_frame_files, save_image, write_gif
from ..video.sheet import contact_sheet
from .pipeline_trackdiffusion import TrackDiffusionPipeline

DONE_FILE = ".done"


@dataclass
class GenerationSettings:
    steps: int = 50
    guidance: float = 5.0
    box_guidance: float | None = None
    seed: int = 0
    prompt: str | None = None          # one prompt for every clip; default: each clip's caption
    num_frames: int | None = None      # first window of T frames (default: whole clips)
    stride: int = 1
    width: int | None = None           # output size (default: the model's)
    height: int | None = None
    sheet_clips: int = 8               # clips shown in the contact sheet


def prepare_clip(clip: Clip, settings: GenerationSettings) -> Clip:
    """The tracklets one generated clip is made from (window of ``num_frames`` if asked)."""
    if settings.num_frames is None or settings.num_frames == clip.num_frames:
        return clip
    return clip.window(0, settings.num_frames, settings.stride, drop_empty=True)


def generate_dataset(pipe: TrackDiffusionPipeline, dataset: TrackletDataset, out: str | Path,
                     settings: GenerationSettings, captions: dict[str, str] | None = None,
                     progress: Callable[[str], None] | None = None) -> TrackletDataset:
    """Generate every clip of ``dataset`` into ``out``; return the labels of the generated clips."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    height, width = (settings.height, settings.width) if settings.height and settings.width else pipe.default_size()
    generated: list[Clip] = []
    started = time.perf_counter()
    for i, source in enumerate(dataset.clips):
        clip = prepare_clip(source, settings)
        prompt = settings.prompt or caption_for(clip, captions)
        target = _output_clip(clip, width, height, prompt)
        frames_dir = out / "frames" / clip.name
        if not (frames_dir / DONE_FILE).is_file():
            result = pipe(prompt, clip, height=height, width=width, num_inference_steps=settings.steps,
                          guidance_scale=settings.guidance, box_guidance_scale=settings.box_guidance,
                          generator=torch.Generator().manual_seed(settings.seed + i), clip_names=[clip.name])
            frames = result.frames[0]
            write_clip(frames, target, out)
            write_gif(draw_tracklets(frames, target, scale=_overlay_scale(height)), out / "overlays" / f"{clip.name}.gif")
            (frames_dir / DONE_FILE).write_text("")  # last: marks the clip complete
        target.frame_names = [p.relative_to(out).as_posix() for p in list_frame_files(frames_dir)]
        generated.append(target)
        if progress is not None:
            progress(clip.name)
    labels = TrackletDataset(generated, dict(dataset.categories), source=str(out), image_root=str(out))
    write_split_annotations(labels, out)
    _write_sheet(labels, out, settings.sheet_clips, height)
    meta = {"settings": asdict(settings), "clips": len(generated), "width": width, "height": height,
            "seconds": round(time.perf_counter() - started, 2), "source": dataset.source}
    (out / "generation.json").write_text(json.dumps(meta, indent=2) + "\n")
    return labels


def _output_clip(clip: Clip, width: int, height: int, prompt: str) -> Clip:
    """The input tracklets at the output resolution (normalized boxes kept), same ids."""
    out = clip.resize(width, height) if (clip.width, clip.height) != (width, height) else clip.copy()
    out.caption = prompt
    out.frame_names = None
    return out


def _overlay_scale(height: int) -> int:
    return max(1, 256 // height)


def _write_sheet(labels: TrackletDataset, out: Path, count: int, height: int) -> None:
    clips = labels.clips[:count]
    if clips:
        rows = overlay_rows(clips, out, _overlay_scale(height))
        save_image(contact_sheet(rows, [c.name for c in clips], max_frames=8), out / "contact_sheet.png")


def overlay_rows(clips: list[Clip], root: str | Path, scale: int) -> list[np.ndarray]:
    """Frames of ``clips`` under ``root`` with their boxes drawn (for side-by-side sheets)."""
    return [draw_tracklets(read_clip_frames(c, root), c, scale=scale, labels=False) for c in clips]
