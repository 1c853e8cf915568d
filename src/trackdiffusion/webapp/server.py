"""Load the models and start the app's server (localhost, no share link, nothing fetched)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..evaluation.tracker.model import GroundingTracker
from ..pipelines import TrackDiffusionPipeline
from .runner import GenerationRunner
from .sources import MAX_UPLOAD_BYTES


def serve(checkpoint: str | Path, tracker: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860,
          workdir: str | Path | None = None, block: bool = True):
    """Serve the app for ``checkpoint`` (and ``tracker``, which verifies each generated instance).

    With ``block=False`` it returns the running gradio app (``.close()`` stops it), for tests.
    """
    from .ui import build_app  # gradio is imported only by the command that needs it

    pipe = TrackDiffusionPipeline.from_checkpoint(checkpoint)
    pipe.set_progress_bar_config(disable=True)
    model = GroundingTracker.from_pretrained(tracker) if tracker is not None else None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="trackdiffusion-app-"))
    app = build_app(GenerationRunner(pipe, model, workdir))
    app.queue()
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=not block,
               allowed_paths=[str(workdir)], max_file_size=MAX_UPLOAD_BYTES, footer_links=["settings"])
    return app
