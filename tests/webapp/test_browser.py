"""The web app in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

One server with a tiny random checkpoint (32 x 32 frames) and the shipped grounding tracker
serves every test; its pipeline sleeps 0.1 s per step so that a long generation is still running
when the test sends a second request or cancels it.
"""

from __future__ import annotations

import json
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from trackdiffusion.assets import DEFAULT_TRACKER
from trackdiffusion.tracklets.formats import read_tracklets
from trackdiffusion.webapp import drawing, load_runner
from trackdiffusion.webapp.runner import GenerationRunner
from trackdiffusion.webapp.sources import MAX_UPLOAD_BYTES

from . import browser as b

pytestmark = pytest.mark.skipif(b.missing() is not None, reason=f"browser tests skipped: {b.missing()}")

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"
DRAWN = [(1, "circle", 0, [2, 3, 12, 14]), (1, "circle", 5, [16, 14, 28, 26]),
         (2, "square", 1, [20, 2, 30, 10]), (2, "square", 3, [4, 20, 12, 30])]


class Paced:
    """The pipeline, 0.1 s slower per step."""

    def __init__(self, pipe):
        self.pipe = pipe

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def __call__(self, *args, callback_on_step_end, **kwargs):
        def step(pipe, i, t, tensors):
            time.sleep(0.1)
            return callback_on_step_end(pipe, i, t, tensors)
        return self.pipe(*args, callback_on_step_end=step, **kwargs)


@pytest.fixture(scope="module")
def url(tiny_checkpoint, tmp_path_factory):
    runner = load_runner(tiny_checkpoint, DEFAULT_TRACKER, tmp_path_factory.mktemp("app"))
    runner.pipe = Paced(runner.pipe)
    with b.running_app(runner) as address:
        yield address


@pytest.fixture(scope="module")
def chromium():
    with b.chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium, url):
    page = b.open_page(chromium, url)
    yield page
    page.close()


