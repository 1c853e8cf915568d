"""The gradio page: tracklets in (example, upload, drawing), settings, generate, results.

Every handler turns bad input into a message in the page (``ValueError`` is what the project
raises for it) and leaves the outputs of the last generation alone, so nothing a person types or
uploads takes the server down. Element ids (``elem_id``) are what the browser tests find.
"""

from __future__ import annotations

import os
from pathlib import Path

# No telemetry or version check: the app must work, and stay silent, with the network off.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr  # noqa: E402

from ..tracklets import Clip  # noqa: E402
from ..tracklets.captions import caption_for  # noqa: E402
from ..tracklets.synthetic.shapes import SHAPES  # noqa: E402
from . import drawing  # noqa: E402
from .runner import Busy, GenerationRequest, GenerationRunner, Job  # noqa: E402
from .sources import example_clips, read_upload  # noqa: E402
from .verify import check_rows  # noqa: E402

DEFAULT_FRAMES = 8  # what the shipped model was trained on
MAX_FRAMES = 16
POLL_SECONDS = 0.25
KEYFRAME_HEADERS = ["id", "category", "frame", "x0", "y0", "x1", "y1"]
CHECK_HEADERS = ["id", "category", "mean IoU", "re-detected as", "verified"]
DRAW = ("draw", None)  # the source value meaning "the drawn keyframes"


def current_clip(source: tuple[str, Clip | None] | None, keyframes: list[dict], num_frames: int,
                 width: int, height: int) -> Clip:
    """The tracklets to generate from: the chosen clip's first ``num_frames`` frames, or the drawing."""
    if source is None:
        raise ValueError("no tracklets yet: pick an example, upload a file or draw instances")
    kind, clip = source
    if kind == "draw":
        clip = drawing.keyframes_to_clip(keyframes, num_frames, width, height)
    elif clip.num_frames < num_frames:
        raise ValueError(f"clip {clip.name!r} has {clip.num_frames} frames; set Frames to {clip.num_frames} or fewer")
    else:
        clip = clip.window(0, num_frames)
    if not clip.instances:
        raise ValueError(f"{'the drawing' if kind == 'draw' else repr(clip.name)} has no instances in its first "
                         f"{num_frames} frames: add at least one box")
    return clip


