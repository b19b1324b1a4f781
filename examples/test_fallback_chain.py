"""Test that your agent survives its first model failing: script both ends of the chain.

Run: .venv/bin/python -m pytest examples/test_fallback_chain.py
"""

from __future__ import annotations

import pytest

from fluent_ai import (
    AuthenticationError,
    FluentAI,
    ProviderError,
    RateLimitError,
    Reply,
    ScriptedModel,
)


def test_a_retryable_failure_moves_to_the_next_model() -> None:
    primary = ScriptedModel(Reply(error=RateLimitError("slow down", retry_after=30)))
    backup = ScriptedModel("Backup here.", model_name="backup")
    agent = FluentAI.agent().model(primary, fallback=[backup]).build()
    result = agent.chat_sync("hi")
    assert result == "Backup here."
    assert backup.requests[0].messages[-1].text == "hi"


def test_an_authentication_failure_is_not_hidden_by_the_chain() -> None:
    primary = ScriptedModel(Reply(error=AuthenticationError("bad key", status=401)))
    backup = ScriptedModel("never used", model_name="backup")
    agent = FluentAI.agent().model(primary, fallback=[backup]).build()
    with pytest.raises(AuthenticationError):
        agent.chat_sync("hi")
    assert backup.requests == []


async def test_the_result_names_the_model_that_answered() -> None:
    primary = ScriptedModel(Reply(error=ProviderError("down", status=500)))
    backup = ScriptedModel("ok", model_name="backup")
    agent = await FluentAI.agent().model(primary, fallback=[backup]).abuild()
    result = await agent.chat("hi").result()
    assert (result.text, result.model) == ("ok", "scripted:backup")
