"""Schemathesis against our OpenAPI document, on the live loopback server.

Generated requests, valid ones and invalid ones, must never get a 5xx, and every answer
must match what the document says: a documented status, the right content type, a body
that fits its schema. The upstream is the fake OpenAI server, so generated chats are
really answered. (Schemathesis' pytest plugin does not run under pytest 9; its Python
API with Hypothesis does the same.)
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, checks

from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.conftest import MODEL
from tests.server.live import LiveServer

AUTH = {"Authorization": "Bearer all-token"}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}

#: Operations with inputs get invalid ones too; the others have nothing to break.
WITH_INPUT = [
    ("/v1/chat/completions", "POST"),
    ("/v1/embeddings", "POST"),
    ("/v1/models/{model_id}", "GET"),
]
OPERATIONS = [*WITH_INPUT, ("/v1/models", "GET"), ("/healthz", "GET"), ("/metrics", "GET")]
CASES = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE) for path, method in WITH_INPUT
]
#: Our request rules span fields (a tool message needs tool_call_id, a text must not be
#: blank, n must be 1), which the JSON schema does not spell out: such schema-valid
#: requests get a 400 naming the rule, so "every valid request is accepted" is not checked.
EXCLUDED = [checks.positive_data_acceptance]


#: Random model names are nearly all unknown (404): half the valid bodies name a served
#: model instead, so the answers of real calls are checked too. (Not the invalid ones:
#: the swap could repair the very field that made them invalid.)
SERVED_MODEL = {"/v1/chat/completions": MODEL, "/v1/embeddings": "local"}


def served(case: Case[Any], swap: bool, model: str) -> Case[Any]:
    if swap and isinstance(case.body, dict) and "model" in case.body:
        case.body["model"] = model
    return case


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_answers_follow_the_document(
    server: LiveServer, path: str, method: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operation = schema[path][method]
    cases = operation.as_strategy(generation_mode=mode)
    if path in SERVED_MODEL and mode is GenerationMode.POSITIVE:
        model = SERVED_MODEL[path]
        cases = st.tuples(cases, st.booleans()).map(lambda pair: served(pair[0], pair[1], model))

    @given(case=cases)
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Case[Any]) -> None:
        case.call_and_validate(base_url=server.url, headers=AUTH, excluded_checks=EXCLUDED)

    check()


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(text="a streamed answer"),
        Behaviour(text="", tool_calls=[TOOL_CALL]),
        Behaviour(text="cut short here", cut_after=2),
    ],
    ids=["text", "tool-call", "cut"],
)
def test_streamed_events_follow_the_document(
    server: LiveServer, openai_env: FakeOpenAIServer, behaviour: Behaviour
) -> None:
    openai_env.queue(behaviour)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    case = schema["/v1/chat/completions"]["POST"].Case(
        body={
            "model": MODEL,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        media_type="application/json",
    )
    response = case.call_and_validate(base_url=server.url, headers=AUTH)
    assert response.headers["content-type"][0].startswith("text/event-stream")


def test_document_describes_the_api(server: LiveServer) -> None:
    document: dict[str, Any] = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    paths = document["paths"]
    assert {path for path, _ in OPERATIONS} <= set(paths)
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["security"] == [{"bearerAuth": []}]
    assert {"400", "401", "403", "404", "413", "429", "502", "504"} <= set(chat["responses"])
    assert "422" not in chat["responses"]
    assert set(chat["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
