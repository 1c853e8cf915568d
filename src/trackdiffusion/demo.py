"""The embedded default end to end: held-out tracklets -> generated clips -> labels -> evaluation.

``trackdiffusion demo --out DIR`` (and ``make demo``) runs, on a CPU and with no download:

1. a held-out synthetic world (a seed the shipped model never saw) -> ``DIR/world/val``;
2. generation with the shipped checkpoint -> ``DIR/generated`` (videos, overlays, labels);
3. the evaluation table of ``trackdiffusion evaluate`` (grounding tracker) -> ``DIR/evaluation``;
4. box following (in-box contrast, its mismatched-box control, colour stability) of real and
   generated clips, and a contact sheet of real/generated pairs -> ``DIR/contact_sheet.png``;
   a checkpoint trained with appearance phrases is given the world's ``phrases.json`` ("red
   striped star") and ``ColourAcc`` says how many objects wear their phrase's colour;
5. ``DIR/summary.md`` with every number and file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .evaluation.box_following import BoxFollowing, box_following
from .evaluation.generated import evaluate_generated
from .evaluation.phrase_colours import dataset_colour_accuracy
from .pipelines import TrackDiffusionPipeline
from .pipelines.generation import GenerationSettings, generate_dataset, pairs_sheet
from .tracklets.dataset import TrackletDataset
from .tracklets.formats import read_tracklets
from .tracklets.loader import read_clip_frames
from .tracklets.phrases import read_split_phrases
from .tracklets.synthetic import WorldConfig, write_world

HELD_OUT_SEED = 2026  # the shipped model was trained on the world of seed 0


@dataclass
class DemoSettings:
    clips: int = 12
    frames: int = 8
    steps: int = 25  # 50 measured no better on the shipped model (docs/experiments.md), at 1.7x the time
    guidance: float = 5.0
    seed: int = 0


def _box_following(data: TrackletDataset) -> BoxFollowing:
    return box_following([read_clip_frames(c, data.image_root) for c in data.clips], data.clips)


def run_demo(out: str | Path, checkpoint: str | Path, tracker: str | Path, settings: DemoSettings,
             say: Callable[[str], None] = print) -> dict:
    """Run the whole loop into ``out``; return the numbers written to ``summary.json``."""
    out = Path(out)
    started = time.perf_counter()
    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint)  # first: a bad path fails before any work
    pipe.set_progress_bar_config(disable=True)
    world = WorldConfig(train_clips=0, val_clips=settings.clips, num_frames=settings.frames, seed=HELD_OUT_SEED)
    say(f"1/4 synthesizing {settings.clips} held-out clips of {settings.frames} frames")
    write_world(world, out / "world", overwrite=True)
    real = out / "world" / "val"

    source = read_tracklets(real)
    phrased = pipe.unet.location_tokens.phrase is not None and read_split_phrases(source, real)
    with_what = " and the appearance phrases of world/val/phrases.json" if phrased else ""
    say(f"2/4 generating them with {checkpoint}{with_what} ({settings.steps} DPM-Solver++ steps, "
        f"guidance {settings.guidance})")
    generated = out / "generated"
    gen_settings = GenerationSettings(steps=settings.steps, guidance=settings.guidance, seed=settings.seed)
    labels = generate_dataset(pipe, source, generated, gen_settings,
                              captions={c.name: c.caption for c in source.clips if c.caption},
                              progress=lambda name: say(f"    {name}"))

    say("3/4 evaluating with the grounding tracker")
    evaluation = evaluate_generated(generated, real, tracker, out=out / "evaluation")
    say(evaluation.report.to_markdown())

    say("4/4 box following and contact sheet")
    following = {"real": _box_following(source).to_dict(), "generated": _box_following(labels).to_dict()}
    if phrased:
        for name, data in (("real", source), ("generated", labels)):
            following[name]["colour_accuracy"] = dataset_colour_accuracy(data, source)
    pairs_sheet(source, labels, out / "contact_sheet.png", "generated")
    summary = {"seconds": round(time.perf_counter() - started, 1), "checkpoint": str(checkpoint),
               "phrases": bool(phrased), "settings": settings.__dict__, "box_following": following,
               "evaluation": evaluation.report.to_dict()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(_summary_markdown(summary, evaluation.report.to_markdown()))
    say(_following_table(following))
    say(f"done in {summary['seconds']} s: {out / 'summary.md'}, {out / 'contact_sheet.png'}")
    return summary


def _following_table(following: dict) -> str:
    phrased = all("colour_accuracy" in v for v in following.values())
    extra = (" ColourAcc |", "---|") if phrased else ("", "")
    lines = ["| clips | in-box contrast | mismatched boxes | colour std over frames |" + extra[0],
             "|---|---|---|---|" + extra[1]]
    for name, v in following.items():
        cells = f"| {name} | {v['contrast']:.1f} | {v['mismatched_contrast']:.1f} | {v['colour_std']:.1f} |"
        lines.append(cells + (f" {v['colour_accuracy']:.1f} |" if phrased else ""))
    return "\n".join(lines)


def _summary_markdown(summary: dict, table: str) -> str:
    return "\n".join([
        "# trackdiffusion demo", "",
        f"Checkpoint `{summary['checkpoint']}`, settings {summary['settings']}, {summary['seconds']} s; "
        + ("conditioned on the appearance phrases of `world/val/phrases.json`." if summary["phrases"]
           else "category only (no appearance phrases)."), "",
        "## Evaluation (grounding tracker)", "", table, "",
        "## Box following (pixel values 0-255; see trackdiffusion.evaluation.box_following)"
        + ("; ColourAcc: % of boxes in their phrase's colour (trackdiffusion.evaluation.phrase_colours)"
           if summary["phrases"] else ""), "",
        _following_table(summary["box_following"]), "",
        "Files: `world/val` (real clips), `generated/` (videos, overlays, labels), `evaluation/` (table, plots), "
        "`contact_sheet.png` (real / generated pairs).", ""])
