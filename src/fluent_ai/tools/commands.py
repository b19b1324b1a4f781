"""Tools that run a fixed program or Python code in the sandbox (never through a shell).

A run that fails (non-zero exit, timeout, a signal, a limit) RAISES
:class:`CommandFailed` whose message is the whole report, exit status, stdout and
stderr: the executor turns it into a ``ToolError``, so the user's stream shows a failure
while the model still reads every byte of output it needs to correct itself. Programs
whose non-zero codes are answers (``grep``/``rg`` exit 1: no match) list them in
``ok_exit_codes``.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence

from fluent_ai.errors import FluentAIError, InvalidParameterError
from fluent_ai.tools.sandbox import Sandbox, SandboxResult, run_sandboxed
from fluent_ai.tools.tool import Tool

__all__ = ["CommandFailed", "command_tool", "python_tool"]

#: Seconds the executor waits beyond the sandbox's own timeout (which kills first).
_GRACE = 5.0


class CommandFailed(FluentAIError):
    """A sandboxed run ended badly; the message is the report the model reads."""

    def __init__(self, result: SandboxResult, report: str) -> None:
        super().__init__(report)
        self.result = result


def _report(result: SandboxResult, sandbox: Sandbox, ok_exit_codes: Collection[int]) -> str:
    text = result.describe(sandbox.timeout)
    if result.timed_out or result.exit_code not in ok_exit_codes:
        raise CommandFailed(result, text)
    return text


def command_tool(
    name: str,
    argv_prefix: Sequence[str],
    *,
    description: str | None = None,
    sandbox: Sandbox | None = None,
    allow_args: bool = True,
    ok_exit_codes: Collection[int] = (0,),
) -> Tool:
    """A tool running ``argv_prefix`` plus the model's ``args`` in the sandbox.

    Arguments go to the program as they are: no shell, so ``;``, ``$HOME`` or ``*`` are
    plain text. ``allow_args=False`` gives a tool without parameters.
    """
    prefix = tuple(argv_prefix)
    if not prefix or not all(isinstance(part, str) and part for part in prefix):
        raise InvalidParameterError("argv_prefix", "must be a non-empty list of strings")
    settings = sandbox or Sandbox()
    codes = frozenset(ok_exit_codes)
    summary = description or f"Run `{' '.join(prefix)}` in a sandbox (no network)."

    async def run_command(args: list[str]) -> str:
        """Run the command.

        Args:
            args: Extra command-line arguments, one per item (no shell is involved).
        """
        return _report(await run_sandboxed((*prefix, *args), settings), settings, codes)

    async def run_fixed() -> str:
        """Run the command."""
        return _report(await run_sandboxed(prefix, settings), settings, codes)

    return Tool.from_function(
        run_command if allow_args else run_fixed,
        name=name,
        description=summary,
        timeout=settings.timeout + _GRACE,
    )


def python_tool(
    name: str = "run_python",
    *,
    description: str | None = None,
    sandbox: Sandbox | None = None,
) -> Tool:
    """A tool running model-written Python (``python -I -c code``) in the sandbox."""
    settings = sandbox or Sandbox()
    summary = description or (
        "Run a Python 3 program in a sandbox: no network, a fresh empty working directory, "
        f"{settings.timeout:g}s wall-clock limit. Print what you need to see; the result "
        "shows the exit code, stdout and stderr."
    )

    async def run_python(code: str) -> str:
        """Run Python code.

        Args:
            code: The complete program's source text.
        """
        argv = (sys.executable, "-I", "-c", code)
        return _report(await run_sandboxed(argv, settings), settings, (0,))

    return Tool.from_function(
        run_python, name=name, description=summary, timeout=settings.timeout + _GRACE
    )