def build_app(runner: GenerationRunner, categories: list[str] | None = None) -> gr.Blocks:
    height, width = runner.pipe.default_size()
    examples = {c.name: c for c in example_clips(width, height)}
    categories = categories or list(SHAPES)
    empty = drawing.keyframes_to_clip([], DEFAULT_FRAMES, width, height)

    def fit(source, keyframes, frames) -> Clip:
        return current_clip(source, keyframes, int(frames), width, height)

    def preview(source, keyframes, frames):
        """Frame strip, description and caption of the current tracklets (or why there are none)."""
        try:
            clip = fit(source, keyframes, frames)
        except ValueError as err:
            return None, f"⚠ {err}", gr.skip()
        where = "drawing" if source[0] == "draw" else f"{source[0]} {clip.name!r}"
        text = f"Using the {where}: {len(clip.instances)} instance(s), {clip.num_frames} frames, {clip.width}x{clip.height}"
        return drawing.frame_strip(clip), text, caption_for(clip)

    with gr.Blocks(title="TrackDiffusion", analytics_enabled=False) as app:
        source = gr.State(None)
        keyframes = gr.State([])
        uploaded = gr.State({})  # clip name -> Clip of the last uploaded file
        corner = gr.State(0)  # which corner the next canvas click sets
        gr.Markdown("# TrackDiffusion\nTracklets in (an example, a file, or boxes you draw), a video with "
                    "objects in those boxes out, with its labels in CocoVID, YouTube-VIS and MOT.")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("Examples", id="examples"):
                        example_pick = gr.Dropdown(list(examples), value=None, label="Example clip (held-out synthetic)",
                                                   elem_id="example-pick")
                    with gr.Tab("Upload", id="upload"):
                        upload = gr.File(label="Tracklets: YouTube-VIS / CocoVID / BDD100K .json, MOT gt.txt, "
                                         "or a .zip of a MOT / GOT-10k folder", file_types=[".json", ".txt", ".zip"],
                                         elem_id="upload")
                        upload_pick = gr.Dropdown([], label="Clip of the file", elem_id="upload-pick")
                        upload_msg = gr.Markdown(elem_id="upload-message")
                    with gr.Tab("Draw", id="draw"):
                        with gr.Row():
                            category = gr.Dropdown(categories, value=categories[0], allow_custom_value=True,
                                                   label="Category", elem_id="category")
                            instance_id = gr.Number(1, precision=0, label="Instance id", elem_id="instance-id")
                            frame = gr.Slider(0, DEFAULT_FRAMES - 1, value=0, step=1, label="Keyframe",
                                              elem_id="keyframe")
                        with gr.Row():
                            corners = [gr.Number(None, label=n, elem_id=f"box-{n}") for n in ("x0", "y0", "x1", "y1")]
                        canvas = gr.Image(drawing.canvas_frame(empty, 0), interactive=False, format="png",
                                          label=f"Canvas {width}x{height}: click two corners of the box",
                                          elem_id="canvas")
                        with gr.Row():
                            set_button = gr.Button("Set keyframe", variant="primary", elem_id="set-keyframe")
                            remove_button = gr.Button("Remove instance", elem_id="remove-instance")
                            clear_button = gr.Button("Clear drawing", elem_id="clear-drawing")
                        draw_msg = gr.Markdown(elem_id="draw-message")
                        table = gr.Dataframe(headers=KEYFRAME_HEADERS, value=[], interactive=False,
                                             label="Keyframes (boxes in between are interpolated)", elem_id="keyframes")
                chosen_msg = gr.Markdown("No tracklets yet.", elem_id="chosen")
                strip = gr.Image(None, interactive=False, format="png", label="Tracklets, every frame", elem_id="strip")
            with gr.Column(scale=2):
                caption = gr.Textbox(label="Caption", elem_id="caption")
                frames = gr.Slider(2, MAX_FRAMES, value=DEFAULT_FRAMES, step=1, label="Frames", elem_id="frames")
                steps = gr.Slider(1, 100, value=50, step=1, label="Steps", elem_id="steps")
                guidance = gr.Slider(0, 15, value=5.0, step=0.5, label="Guidance", elem_id="guidance")
                seed = gr.Number(0, precision=0, label="Seed", elem_id="seed")
                with gr.Row():
                    generate_button = gr.Button("Generate", variant="primary", elem_id="generate")
                    cancel_button = gr.Button("Cancel", variant="stop", elem_id="cancel")
                status = gr.Markdown(elem_id="status")
        with gr.Row():
            video = gr.Video(label="Generated video", autoplay=True, loop=True, elem_id="video")
            overlay = gr.Video(label="With the boxes", autoplay=True, loop=True, elem_id="overlay")
        sheet = gr.Image(None, interactive=False, format="png", label="Contact sheet", elem_id="sheet")
        checks = gr.Dataframe(headers=CHECK_HEADERS, value=[], interactive=False,
                              label="Verification: each instance re-detected by the grounding tracker",
                              elem_id="checks")
        download = gr.File(label="Download: clip and labels (CocoVID, YouTube-VIS, MOT)", interactive=False,
                           elem_id="download")
        previews = [strip, chosen_msg, caption]
        # Gradio runs events of different listeners at the same time, each reading the session's
        # state when it starts: "Set keyframe" then "Remove instance" clicked in quick succession on
        # a busy server would remove from the drawing as it was before the keyframe, and the keyframe
        # would land afterwards. One queue for every event that reads or writes the tracklets runs
        # them in the order they were sent. Their handlers take milliseconds, so sharing one queue
        # among all pages costs little; reading an upload (seconds for a big file) stays outside it.
        serial = dict(concurrency_id="tracklets", concurrency_limit=1)

        def then_preview(event):
            """After ``event``, redraw the preview of the tracklets it changed."""
            return event.then(preview, [source, keyframes, frames], previews, **serial)

        # ------------------------------------------------------------ sources
        def pick_example(name):
            return ("example", examples[name]) if name in examples else None

        then_preview(example_pick.input(pick_example, example_pick, source, **serial))

        def read_file(file):
            if file is None:
                return {}, gr.update(choices=[], value=None), ""
            try:
                dataset = read_upload(file, runner.workdir / "uploads")
            except Exception as err:  # noqa: BLE001 - any failure to read a file is a message, never a crash
                return {}, gr.update(choices=[], value=None), f"⚠ {err}"
            clips = {c.name: c for c in dataset.clips}
            message = f"Read {len(clips)} clip(s) from {Path(file).name}; pick one."
            return clips, gr.update(choices=list(clips), value=None), message

        upload.upload(read_file, upload, [uploaded, upload_pick, upload_msg])

        def pick_uploaded(name, clips):
            return ("upload", clips[name]) if name in clips else None

        then_preview(upload_pick.input(pick_uploaded, [upload_pick, uploaded], source, **serial))
        frames.change(preview, [source, keyframes, frames], previews, **serial).then(
            lambda n: gr.update(maximum=int(n) - 1), frames, frame, **serial)

        # ------------------------------------------------------------ drawing
        def drawn_canvas(marks, at):
            try:
                clip = drawing.keyframes_to_clip(marks, MAX_FRAMES, width, height)
            except ValueError:
                clip = empty
            return drawing.canvas_frame(clip, at)

        def set_mark(marks, iid, name, at, x0, y0, x1, y1, frames_now):
            box = [float("nan") if v is None else float(v) for v in (x0, y0, x1, y1)]
            if iid is None or not str(name or "").strip():
                problem = "give the instance an id and a category"
            else:
                problem = drawing.check_keyframe(box, int(at), width, height, int(frames_now))
            if problem:
                return marks, gr.skip(), gr.skip(), f"⚠ {problem}", gr.skip()
            marks = drawing.set_keyframe(marks, int(iid), str(name), int(at), box)
            return (marks, drawing.keyframe_rows(marks), drawn_canvas(marks, at),
                    f"Instance {int(iid)} ({name}) has its box on frame {int(at)}.", DRAW)

        draw_outputs = [keyframes, table, canvas, draw_msg, source]
        then_preview(set_button.click(set_mark, [keyframes, instance_id, category, frame, *corners, frames],
                                      draw_outputs, **serial))

        def remove(marks, iid, at):
            marks = drawing.remove_instance(marks, int(iid or 0))
            return marks, drawing.keyframe_rows(marks), drawn_canvas(marks, at), f"Removed instance {iid}.", DRAW

        then_preview(remove_button.click(remove, [keyframes, instance_id, frame], draw_outputs, **serial))
        then_preview(clear_button.click(lambda at: remove([], 0, at)[:3] + ("Cleared.", DRAW), frame, draw_outputs,
                                        **serial))
        frame.change(drawn_canvas, [keyframes, frame], canvas, **serial)

        def click_canvas(which, evt: gr.SelectData):
            x, y = (round(v / drawing.CANVAS_SCALE) for v in evt.index)
            if which == 0:
                return 1, x, y, gr.skip(), gr.skip()
            return 0, gr.skip(), gr.skip(), x, y

        canvas.select(click_canvas, corner, [corner, *corners], **serial)

        # ------------------------------------------------------------ generation
        results = [video, overlay, sheet, checks, download]
        keep = tuple(gr.skip() for _ in results)

        def generate(src, marks, frames_now, text, n_steps, scale, seed_value, request: gr.Request):
            try:
                clip = fit(src, marks, frames_now)
                job = runner.start(request.session_hash, GenerationRequest(
                    clip, (text or "").strip() or caption_for(clip), int(n_steps), float(scale), int(seed_value or 0)))
            except (ValueError, Busy) as err:
                yield (f"⚠ {err}",) + keep
                return
            try:
                while not job.done.wait(POLL_SECONDS):
                    yield (_progress(job),) + keep
            finally:
                if not job.done.is_set():  # the page went away: stop working for nobody
                    job.cancel.set()
            yield _finished(job)

        # A pass through the tracklets' queue first, so that a keyframe set just before is in the
        # drawing the generation reads; the generation itself runs outside it (the runner refuses
        # a second one with a message).
        generate_button.click(lambda: None, None, None, **serial).then(
            generate, [source, keyframes, frames, caption, steps, guidance, seed], [status, *results],
            concurrency_limit=None)

        def cancel(request: gr.Request):
            job, message = runner.job, runner.cancel(request.session_hash)
            if job is not None and job.session == request.session_hash and job.cancel.is_set():
                # The generation's own last line may reach the page before this reply; show the
                # same line, so that "cancelling ..." never stays after the generation has ended.
                job.done.wait()
                return _finished(job)[0]
            if job is None or job.done.is_set():
                # Nothing to cancel (it may have ended just before the click): the status line
                # keeps the last generation's result, and the answer goes to a toast.
                gr.Info(message)
                return gr.skip()
            return message

        cancel_button.click(cancel, None, status, concurrency_limit=None)
    return app


def _progress(job: Job) -> str:
    if job.stage == "generating":
        return f"Generating: step {job.step} / {job.total}"
    return {"writing": "Writing the clip and its labels", "verifying": "Verifying with the grounding tracker"}[job.stage]


def _finished(job: Job) -> tuple:
    keep = tuple(gr.skip() for _ in range(5))
    if job.error:
        return (f"⚠ generation failed: {job.error}",) + keep
    if job.cancelled:
        return (f"Cancelled after step {job.step} / {job.total}.",) + keep
    r = job.result
    if r.checks is None:
        verdict = "no grounding tracker loaded, so nothing was verified"
        rows = []
    else:
        verdict = f"{sum(c.verified for c in r.checks)} / {len(r.checks)} instances verified by the grounding tracker"
        rows = check_rows(r.checks)
    return (f"Done: {job.total} steps; {verdict}.", str(r.video), str(r.overlay), str(r.sheet), rows, str(r.archive))
