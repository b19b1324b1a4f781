"""``create_app``: extra routers and parts, what shutdown closes, the last-resort 500,
a client leaving mid-stream, and OpenAI-only request fields."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request

from fluent_ai.auth.principal import Principal
from fluent_ai.config import Settings
from fluent_ai.server.app import create_app
from fluent_ai.server.state import Admission, ServerState, server_state
from tests.cli.clitools import wait_for
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.conftest import MODEL, MakeServer
from tests.server.live import TokenAuthenticator, serve
from tests.server.test_metrics import samples

AUTH = {"Authorization": "Bearer all-token"}


class RecordingLimiter:
    """Admits everything and remembers every call, to check what the app settles."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def admit(self, principal: Principal, estimated_tokens: int = 0) -> Admission:
        self.calls.append(("admit", estimated_tokens))
        return Admission(principal.limit_key, estimated_tokens)

    async def settle(self, admission: Admission, used_tokens: int) -> None:
        self.calls.append(("settle", used_tokens))

    async def aclose(self) -> None:
        self.calls.append(("aclose", 0))


class Part:
    def __init__(self, name: str, events: list[str]) -> None:
        self.name = name
        self.events = events

    async def aclose(self) -> None:
        self.events.append(f"closed {self.name}")


extra = APIRouter()


@extra.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("internal detail /srv/secret.txt")


@extra.get("/part")
async def part(request: Request) -> dict[str, Any]:
    found = server_state(request).parts["first"]
    assert isinstance(found, Part)
    return {"name": found.name}


def test_parts_routers_and_shutdown(openai_env: FakeOpenAIServer) -> None:
    events: list[str] = []

    def factory(name: str) -> Any:
        async def build(state: ServerState) -> Part:
            assert state.settings.server.max_body_bytes == 4096
            events.append(f"started {name}")
            return Part(name, events)

        return build

    authenticator, limiter = TokenAuthenticator(), RecordingLimiter()
    app = create_app(
        Settings(server={"max_body_bytes": 4096}),
        authenticator=authenticator,
        limiter=limiter,
        extra_routers=[extra],
        parts={"first": factory("first"), "second": factory("second")},
    )
    with serve(app) as live:
        assert httpx.get(f"{live.url}/part", timeout=10).json() == {"name": "first"}
        assert events == ["started first", "started second"]
    assert events[2:] == ["closed second", "closed first"]
    assert authenticator.closed == 1
    assert limiter.calls[-1] == ("aclose", 0)


def test_unexpected_errors_are_a_500_that_leaks_nothing(
    openai_env: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        Settings(),
        authenticator=TokenAuthenticator(),
        limiter=RecordingLimiter(),
        extra_routers=[extra],
    )
    with caplog.at_level(logging.ERROR, "fluent_ai.server"), serve(app) as live:
        response = httpx.get(f"{live.url}/boom", headers={"X-Request-ID": "trace-9"}, timeout=10)
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "message": "internal server error (request trace-9)",
            "type": "server_error",
            "code": "internal_error",
            "param": None,
        }
    }
    assert "secret" not in response.text
    logged = [r for r in caplog.records if "trace-9" in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


def test_calls_are_settled_with_the_tokens_they_used(openai_env: FakeOpenAIServer) -> None:
    limiter = RecordingLimiter()
    app = create_app(Settings(max_retries=0), authenticator=TokenAuthenticator(), limiter=limiter)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "one two"}], "max_tokens": 9}
    with serve(app) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        assert http.post("/v1/chat/completions", json=body, headers=AUTH).status_code == 200
        openai_env.queue(Behaviour.error(500))
        assert http.post("/v1/chat/completions", json=body, headers=AUTH).status_code == 502
    (_, first_estimate), (_, used), (_, second_estimate), (_, failed) = limiter.calls[:4]
    assert first_estimate == second_estimate > 9  # the prompt's estimate plus max_tokens
    assert used == 2 + 5  # the fake's usage: two prompt words, five answer words
    assert failed == 0  # nothing came back: nothing is charged


def test_client_leaving_mid_stream_closes_the_upstream(
    server_with_limiter: tuple[Any, RecordingLimiter], openai_env: FakeOpenAIServer
) -> None:
    live, limiter = server_with_limiter
    openai_env.queue(Behaviour(text=" ".join(["word"] * 40), chunk_delay=0.05))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "go"}], "stream": True}
    with (
        httpx.Client(base_url=live.url, timeout=10) as http,
        http.stream("POST", "/v1/chat/completions", json=body, headers=AUTH) as response,
    ):
        lines = response.iter_lines()
        assert next(line for line in lines if '"content":"word"' in line)
    assert wait_for(lambda: openai_env.disconnects == 1, 10)
    assert wait_for(lambda: any(call[0] == "settle" for call in limiter.calls), 10)
    gauge = ("fluent_ai_streams_in_flight", ())
    assert wait_for(lambda: samples(live)[gauge] == 0, 10)
    assert openai_env.completed_streams == 0


@pytest.fixture
def server_with_limiter(openai_env: FakeOpenAIServer) -> Any:
    limiter = RecordingLimiter()
    app = create_app(Settings(max_retries=0), authenticator=TokenAuthenticator(), limiter=limiter)
    with serve(app) as live:
        yield live, limiter


def test_openai_fields_pass_through_to_openai_compatible_models(
    server: Any, openai_env: FakeOpenAIServer
) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "json please"}],
        "response_format": {"type": "json_object"},
        "frequency_penalty": 0.5,
        "parallel_tool_calls": False,
        "user": "ignored-user-id",
    }
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 200
    sent = openai_env.chat_requests[-1].body
    assert sent["response_format"] == {"type": "json_object"}
    assert (sent["frequency_penalty"], sent["parallel_tool_calls"]) == (0.5, False)
    assert "user" not in sent


def test_openai_fields_are_refused_for_other_protocols(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-sent")
    server = make_server()
    body = {
        "model": "anthropic:claude-haiku-5-5",
        "messages": [{"role": "user", "content": "json please"}],
        "response_format": {"type": "json_object"},
    }
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "response_format"
    assert "only be sent to OpenAI-compatible models" in error["message"]
