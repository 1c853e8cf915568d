"""Driving the app in headless Chromium (Debian's package, through Playwright): server and page helpers.

Shared by the browser tests and the README screenshot script (``python -m tests.webapp.screenshot``).
"""

from __future__ import annotations

import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
TIMEOUT_MS = 120_000  # the CI machine has 2 shared cores


def missing() -> str | None:
    """Why the browser tests cannot run here, naming the package to install; ``None`` if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the 'playwright' Python package is missing (pip install -e '.[test]')"
    if not CHROMIUM.is_file():
        return f"Debian's 'chromium' package is missing ({CHROMIUM} not found; apt-get install chromium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(runner):
    """The app of ``runner`` served on a free localhost port; yields its URL."""
    from trackdiffusion.webapp import launch

    port = free_port()
    app = launch(runner, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, viewport=(1280, 900)):
    """A new page (its own session) on ``url`` with the app loaded."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#generate")
    return page


def text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def pending(page, elem_id: str) -> bool:
    """Whether an event that outputs to ``#elem_id`` is still running (gradio shows its progress
    overlay, a timer such as "processing | 0.4s", above the old value, and in its text)."""
    tracker = page.locator(f"#{elem_id} > [data-testid=status-tracker]")
    return tracker.count() > 0 and "hide" not in (tracker.get_attribute("class") or "").split()


def wait_text(page, elem_id: str, needle: str, timeout_s: float = TIMEOUT_MS / 1000) -> str:
    """Wait until ``#elem_id`` contains ``needle``; return its text (fails with what it showed)."""
    end = time.monotonic() + timeout_s
    while True:
        shown = text(page, elem_id)
        if needle in shown:
            return shown
        if time.monotonic() > end:
            raise AssertionError(f"#{elem_id} never showed {needle!r}; it shows {shown!r}")
        page.wait_for_timeout(200)


def fill(page, selector: str, value) -> None:
    field = page.locator(selector)
    field.fill(str(value))
    field.press("Enter")


def set_number(page, elem_id: str, value) -> None:
    """A number box or a slider's number box."""
    fill(page, f"#{elem_id} input[type=number]", value)


def choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` in the dropdown ``#elem_id``."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def fill_keyframe(page, instance_id: int, category: str, frame: int, box) -> None:
    """Type one keyframe box into the Draw tab's fields (without setting it)."""
    page.get_by_role("tab", name="Draw").click()
    set_number(page, "instance-id", instance_id)
    fill(page, "#category input", category)
    set_number(page, "keyframe", frame)
    for name, value in zip(("x0", "y0", "x1", "y1"), box):
        set_number(page, f"box-{name}", value)


def set_keyframe(page, instance_id: int, category: str, frame: int, box) -> str:
    """Place one keyframe box through the Draw tab's fields; returns the message shown."""
    fill_keyframe(page, instance_id, category, frame, box)
    before = text(page, "draw-message")
    page.locator("#set-keyframe").click()
    end = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        shown = text(page, "draw-message")
        # While the click is pending the old message shows under a timer, so a "⚠" in it is no answer.
        if not pending(page, "draw-message") and shown != before and (shown.startswith("Instance") or "⚠" in shown):
            return shown
        assert time.monotonic() < end, f"no answer to the keyframe; the page shows {shown!r}"
        page.wait_for_timeout(200)


def generate(page, steps: int) -> None:
    """Click Generate and wait until the page has taken the click (the status is pending or new),
    so that ``wait_finished`` does not take the last generation's status for this one's."""
    set_number(page, "steps", steps)
    before = text(page, "status")
    page.locator("#generate").click()
    end = time.monotonic() + TIMEOUT_MS / 1000
    while text(page, "status") == before and not pending(page, "status"):
        assert time.monotonic() < end, f"the page did not take the Generate click; status {before!r}"
        page.wait_for_timeout(20)


def wait_finished(page, timeout_s: float = TIMEOUT_MS / 1000) -> str:
    """Wait for the generation of ``page`` to end; returns the status line."""
    end = time.monotonic() + timeout_s
    while True:
        shown = text(page, "status")
        if not pending(page, "status") and shown.startswith(("Done", "Cancelled", "⚠")):
            return shown
        assert time.monotonic() < end, f"generation did not finish; status {shown!r}"
        page.wait_for_timeout(250)
