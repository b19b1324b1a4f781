"""Token estimates for checking a request against a model's context window offline.

No provider's own tokenizer can be used without downloading its vocabulary (tiktoken
fetches its files at first use), so the estimate is documented and deliberately low:
one token per four UTF-8 bytes of text, four tokens of framing per message, and a
fixed 1,000 tokens per image (OpenAI bills a high-detail 1024x1024 image at 765,
Anthropic about 1,600 for the same). Low on purpose: a request is refused only when it
is clearly too long; the provider still has the last word on borderline ones.
"""

from __future__ import annotations

import json

from fluent_ai.types import ChatRequest, ImagePart, Message, TextPart

__all__ = ["IMAGE_TOKENS", "estimate_message_tokens", "estimate_tokens"]

BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 1000


def _text_tokens(text: str) -> int:
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


def estimate_message_tokens(message: Message) -> int:
    """Estimated tokens of one message, its tool calls included."""
    total = MESSAGE_OVERHEAD
    if isinstance(message.content, str):
        total += _text_tokens(message.content)
    else:
        for part in message.content:
            if isinstance(part, TextPart):
                total += _text_tokens(part.text)
            elif isinstance(part, ImagePart):
                total += IMAGE_TOKENS
    for call in message.tool_calls:
        total += _text_tokens(call.name) + _text_tokens(call.arguments)
    return total


def estimate_tokens(request: ChatRequest) -> int:
    """Estimated input tokens of ``request``: its messages and tool declarations."""
    total = sum(estimate_message_tokens(m) for m in request.messages)
    if request.tools:
        total += _text_tokens(json.dumps(list(request.tools), default=str))
    return total
