"""Entry point of the ``trackdiffusion`` console script.

Each module below registers its commands on :data:`app` when imported.
"""

from . import data_commands  # noqa: F401  (synth, show)
from . import format_commands  # noqa: F401  (convert, validate)
from . import eval_commands  # noqa: F401  (evaluate ...)
from . import model_commands  # noqa: F401  (train, train-vae, export, generate)
from . import demo_command  # noqa: F401  (demo)
from . import tracker_commands  # noqa: F401  (train-tracker, trainability)
from .app import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
