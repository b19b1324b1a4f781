"""One clear line on stderr for every failure; a traceback only with ``--debug``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from fluent_ai.errors import ConfigurationError, FluentAIError, InvalidParameterError

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "fail", "reporting_errors", "setup_logging"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def setup_logging(debug: bool) -> None:
    # Only our own loggers go to DEBUG: the HTTP/2 stack logs raw header blocks, keys included.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("fluent_ai").setLevel(logging.DEBUG if debug else logging.WARNING)


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``error: message`` (always one line) on stderr and return the Exit to raise."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    return typer.Exit(code)


@contextmanager
def reporting_errors(debug: bool) -> Iterator[None]:
    """Turn exceptions into one ``error:`` line and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except FluentAIError as exc:
        if debug:
            raise
        code = EXIT_USAGE if isinstance(exc, InvalidParameterError) else EXIT_FAILURE
        if isinstance(exc, ConfigurationError) and not isinstance(exc, InvalidParameterError):
            code = EXIT_FAILURE
        raise fail(str(exc), code) from None
    except Exception as exc:
        if debug:
            raise
        raise fail(
            f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
        ) from None
