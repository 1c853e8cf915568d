"""One generation at a time: progress per step, cancelling, the busy message, the written files."""

import threading
import zipfile

import numpy as np
import pytest

from trackdiffusion.assets import DEFAULT_TRACKER
from trackdiffusion.evaluation.tracker.model import GroundingTracker
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.webapp import drawing
from trackdiffusion.webapp.runner import Busy, GenerationRequest, GenerationRunner


class GatedPipe:
    """The pipeline, held before each step until the test lets it go (so races are decided)."""

    def __init__(self, pipe):
        self.pipe, self.gate, self.waiting = pipe, threading.Semaphore(0), threading.Event()

    def __call__(self, *args, callback_on_step_end, **kwargs):
        def step(pipe, i, t, tensors):
            self.waiting.set()
            assert self.gate.acquire(timeout=20)
            return callback_on_step_end(pipe, i, t, tensors)
        return self.pipe(*args, callback_on_step_end=step, **kwargs)


def _request(steps=2):
    marks = drawing.set_keyframe([], 1, "circle", 0, [2, 3, 14, 15])
    marks = drawing.set_keyframe(marks, 1, "circle", 3, [8, 9, 20, 21])
    marks = drawing.set_keyframe(marks, 5, "square", 1, [16, 16, 30, 31])
    return GenerationRequest(drawing.keyframes_to_clip(marks, 4, 32, 32), "a circle and a square", steps, 5.0, 0)


def test_the_callback_sees_every_step_in_order(tiny_pipe):
    seen = []
    tiny_pipe("x", _request().clip, num_inference_steps=3, callback_on_step_end=lambda p, i, t, d: seen.append(i))
    assert seen == [0, 1, 2]


def test_a_generation_writes_the_video_overlay_sheet_and_labels_equal_to_the_drawn_boxes(tiny_pipe, tmp_path):
    runner = GenerationRunner(tiny_pipe, GroundingTracker.from_pretrained(DEFAULT_TRACKER), tmp_path)
    request = _request(steps=2)
    job = runner.start("a", request)
    assert job.done.wait(60) and job.error is None
    r = job.result
    assert (job.step, job.total) == (2, 2)
    assert r.video.is_file() and r.overlay.is_file() and r.sheet.is_file()
    assert [(c.id, c.category) for c in r.checks] == [(1, "circle"), (5, "square")]
    out = tmp_path / "unzipped"
    zipfile.ZipFile(r.archive).extractall(out)
    assert (out / "videos" / "drawn.mp4").is_file() and (out / "overlays" / "drawn.mp4").is_file()
    names = {"circle", "square"}  # MOT files carry MOT class ids, not category names
    for labels in (read_tracklets(out / "cocovid.json", image_root=out), read_tracklets(out / "ytvis.json"),
                   read_tracklets(out / "mot")):
        (clip,) = labels.clips
        assert (clip.width, clip.height, clip.num_frames) == (32, 32, 4)
        named = set(clip.categories.values()) >= names
        for got, want in zip(clip.instances, request.clip.instances, strict=True):
            assert got.id == want.id
            if named:
                assert clip.categories[got.category_id] == request.clip.categories[want.category_id]
            np.testing.assert_array_equal(got.present, want.present)
            np.testing.assert_allclose(got.boxes[got.present], want.boxes[want.present], atol=1e-4)


def test_a_second_request_while_one_runs_is_refused_and_cancel_stops_it(tiny_pipe, tmp_path):
    gated = GatedPipe(tiny_pipe)
    runner = GenerationRunner(gated, None, tmp_path)
    job = runner.start("a", _request(steps=5))
    assert gated.waiting.wait(30)
    gated.gate.release()  # let step 1 finish; the worker then waits before reporting step 2
    for _ in range(300):
        if job.step == 1:
            break
        threading.Event().wait(0.05)
    with pytest.raises(Busy, match="a generation is already running"):
        runner.start("b", _request())
    assert runner.cancel("b") == "the running generation was started from another page; only that page can cancel it"
    assert runner.cancel("a").startswith("cancelling after step")
    gated.gate.release(5)
    assert job.done.wait(30)
    assert job.cancelled and job.result is None and job.error is None and job.step == 2
    assert not list(tmp_path.glob("run-*"))
    assert runner.cancel("a") == "nothing is running"
    gated.gate.release(10)
    again = runner.start("b", _request(steps=2))
    assert again.done.wait(60) and again.result is not None and again.result.checks is None


def test_a_failing_generation_reports_its_error_and_frees_the_runner(tiny_pipe, tmp_path):
    runner = GenerationRunner(tiny_pipe, None, tmp_path)
    request = _request()
    request.caption = ["two", "captions"]  # one clip: the pipeline refuses
    job = runner.start("a", request)
    assert job.done.wait(30) and job.error == "ValueError: 2 prompt(s) for 1 tracklet clip(s)"
    assert runner.start("a", _request()).done.wait(60)
