"""The ``fluent-ai`` command: a Typer app with one module per command group."""

from __future__ import annotations

import typer

from fluent_ai import __version__
from fluent_ai.cli.auth import auth_app
from fluent_ai.cli.chat import chat
from fluent_ai.cli.history import history_app
from fluent_ai.cli.keys import keys_app
from fluent_ai.cli.mcp import mcp_app
from fluent_ai.cli.memory import memory_app
from fluent_ai.cli.models import models
from fluent_ai.cli.serve import serve

app = typer.Typer(
    name="fluent-ai",
    help="Chat with LLMs from the terminal: the embedded local model or any provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fluent-ai {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """fluent-ai: agents, providers and the embedded model from the command line."""


app.command("chat")(chat)
app.command("models")(models)
app.command("serve")(serve)
app.add_typer(mcp_app)
app.add_typer(memory_app)
app.add_typer(history_app)
app.add_typer(keys_app)
app.add_typer(auth_app)


def main() -> None:
    """Console-script entry point."""
    app()
