"""What an error answer may tell the client: the typed error's message, minus what is
the server's own business.

An upstream's error body is written for whoever holds *its* key, and that is this server:
a 401 may quote the key ("Incorrect API key provided: sk-…"), a 5xx may carry a
traceback or an internal path, a connection error names the upstream's (possibly
internal) address; the key store's and the rate limiter's failures name databases and
hosts. Clients get a short statement of what failed instead; the full text goes to the
server's log. Messages written by this server for the client (a field that is invalid,
a model it does not know, an upstream's 400 about the request) pass as they are, with
any configured provider secret cut out, should an upstream echo one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from fluent_ai.auth.key_store import KeyStoreError
from fluent_ai.errors import (
    AuthenticationError,
    FluentAIError,
    MalformedResponseError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
)
from fluent_ai.server.ratelimit import LimiterUnavailableError

__all__ = ["public_message", "secrets_of"]

#: Environment variables whose values are credentials (``OPENAI_API_KEY``, …).
_SECRET_SUFFIXES: Final = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_ACCESS_KEY", "_PASSWORD")
#: Shorter values are not worth cutting out (and would cut out ordinary words).
_MIN_SECRET: Final = 8


def secrets_of(env: Mapping[str, str]) -> tuple[str, ...]:
    """The credential values of ``env`` (provider keys and tokens), longest first."""
    found = {
        value.strip()
        for name, value in env.items()
        if name.upper().endswith(_SECRET_SUFFIXES) and len(value.strip()) >= _MIN_SECRET
    }
    return tuple(sorted(found, key=len, reverse=True))


def _upstream(error: ProviderError) -> str:
    return error.provider or "the upstream provider"


def public_message(error: FluentAIError, secrets: Iterable[str] = ()) -> str:
    """``error``'s message as a client may read it (see the module docstring)."""
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        status = f" (HTTP {error.status})" if error.status else ""
        message = (
            f"{_upstream(error)} refused this server's credentials{status}; "
            "the server's operator must check its key"
        )
    elif isinstance(error, ProviderConnectionError):
        message = f"{_upstream(error)} could not be reached"
    elif isinstance(error, MalformedResponseError):
        message = f"{_upstream(error)} sent an answer that could not be read"
    elif type(error) is ProviderError and (error.status is None or error.status >= 500):
        status = f" (HTTP {error.status})" if error.status else ""
        message = f"{_upstream(error)} failed{status}"
    elif isinstance(error, KeyStoreError):
        message = "the API key store is unavailable; try again later"
    elif isinstance(error, LimiterUnavailableError):
        message = "the rate limiter is unavailable; requests are refused until it is back"
    else:
        message = error.message
    for secret in secrets:
        message = message.replace(secret, "***")
    return message
