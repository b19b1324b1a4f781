"""Every adapter streams and completes without blocking the event loop (blockbuster).

The provider is built before the detector is armed (constructors may read the bundled
catalogue from disk, as a user's synchronous setup code does); everything after that,
including an error event retried before the first chunk, runs under it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest
from blockbuster import BlockingError, blockbuster_ctx

from fluent_ai.config import load_settings
from fluent_ai.types import ChatRequest, Message, TextDelta
from tests.conformance.spec import Harness, Scenario
from tests.conformance.test_conformance import HARNESSES


@pytest.fixture(params=sorted(HARNESSES))
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    module = importlib.import_module(HARNESSES[request.param])
    cm: AbstractContextManager[Harness] = module.harness()
    with cm as harness:
        yield harness


async def test_streaming_and_completing_never_block(h: Harness) -> None:
    if h.supports_error_events:
        h.queue(Scenario(error_event_first=True))
    h.queue(Scenario(text="streamed answer"), Scenario(text="whole answer"))
    provider = h.provider(max_retries=1)
    request = ChatRequest(model=h.model, messages=(Message.user("hi"),))
    with blockbuster_ctx("fluent_ai"):
        with pytest.raises(BlockingError):  # the detector is armed
            load_settings()
        streamed = [chunk async for chunk in provider.stream(request)]
        result = await provider.complete(request)
        await provider.aclose()
    assert "".join(c.text for c in streamed if isinstance(c, TextDelta)) == "streamed answer"
    assert result.text == "whole answer"
