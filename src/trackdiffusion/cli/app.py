"""The one typer application every command module registers on."""

import typer

app = typer.Typer(
    name="trackdiffusion",
    help="Generate multi-object-tracking training videos from tracklets, and measure them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
