"""Test your own agent code without any model: script the replies, check what was sent.

Run: .venv/bin/python -m pytest examples/test_with_scripted_model.py
"""

from __future__ import annotations

import pytest

from fluent_ai import FluentAI, Reply, ScriptedModel, StreamInterruptedError


def test_agent_answers_and_keeps_history() -> None:
    model = ScriptedModel("Your order ships tomorrow.", "You're welcome!")
    agent = FluentAI.agent("support").model(model).system_prompt("You help with orders.").build()
    assert agent.chat_sync("When does my order ship?") == "Your order ships tomorrow."
    assert agent.chat_sync("Thanks") == "You're welcome!"
    second_call = model.requests[1].messages
    assert [m.role.value for m in second_call] == ["system", "user", "assistant", "user"]


def test_a_cut_stream_surfaces_as_a_typed_error() -> None:
    cut = Reply(text="Your order", error=StreamInterruptedError("cut"), fail_after=1)
    agent = FluentAI.agent("support").model(ScriptedModel(cut)).build()
    with pytest.raises(StreamInterruptedError):
        agent.chat_sync("When does my order ship?")
    assert agent.history == ()
