"""The README's screenshot: the app with the shipped checkpoint and tracker after one generation.

``python -m tests.webapp.screenshot --out docs/app.png`` (from the repository root; about a
minute on a CPU). Example ``val_00002`` at seed 0 is one the shipped model draws well enough for
the tracker to re-detect; most examples are not (see the README).
"""

from __future__ import annotations

import argparse
import tempfile

from trackdiffusion.assets import DEFAULT_CHECKPOINT, DEFAULT_TRACKER
from trackdiffusion.webapp import load_runner

from . import browser as b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--example", default="val_00002")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    if b.missing():
        raise SystemExit(f"cannot take the screenshot: {b.missing()}")
    runner = load_runner(DEFAULT_CHECKPOINT, DEFAULT_TRACKER, tempfile.mkdtemp(prefix="trackdiffusion-shot-"))
    with b.running_app(runner) as url, b.chromium() as browser:
        page = b.open_page(browser, url)
        b.choose(page, "example-pick", args.example)
        b.wait_text(page, "chosen", f"Using the example {args.example!r}")
        b.generate(page, args.steps)
        print(b.wait_finished(page, timeout_s=900))
        for video in ("#video video", "#overlay video"):  # show a decoded frame, not an empty player
            page.locator(video).evaluate("v => new Promise(r => v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r))")
        page.screenshot(path=args.out, full_page=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
