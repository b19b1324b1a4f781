"""The fluent builder: immutable steps, validation at the call that is wrong, build checks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest

from fluent_ai import (
    AgentBuilder,
    ConfigurationError,
    FluentAI,
    FunctionModel,
    ImagePart,
    InvalidParameterError,
    Message,
    ScriptedModel,
    TextPart,
)
from fluent_ai.types import ChatRequest, ToolCall


def _echo_system(messages: tuple[Message, ...], request: ChatRequest) -> str:
    """A model that answers with the system prompt it was sent."""
    return messages[0].text if messages and messages[0].role == "system" else "<no system>"


def test_each_call_returns_a_new_builder_and_leaves_the_original_unchanged() -> None:
    base = FluentAI.agent("helper")
    warm = base.temperature(1.5)
    capped = warm.max_tokens(10)
    assert isinstance(warm, AgentBuilder)
    assert warm is not base
    assert capped is not warm
    assert base.config.temperature is None
    assert warm.config.max_tokens is None
    assert (capped.config.temperature, capped.config.max_tokens) == (1.5, 10)


async def test_branches_of_one_builder_build_independent_agents() -> None:
    base = FluentAI.agent("helper").variables(tone="dry").system_prompt("Be {{ tone }}.")
    cold_model, warm_model = ScriptedModel("a"), ScriptedModel("b")
    cold = base.temperature(0.0).model(cold_model).build()
    warm = base.variables(tone="warm").temperature(1.0).model(warm_model).build()
    await cold.chat("hi").text()
    await warm.chat("hi").text()
    assert cold_model.requests[0].temperature == 0.0
    assert warm_model.requests[0].temperature == 1.0
    assert cold_model.requests[0].messages[0].text == "Be dry."
    assert warm_model.requests[0].messages[0].text == "Be warm."
    assert base.config.variables == {"tone": "dry"}


def test_invalid_parameter_error_is_a_value_error_and_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="temperature") as caught:
        FluentAI.agent().temperature(7)
    assert isinstance(caught.value, InvalidParameterError)
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.parameter == "temperature"


BAD_CALLS: list[tuple[str, Callable[[AgentBuilder], Any]]] = [
    ("temperature", lambda b: b.temperature(7)),
    ("temperature", lambda b: b.temperature(-1)),
    ("temperature", lambda b: b.temperature("hot")),  # type: ignore[arg-type]
    ("temperature", lambda b: b.temperature(True)),
    ("temperature", lambda b: b.temperature(math.nan)),
    ("max_tokens", lambda b: b.max_tokens(0)),
    ("max_tokens", lambda b: b.max_tokens(1.5)),  # type: ignore[arg-type]
    ("max_tokens", lambda b: b.max_tokens("10")),  # type: ignore[arg-type]
    ("top_p", lambda b: b.top_p(1.5)),
    ("seed", lambda b: b.seed(-1)),
    ("stop", lambda b: b.stop()),
    ("stop", lambda b: b.stop("a", "b", "c", "d", "e")),
    ("stop", lambda b: b.stop("ok", "")),
    ("model", lambda b: b.model("")),
    ("model", lambda b: b.model(None)),
    ("model", lambda b: b.model("gpt-4o", requires=["tools"])),
    ("requires", lambda b: b.model(requires=["telepathy"])),
    ("fallback", lambda b: b.model("openai:gpt-4o", fallback="local")),
    ("fallback", lambda b: b.model("openai:gpt-4o", fallback=["opnai:gpt-4o"])),
    ("model", lambda b: b.model("opnai:gpt-4o")),
    ("system_prompt", lambda b: b.system_prompt("Hello {{ name ")),
    ("system_prompt", lambda b: b.system_prompt("{% if x %}no end")),
    ("on_chunk", lambda b: b.on_chunk("print")),  # type: ignore[arg-type]
    ("on_error", lambda b: b.on_error(42)),  # type: ignore[arg-type]
    ("on_conversation_turn", lambda b: b.on_conversation_turn(None)),  # type: ignore[arg-type]
    ("conversation_history", lambda b: b.conversation_history(("robot", "beep"))),
    ("streaming", lambda b: b.streaming("yes")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("parameter", "call"), BAD_CALLS)
def test_a_bad_value_fails_at_its_own_call_and_names_the_parameter(
    parameter: str, call: Callable[[AgentBuilder], Any]
) -> None:
    builder = FluentAI.agent("t")
    with pytest.raises(InvalidParameterError) as caught:
        call(builder)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.temperature(0),
        lambda b: b.temperature(2.0),
        lambda b: b.max_tokens(1),
        lambda b: b.top_p(0.0),
        lambda b: b.seed(0),
        lambda b: b.stop("a", "b", "c", "d"),
        lambda b: b.model("openai:gpt-4o"),
    ],
)
def test_boundary_values_are_accepted(call: Callable[[AgentBuilder], Any]) -> None:
    assert isinstance(call(FluentAI.agent()), AgentBuilder)


def test_misspelt_provider_suggests_the_right_one() -> None:
    with pytest.raises(InvalidParameterError, match=r"did you mean openai:gpt-4o"):
        FluentAI.agent().model("opnai:gpt-4o")


def test_a_bare_catalogued_name_needs_no_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert FluentAI.agent().model("gpt-4o-mini").build().model == "openai:gpt-4o-mini"


def test_a_misspelt_bare_name_fails_at_build_with_a_suggestion() -> None:
    builder = FluentAI.agent().model("gpt-4o-mnii")
    with pytest.raises(ConfigurationError, match=r"did you mean openai:gpt-4o-mini\?"):
        builder.build()


def test_template_syntax_error_reports_its_line() -> None:
    with pytest.raises(InvalidParameterError, match="line 2"):
        FluentAI.agent().system_prompt("fine\nbroken {{ x ")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_agent_name_must_be_non_empty(name: Any) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        FluentAI.agent(name)
    assert caught.value.parameter == "name"


def test_build_fails_when_the_template_uses_an_unknown_variable() -> None:
    builder = FluentAI.agent().model(ScriptedModel()).system_prompt("You help {{ user }}.")
    with pytest.raises(InvalidParameterError, match="user") as caught:
        builder.build()
    assert caught.value.parameter == "system_prompt"


async def test_variables_supply_the_template_and_merge() -> None:
    model = ScriptedModel("ok")
    agent = (
        FluentAI.agent()
        .model(model)
        .system_prompt("You help {{ user }} in {{ lang }}.")
        .variables(user="Ada", lang="French")
        .variables(lang="German")
        .build()
    )
    await agent.chat("hi").text()
    assert model.requests[0].messages[0] == Message.system("You help Ada in German.")


async def test_builtin_variables_render_date_agent_and_model() -> None:
    before = dt.date.today().isoformat()
    agent = (
        FluentAI.agent("clerk")
        .model(FunctionModel(_echo_system, model_name="echo"))
        .system_prompt("{{ agent }} on {{ model }}, {{ date }}")
        .build()
    )
    text = await agent.chat("hi").text()
    after = dt.date.today().isoformat()
    assert text in {f"clerk on function:echo, {before}", f"clerk on function:echo, {after}"}


async def test_plain_prompt_with_braces_only_is_not_a_template() -> None:
    agent = FluentAI.agent().model(FunctionModel(_echo_system)).system_prompt("Use {json}.")
    assert await agent.build().chat("hi").text() == "Use {json}."


async def test_sandbox_refuses_attribute_escapes_and_sends_nothing() -> None:
    model = ScriptedModel("should not be reached")
    errors: list[Exception] = []
    agent = (
        FluentAI.agent()
        .model(model)
        .system_prompt("{{ ''.__class__.__mro__ }}")
        .on_error(errors.append)
        .build()
    )
    with pytest.raises(InvalidParameterError, match="unsafe") as caught:
        await agent.chat("hi").text()
    assert caught.value.parameter == "system_prompt"
    assert "<class" not in str(caught.value)
    assert model.requests == []
    assert errors == [caught.value]
    assert agent.history == ()


def test_hosted_model_without_key_fails_at_build_with_exact_message() -> None:
    builder = FluentAI.agent().model("openai:gpt-4o-mini")
    with pytest.raises(ConfigurationError) as caught:
        builder.build()
    assert str(caught.value) == "no API key for openai: set OPENAI_API_KEY"
    assert caught.value.provider == "openai"


def test_hosted_model_builds_with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    agent = FluentAI.agent().model("openai").build()
    assert agent.model == "openai:gpt-4o-mini"


@pytest.mark.parametrize(
    ("spec", "resolved"),
    [
        ("ollama", "ollama:llama3.2"),
        ("ollama:qwen2.5", "ollama:qwen2.5"),
        ("lmstudio:qwen2.5-7b", "lmstudio:qwen2.5-7b"),
        ("vllm:meta-llama/Llama-3.1-8B", "vllm:meta-llama/Llama-3.1-8B"),
    ],
)
def test_local_hosts_build_without_a_key(spec: str, resolved: str) -> None:
    agent = FluentAI.agent().model(spec).build()
    assert agent.model == resolved
    assert agent.provider.name == spec.partition(":")[0]


@pytest.mark.parametrize("spec", ["vllm", "vllm:", "lmstudio"])
def test_host_without_default_model_needs_a_model_name(spec: str) -> None:
    name = spec.rstrip(":")
    builder = FluentAI.agent()
    with pytest.raises(InvalidParameterError, match=rf"{name} needs a model name") as caught:
        builder.model(spec)  # fails at the call that is wrong, not at build()
    assert caught.value.parameter == "model"


@pytest.mark.parametrize("spec", ["local:foo", "local:/x/y.bin"])
def test_local_spec_that_is_not_gguf_fails_at_model_call(spec: str) -> None:
    with pytest.raises(InvalidParameterError, match="GGUF"):
        FluentAI.agent().model(spec)


async def test_openai_style_content_parts_in_history_are_kept() -> None:
    model = ScriptedModel("ok")
    entry = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}},
        ],
    }
    await FluentAI.agent().model(model).conversation_history(entry).build().chat("hi").text()
    first = model.requests[0].messages[0]
    assert first.content == (TextPart("What is this?"), ImagePart("https://x.test/a.png", "low"))
    assert first.text == "What is this?"


@pytest.mark.parametrize(
    "content", [42, [{"type": "audio", "data": "…"}], [{"type": "text"}], ["loose text"]]
)
def test_unusable_history_content_is_rejected(content: Any) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        FluentAI.agent().conversation_history({"role": "user", "content": content})
    assert caught.value.parameter == "conversation_history"


def test_history_dicts_keep_tool_calls_and_tool_results() -> None:
    builder = FluentAI.agent().conversation_history(
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "22C"},
    )
    _, assistant, tool = builder.config.history
    assert assistant.tool_calls == (ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)
    assert (tool.tool_call_id, tool.name, tool.content) == ("call_1", "get_weather", "22C")


@pytest.mark.parametrize(
    "item",
    [
        {"role": "tool", "tool_call_id": 7, "content": "x"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}],
        },
        {"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]},
    ],
)
def test_malformed_tool_history_is_refused(item: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterError, match="conversation_history"):
        FluentAI.agent().conversation_history(item)


def test_history_dicts_keep_a_tool_call_signature() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
        "signature": "opaque==",
    }
    builder = FluentAI.agent().conversation_history({"role": "assistant", "tool_calls": [call]})
    assert builder.config.history[0].tool_calls[0].signature == "opaque=="
