"""The web app (``trackdiffusion app``): draw or upload tracklets, generate, look, verify, download.

:func:`serve` loads the models and starts the gradio server; :mod:`.ui` is the page,
:mod:`.runner` the one-at-a-time generation, :mod:`.drawing`, :mod:`.sources` and
:mod:`.verify` the parts that need no browser.
"""

from .server import launch, load_runner, serve

__all__ = ["launch", "load_runner", "serve"]
