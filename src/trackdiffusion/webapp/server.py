"""Load the models and start the app's server (localhost, no share link, nothing fetched)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..evaluation.tracker.model import GroundingTracker
from ..pipelines import TrackDiffusionPipeline
from .runner import GenerationRunner
from .sources import MAX_UPLOAD_BYTES


def load_runner(checkpoint: str | Path, tracker: str | Path | None = None,
                workdir: str | Path | None = None) -> GenerationRunner:
    """The generation runner for ``checkpoint``; ``tracker`` (a grounding tracker folder) verifies
    each generated instance. Files go to ``workdir`` (default: a new temporary folder)."""
    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint)
    pipe.set_progress_bar_config(disable=True)
    model = GroundingTracker.from_pretrained(tracker) if tracker is not None else None
    return GenerationRunner(pipe, model, Path(workdir or tempfile.mkdtemp(prefix="trackdiffusion-app-")))


def launch(runner: GenerationRunner, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serve the app on ``host:port``; with ``block=False`` return the running gradio app
    (``.close()`` stops it), for tests and scripts."""
    from .ui import build_app  # gradio is imported only where it is needed

    app = build_app(runner)
    app.queue()
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=not block,
               allowed_paths=[str(runner.workdir)], max_file_size=MAX_UPLOAD_BYTES, footer_links=["settings"])
    return app


def serve(checkpoint: str | Path, tracker: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860,
          workdir: str | Path | None = None, block: bool = True):
    """:func:`load_runner` then :func:`launch`."""
    return launch(load_runner(checkpoint, tracker, workdir), host, port, block)
