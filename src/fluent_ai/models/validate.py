"""Refusing, before sending, what the catalogue says the model cannot take.

Only what the catalogue *knows* is checked: a model with unknown capabilities (one
discovered from a listing endpoint, or a name the catalogue lacks) is sent as asked and
the provider decides.
"""

from __future__ import annotations

from fluent_ai.errors import ContextLengthError, UnsupportedFeatureError
from fluent_ai.models.catalogue import ModelInfo
from fluent_ai.models.tokens import estimate_tokens
from fluent_ai.types import ChatRequest, ImagePart

__all__ = ["check_request", "has_images"]


def has_images(request: ChatRequest) -> bool:
    return any(
        isinstance(part, ImagePart)
        for message in request.messages
        if not isinstance(message.content, str)
        for part in message.content
    )


def check_request(request: ChatRequest, info: ModelInfo | None) -> None:
    """Raise when ``request`` asks ``info``'s model for something it cannot do."""
    if info is None:
        return
    spec = info.spec
    if info.kind != "chat":
        raise UnsupportedFeatureError(
            f"{spec} is an {info.kind} model, not a chat model",
            provider=info.provider,
            feature="chat",
        )
    if request.tools and info.has("tools") is False:
        raise UnsupportedFeatureError(
            f"{spec} cannot call tools; pick a model with the tools capability "
            "(`fluent-ai models --capability tools`)",
            provider=info.provider,
            feature="tools",
        )
    if has_images(request) and info.has("vision") is False:
        raise UnsupportedFeatureError(
            f"{spec} does not accept images; pick a model with the vision capability "
            "(`fluent-ai models --capability vision`)",
            provider=info.provider,
            feature="vision",
        )
    if request.max_tokens is not None and info.max_output and request.max_tokens > info.max_output:
        raise UnsupportedFeatureError(
            f"max_tokens {request.max_tokens} exceeds {spec}'s longest answer "
            f"({info.max_output} tokens)",
            provider=info.provider,
            feature="max_tokens",
        )
    if info.context_window:
        needed = estimate_tokens(request)
        reserved = request.max_tokens or 0
        if needed + reserved > info.context_window:
            raise ContextLengthError(
                f"{spec}: the request needs about {needed:,} input tokens"
                + (f" plus {reserved:,} for the answer" if reserved else "")
                + f", more than its {info.context_window:,}-token context window",
                provider=info.provider,
            )