def test_the_page_loads_and_works_with_the_network_off(chromium, url):
    context = chromium.new_context()
    outside = []

    def only_localhost(route):
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    page = context.new_page()
    page.set_default_timeout(b.TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#generate")
    b.choose(page, "example-pick", "val_00001")
    b.wait_text(page, "chosen", "Using the example 'val_00001'")
    page.wait_for_timeout(1000)  # late requests (fonts, images) too; gradio's event stream never idles
    assert outside == []
    context.close()


def test_draw_two_instances_generate_watch_and_download_labels_equal_to_the_drawn_boxes(page, tmp_path):
    for instance_id, category, frame, box in DRAWN:
        assert b.set_keyframe(page, instance_id, category, frame, box).startswith(f"Instance {instance_id}")
    b.wait_text(page, "chosen", "Using the drawing: 2 instance(s), 8 frames, 32x32")
    assert page.locator("#caption textarea").input_value() == "a video of a circle and a square"
    b.generate(page, steps=2)
    status = b.wait_finished(page)
    assert status.startswith("Done: 2 steps;") and "/ 2 instances verified by the grounding tracker" in status
    plays = page.locator("#video video").evaluate(
        "async v => { await v.play(); await new Promise(r => setTimeout(r, 500));"
        " return [v.error === null, v.currentTime > 0, v.videoWidth, v.videoHeight]; }")
    assert plays == [True, True, 32, 32]
    checks = b.text(page, "checks")
    assert checks.index("circle") < checks.index("square")  # one row per drawn instance
    with page.expect_download() as download:
        page.locator("#download a").first.click()
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    zipfile.ZipFile(archive).extractall(tmp_path / "out")
    (clip,) = read_tracklets(tmp_path / "out" / "cocovid.json").clips
    marks = []
    for instance_id, category, frame, box in DRAWN:
        marks = drawing.set_keyframe(marks, instance_id, category, frame, box)
    want = drawing.keyframes_to_clip(marks, 8, 32, 32)
    assert (clip.width, clip.height, clip.num_frames) == (32, 32, 8)
    assert [(i.id, clip.categories[i.category_id]) for i in clip.instances] == [(1, "circle"), (2, "square")]
    for got, expected in zip(clip.instances, want.instances, strict=True):
        np.testing.assert_array_equal(got.present, expected.present)
        np.testing.assert_allclose(got.boxes[got.present], expected.boxes[expected.present], atol=1e-4)
    captions = json.loads((tmp_path / "out" / "captions.json").read_text())
    assert list(captions.values()) == ["a video of a circle and a square"]


def test_two_clicks_on_the_canvas_set_the_box_corners(page):
    page.get_by_role("tab", name="Draw").click()
    canvas = page.locator("#canvas img")
    # Under load (CI's two workers) a click on a canvas whose image had not loaded yet got no answer
    # (120 s timeout); click only once the image is shown.
    page.wait_for_function("() => { const i = document.querySelector('#canvas img');"
                           " return i !== null && i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0; }")
    size = canvas.bounding_box()
    # each click waits for its answer: a click while the last one is pending would be dropped
    filled = "n => !['', '0'].includes(document.querySelector(`#box-${n} input`).value)"
    canvas.click(position={"x": size["width"] * 0.25, "y": size["height"] * 0.5})
    page.wait_for_function(filled, arg="y0")
    canvas.click(position={"x": size["width"] * 0.75, "y": size["height"] * 0.75})
    page.wait_for_function(filled, arg="y1")
    corners = [float(page.locator(f"#box-{n} input").input_value()) for n in ("x0", "y0", "x1", "y1")]
    assert np.allclose(corners, [8, 16, 24, 24], atol=1)


def test_upload_a_real_file_and_pick_a_clip(page):
    path = FIXTURES / "ytvis" / "train.json"
    names = [c.name for c in read_tracklets(path).clips]
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))
    b.wait_text(page, "upload-message", f"Read {len(names)} clip(s) from train.json")
    b.choose(page, "upload-pick", names[-1])
    b.wait_text(page, "chosen", f"⚠ clip {names[-1]!r} has 3 frames; set Frames to 3 or fewer")
    b.set_number(page, "frames", 3)
    shown = b.wait_text(page, "chosen", f"Using the upload {names[-1]!r}")
    assert "3 frames" in shown
    page.wait_for_selector("#strip img")


def test_a_malformed_upload_gets_a_message_and_the_server_keeps_serving(page, chromium, url, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"videos": [{"id": 1, "width": 64}], "annotations": [{"video_id": 1, "bboxes": "x"}]}')
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    assert b.wait_text(page, "upload-message", "⚠ could not read broken.json").startswith("⚠")
    page.get_by_role("tab", name="Examples").click()
    b.choose(page, "example-pick", "val_00002")
    b.wait_text(page, "chosen", "Using the example 'val_00002'")
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
    b.open_page(chromium, url).close()


def test_an_oversized_upload_gets_a_message_and_nothing_is_read(page, tmp_path):
    big = tmp_path / "huge.json"
    big.write_bytes(b" " * (MAX_UPLOAD_BYTES + 1))
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(big))
    page.get_by_text('File(s) exceed the maximum allowed size of 20.0 Mb: "huge.json"').wait_for()
    assert b.text(page, "upload-message") == ""
    page.get_by_role("tab", name="Examples").click()
    b.choose(page, "example-pick", "val_00003")
    b.wait_text(page, "chosen", "Using the example 'val_00003'")


def test_bad_drawings_and_no_tracklets_get_messages(page):
    b.generate(page, steps=2)
    assert b.wait_finished(page).startswith("⚠ no tracklets yet: pick an example, upload a file or draw")
    shown = b.set_keyframe(page, 1, "circle", 0, [10, 10, 40, 20])
    assert shown.startswith("⚠ box (10, 10, 40, 20) is outside the 32x32 canvas")
    b.set_keyframe(page, 1, "circle", 0, [10, 10, 20, 20])
    page.locator("#remove-instance").click()
    b.wait_text(page, "draw-message", "Removed instance 1")
    b.wait_text(page, "chosen", "the drawing has no instances")
    b.generate(page, steps=2)
    assert "the drawing has no instances in its first 8 frames: add at least one box" in b.wait_finished(page)


