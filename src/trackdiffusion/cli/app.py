"""The one typer application every command module registers on."""

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer

app = typer.Typer(
    name="trackdiffusion",
    help="Generate multi-object-tracking training videos from tracklets, and measure them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Warnings raised from files under this folder are the project's own messages to the user.
_PACKAGE = str(Path(__file__).resolve().parents[1])


@contextmanager
def user_warnings() -> Iterator[None]:
    """Show the project's warnings as ``warning: <message>`` lines on stderr.

    Python's default display (``/path/to/reader.py:99: UserWarning: ...`` plus a source line)
    is meant for developers; a CLI user wants the message, which names the file and value.
    Other libraries' warnings keep Python's display: their location is what helps there.
    """
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if str(Path(filename).resolve()).startswith(_PACKAGE):
                print(f"warning: {message}", file=sys.stderr)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


@app.callback()
def _root(ctx: typer.Context) -> None:
    ctx.with_resource(user_warnings())
