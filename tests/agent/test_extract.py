"""Structured extraction: native JSON-schema mode, a forced tool call, or prompted JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from fluent_ai import FluentAI, InvalidParameterError, Reply, ScriptedModel
from fluent_ai.agent.extract import ExtractionError
from fluent_ai.providers.anthropic import AnthropicProvider
from tests.fakes.anthropic_server import Behaviour as AnthropicBehaviour
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


class Invoice(BaseModel):
    """An invoice's number and total."""

    number: str
    total: float = Field(gt=0)


TEXT = "Invoice INV-7 comes to 12.50 euros."
GOOD = {"number": "INV-7", "total": 12.5}


async def test_native_mode_sends_the_schema_as_response_format(
    openai_env: FakeOpenAIServer,
) -> None:
    openai_env.queue(Behaviour(text=json.dumps(GOOD)))
    agent = await FluentAI.agent().model("openai:gpt-4o-mini").abuild()
    assert await agent.extract(Invoice, TEXT) == Invoice(**GOOD)
    body = openai_env.chat_requests[-1].body
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["number", "total"]
    assert body["messages"][-1] == {"role": "user", "content": TEXT}
    assert agent.history == (), "extraction does not touch the conversation"


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key="k") as server:
        yield server


async def test_tool_mode_forces_the_result_tool(anthropic: FakeAnthropicServer) -> None:
    call = {"id": "toolu_1", "name": "final_result", "input": GOOD}
    anthropic.queue(AnthropicBehaviour(text="", tool_calls=[call]))
    provider = AnthropicProvider(api_key="k", base_url=anthropic.base_url, model="claude-haiku-4-5")
    agent = await FluentAI.agent().model(provider).abuild()
    assert await agent.extract(Invoice, TEXT) == Invoice(**GOOD)
    body = anthropic.message_requests[-1].body
    assert body["tool_choice"] == {"type": "tool", "name": "final_result"}
    assert body["tools"][0]["name"] == "final_result"
    assert body["tools"][0]["input_schema"]["properties"]["total"]["exclusiveMinimum"] == 0


async def test_prompted_mode_reads_fenced_json_and_corrects_a_bad_answer() -> None:
    model = ScriptedModel(
        'Sure! ```json\n{"number": "INV-7", "total": -1}\n```',
        'Here it is: {"number": "INV-7", "total": 12.5} - hope that helps',
    )
    agent = await FluentAI.agent().model(model).abuild()
    assert await agent.extract(Invoice, TEXT, mode="prompted") == Invoice(**GOOD)
    first, second = model.requests
    assert "JSON schema" in first.messages[0].text
    correction = second.messages[-1].text
    assert "total: Input should be greater than 0" in correction


async def test_giving_up_names_the_problems_and_keeps_the_last_answer() -> None:
    model = ScriptedModel("not json", '{"number": 7}')
    agent = await FluentAI.agent().model(model).abuild()
    with pytest.raises(ExtractionError) as caught:
        await agent.extract(Invoice, TEXT, retries=1, mode="prompted")
    assert "after 2 attempts" in str(caught.value)
    assert "total: Field required" in str(caught.value)
    assert caught.value.last_answer == '{"number": 7}'


def test_the_builder_form() -> None:
    model = ScriptedModel(Reply(text=json.dumps(GOOD)))
    invoice = FluentAI.extract(Invoice).model(model).retries(0).mode("prompted").run_sync(TEXT)
    assert invoice == Invoice(**GOOD)


def test_bad_arguments_are_refused_at_once() -> None:
    with pytest.raises(InvalidParameterError, match="schema"):
        FluentAI.extract(dict)  # type: ignore[type-var]
    with pytest.raises(InvalidParameterError, match="mode"):
        FluentAI.extract(Invoice).mode("telepathy")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="retries"):
        FluentAI.extract(Invoice).retries(-1)


@pytest.mark.integration
async def test_the_embedded_model_is_held_to_the_schema_by_its_grammar() -> None:
    class City(BaseModel):
        name: str
        country: str

    agent = await FluentAI.agent().model("local").max_tokens(60).abuild()
    city = await agent.extract(City, "Paris is the capital of France. Describe Paris.")
    assert isinstance(city, City)
    assert city.name