@pytest.fixture
def slow_keyframes(monkeypatch):
    """Setting a keyframe takes 1 s on the server, as on a busy one."""
    real = drawing.set_keyframe

    def slow(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(drawing, "set_keyframe", slow)


def test_the_keyframe_helper_waits_for_the_answer_not_the_old_message_under_the_progress_timer(page, slow_keyframes):
    assert b.set_keyframe(page, 1, "circle", 0, [10, 10, 40, 20]).startswith("⚠ box (10, 10, 40, 20)")
    assert b.set_keyframe(page, 1, "circle", 0, [10, 10, 20, 20]) == "Instance 1 (circle) has its box on frame 0."


def test_remove_clicked_while_a_keyframe_is_being_set_runs_after_it(page, slow_keyframes):
    b.fill_keyframe(page, 1, "circle", 0, [10, 10, 20, 20])
    page.locator("#set-keyframe").click()
    page.locator("#remove-instance").click()
    b.wait_text(page, "draw-message", "Removed instance 1")
    page.wait_for_timeout(3000)  # a keyframe set after the removal would land by now (it takes 1 s)
    assert b.text(page, "draw-message") == "Removed instance 1."
    assert "the drawing has no instances" in b.text(page, "chosen")
    assert b.text(page, "keyframes").count("circle") == 0


def test_generate_clicked_while_a_keyframe_is_being_set_uses_it(page, slow_keyframes):
    b.fill_keyframe(page, 1, "circle", 0, [10, 10, 20, 20])
    page.locator("#set-keyframe").click()
    b.generate(page, steps=2)
    assert b.wait_finished(page).startswith("Done: 2 steps")


def test_a_cancel_reply_slower_than_the_generation_still_ends_on_its_cancelled_line(page, monkeypatch):
    real = GenerationRunner.cancel

    def slow(self, session):
        message = real(self, session)
        time.sleep(1.0)  # the reply leaves after the generation has ended, as on a busy server
        return message

    monkeypatch.setattr(GenerationRunner, "cancel", slow)
    b.choose(page, "example-pick", "val_00000")
    b.wait_text(page, "chosen", "Using the example 'val_00000'")
    b.generate(page, steps=100)
    b.wait_text(page, "status", "Generating: step")
    page.locator("#cancel").click()
    b.wait_text(page, "status", "Cancelled after step")
    page.wait_for_timeout(3000)  # the slow reply has landed by now
    assert b.text(page, "status").startswith("Cancelled after step")


def test_cancel_after_the_generation_has_ended_keeps_its_done_line_and_answers_in_a_toast(page):
    b.choose(page, "example-pick", "val_00000")
    b.wait_text(page, "chosen", "Using the example 'val_00000'")
    b.generate(page, steps=2)
    done = b.wait_finished(page)
    assert done.startswith("Done: 2 steps")
    page.locator("#cancel").click()
    page.locator(".toast-body", has_text="nothing is running").wait_for(timeout=b.TIMEOUT_MS)
    page.wait_for_timeout(500)  # any reply to the click has landed by now
    assert b.text(page, "status") == done


def test_a_second_request_while_one_runs_gets_a_message_and_cancel_stops_the_first(chromium, url):
    first, second = b.open_page(chromium, url), b.open_page(chromium, url)
    for page in (first, second):
        b.choose(page, "example-pick", "val_00000")
        b.wait_text(page, "chosen", "Using the example 'val_00000'")
    b.generate(first, steps=100)
    b.wait_text(first, "status", "Generating: step")
    b.generate(second, steps=2)
    assert "a generation is already running" in b.wait_finished(second)
    second.locator("#cancel").click()
    b.wait_text(second, "status", "only that page can cancel it")
    first.locator("#cancel").click()
    assert b.wait_finished(first).startswith("Cancelled after step")
    b.generate(second, steps=2)
    assert b.wait_finished(second).startswith("Done: 2 steps")
    first.close()
    second.close()
