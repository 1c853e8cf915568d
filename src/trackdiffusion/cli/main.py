"""Entry point of the ``trackdiffusion`` console script.

Each module below registers its commands on :data:`app` when imported.
"""

import sys

from rich.console import Console
from rich.markup import escape

from . import data_commands  # noqa: F401  (synth, show)
from . import format_commands  # noqa: F401  (convert, validate)
from . import eval_commands  # noqa: F401  (evaluate ...)
from . import model_commands  # noqa: F401  (train, train-vae, export)
from . import generate_command  # noqa: F401  (generate)
from . import verify_command  # noqa: F401  (verify)
from . import mix_command  # noqa: F401  (mix)
from . import tracklet_commands  # noqa: F401  (tracklets augment, tracklets sample)
from . import demo_command  # noqa: F401  (demo)
from . import tracker_commands  # noqa: F401  (train-tracker, trainability)
from . import experiment_commands  # noqa: F401  (learning-curve, evaluate category-probe)
from . import app_command  # noqa: F401  (app)
from . import pipeline_commands  # noqa: F401  (convert-checkpoint)
from .app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run :data:`app`; bad input (the project raises ``ValueError`` / ``FileNotFoundError`` with
    messages that name the file, field and value) ends in one red line and exit code 1 instead of
    a traceback."""
    try:
        app()
    except (ValueError, FileNotFoundError) as err:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
