"""Which model strings an API caller may send: models by name, never files or paths.

The library lets its user name a GGUF file as a model (``local:/models/x.gguf``); over
HTTP that would let any caller make the server load (and so probe for) any file on its
disk, one model in memory per path. Upstream model names also become URL paths
(Gemini's ``models/{name}:generateContent``), where a ``..`` segment would reach
another endpoint of the upstream with the server's key. So the server refuses both
before resolving a caller's string; the operator still chooses files and aliases in the
settings (``local_model_path``, ``[aliases]``), which callers reach by name.
"""

from __future__ import annotations

import re
from typing import Final

from fluent_ai.errors import InvalidParameterError
from fluent_ai.providers.local import DEFAULT_LOCAL_MODEL

__all__ = ["MAX_MODEL_CHARS", "check_model_spec"]

#: The longest model string a request may hold (the bodies' ``model`` field agrees).
MAX_MODEL_CHARS: Final = 512
_CONTROL: Final = re.compile(r"[\x00-\x20\x7f]")
#: What separates a provider, a path and a name in a model string.
_SEGMENTS: Final = re.compile(r"[/:]")


def check_model_spec(spec: str, parameter: str = "model") -> None:
    """Raise :class:`InvalidParameterError` (400 naming ``parameter``) for a model string
    a caller may not send: white space or control characters, a ``local:`` file, or a
    ``.``/``..`` path segment."""
    if len(spec) > MAX_MODEL_CHARS:
        raise InvalidParameterError(parameter, f"must be at most {MAX_MODEL_CHARS} characters")
    if _CONTROL.search(spec):
        raise InvalidParameterError(parameter, "must not contain spaces or control characters")
    provider, sep, name = spec.partition(":")
    if provider == "local" and sep and name not in ("", DEFAULT_LOCAL_MODEL):
        raise InvalidParameterError(
            parameter,
            "model files are chosen in the server's settings, not by callers: "
            "use 'local' for the server's local model",
        )
    if any(part in (".", "..") for part in _SEGMENTS.split(spec)):
        raise InvalidParameterError(parameter, "must not contain '.' or '..' path segments")
