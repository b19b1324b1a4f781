"""Every failure answers in the OpenAI error shape with the status a client can act on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.conftest import MODEL, MakeServer
from tests.server.live import LiveServer

CHAT = "/v1/chat/completions"
HELLO: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def auth(token: str = "all-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    error: dict[str, Any] = body["error"]
    return error


def sdk(server: LiveServer, token: str = "all-token") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0)


def read_stream(client: openai.OpenAI, pieces: list[str]) -> None:
    """Stream an answer into ``pieces`` (what arrived stays there if the stream fails)."""
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
    )
    for chunk in stream:
        pieces.append(chunk.choices[0].delta.content or "")


# --- credentials and scopes ------------------------------------------------------------------


def test_missing_credentials_are_401_with_www_authenticate(http: httpx.Client) -> None:
    response = http.post(CHAT, json=HELLO)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = error_of(response)
    assert (error["type"], error["code"]) == ("authentication_error", "missing_credentials")


def test_wrong_key_is_401_through_the_sdk(server: LiveServer) -> None:
    with sdk(server, "not-a-key") as client, pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert "not-a-key" not in str(caught.value)


def test_scopes_keep_chat_and_embeddings_apart(server: LiveServer) -> None:
    with sdk(server, "embed-token") as embed_only, sdk(server, "chat-token") as chat_only:
        with pytest.raises(openai.PermissionDeniedError) as chat_refused:
            embed_only.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.PermissionDeniedError) as embed_refused:
            chat_only.embeddings.create(model="local", input="x")
        with pytest.raises(openai.PermissionDeniedError):
            embed_only.models.list()
        assert chat_only.models.list().data
    assert chat_refused.value.code == embed_refused.value.code == "insufficient_scope"
    assert "'chat' scope" in chat_refused.value.message
    assert "'embeddings' scope" in embed_refused.value.message


def test_admin_scope_may_do_everything(server: LiveServer) -> None:
    with sdk(server, "admin-token") as client:
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}]
        )
    assert answer.choices[0].message.content


# --- the caller's mistakes -------------------------------------------------------------------


def test_unknown_model_is_404_with_a_suggestion(server: LiveServer) -> None:
    with sdk(server) as client, pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="openai:gpt-4o-mnii", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.code == "model_not_found"
    assert "did you mean openai:gpt-4o-mini" in caught.value.message


def test_unknown_agent_is_404_naming_the_close_one(http: httpx.Client) -> None:
    response = http.post(CHAT, json={**HELLO, "model": "agent:helpr"}, headers=auth())
    assert response.status_code == 404
    assert "did you mean agent:helper" in error_of(response)["message"]


def test_model_of_an_unconfigured_provider_is_404(http: httpx.Client) -> None:
    response = http.post(
        CHAT, json={**HELLO, "model": "anthropic:claude-haiku-5-5"}, headers=auth()
    )
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_available"
    assert "not available on this server" in error["message"]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        CHAT,
        content=b'{"model": "x", "messages": [',
        headers={**auth(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json")
    assert error["message"].startswith("malformed JSON body")


def test_body_that_is_not_utf8_is_400(http: httpx.Client) -> None:
    response = http.post(
        CHAT,
        content=b'{"model": "\xff\xfe"}',
        headers={**auth(), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("change", "param", "words"),
    [
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role", "Input should be"),
        ({"messages": []}, "messages", "at least 1 item"),
        ({"messages": [{"role": "tool", "content": "5"}]}, "messages.0.tool_call_id", "required"),
        ({"messages": ["hello"]}, "messages.0", "valid dictionary"),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url"}]}]},
            "messages.0.content.0.type",
            "Input should be 'text'",
        ),
        ({"temperature": 3}, "temperature", "less than or equal to 2"),
        ({"n": 2}, "n", "less than or equal to 1"),
        ({"logprobs": True}, "logprobs", "not supported"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages.0.content.0.image_url",
            "Field required",
        ),
    ],
)
def test_schema_violations_name_the_field(
    http: httpx.Client, change: dict[str, Any], param: str, words: str
) -> None:
    response = http.post(CHAT, json={**HELLO, **change}, headers=auth())
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == param
    assert error["message"].startswith(f"{param}: ")
    assert words in error["message"]


def test_token_array_embedding_input_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/v1/embeddings", json={"model": "local", "input": [[1, 2, 3]]}, headers=auth()
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "input"
    assert "token arrays are not supported" in error["message"]


def test_chat_model_is_not_an_embedding_model(http: httpx.Client) -> None:
    response = http.post("/v1/embeddings", json={"model": MODEL, "input": "x"}, headers=auth())
    assert response.status_code == 400
    assert "not an embedding model" in error_of(response)["message"]


def test_client_tools_with_an_agent_are_refused(http: httpx.Client) -> None:
    tool = {"type": "function", "function": {"name": "mine", "parameters": {"type": "object"}}}
    body = {**HELLO, "model": "agent:helper", "tools": [tool]}
    response = http.post(CHAT, json=body, headers=auth())
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "tools"
    assert "runs its own tools" in error["message"]


def test_agent_that_cannot_be_built_is_503(make_server: MakeServer) -> None:
    broken = {"broken": {"model": MODEL, "tools": ["tests.no_such_module:TOOLS"]}}
    server = make_server(agents=broken)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post(CHAT, json={**HELLO, "model": "agent:broken"}, headers=auth())
    assert response.status_code == 503
    error = error_of(response)
    assert (error["type"], error["code"]) == ("server_error", "agent_unavailable")
    assert "agent 'broken' cannot be built" in error["message"]
    assert "tests.no_such_module" in error["message"]


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    missing = http.get("/v1/nothing-here", headers=auth())
    assert missing.status_code == 404
    assert error_of(missing)["type"] == "not_found_error"
    wrong = http.get(CHAT, headers=auth())
    assert wrong.status_code == 405
    assert "POST" in wrong.headers["allow"]
    assert error_of(wrong)["code"] == "method_not_allowed"


# --- body size ---------------------------------------------------------------------------------


def test_oversized_bodies_are_413_with_or_without_content_length(make_server: MakeServer) -> None:
    server = make_server(server={"max_body_bytes": 2048})
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 4096}]}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        declared = http.post(CHAT, json=big, headers=auth())

        def chunked() -> Iterator[bytes]:
            payload = httpx.Request("POST", "/", json=big).content
            for start in range(0, len(payload), 512):
                yield payload[start : start + 512]

        streamed = http.post(
            CHAT, content=chunked(), headers={**auth(), "content-type": "application/json"}
        )
        fine = http.post(CHAT, json=HELLO, headers=auth())
    for response in (declared, streamed):
        assert response.status_code == 413
        error = error_of(response)
        assert error["code"] == "request_too_large"
        assert "2,048 bytes" in error["message"]
    assert "content-length" not in streamed.request.headers
    assert fine.status_code == 200


def test_a_kept_alive_client_still_sending_reads_the_413(make_server: MakeServer) -> None:
    """The refused body is read and dropped before the 413, so a client still writing it
    on a kept-alive connection gets the answer, not a reset (encode/httpx#878)."""
    server = make_server(server={"max_body_bytes": 2048})
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 200_000}]}
    statuses = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(30):
            assert http.post(CHAT, json=HELLO, headers=auth()).status_code == 200
            statuses.append(http.post(CHAT, json=big, headers=auth()).status_code)
    assert statuses == [413] * 30


# --- limits ------------------------------------------------------------------------------------


def test_rate_limit_is_429_with_retry_after(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        first = http.post(CHAT, json=HELLO, headers=auth("slow-token"))
        second = http.post(CHAT, json=HELLO, headers=auth("slow-token"))
        other_key = http.post(CHAT, json=HELLO, headers=auth("chat-token"))
    assert first.status_code == 200
    assert other_key.status_code == 200
    assert second.status_code == 429
    wait = int(second.headers["retry-after"])
    assert 1 <= wait <= 60
    error = error_of(second)
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    with sdk(server, "slow-token") as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])


def test_unknown_model_does_not_spend_the_rate_limit(http: httpx.Client) -> None:
    typo = http.post(
        CHAT, json={**HELLO, "model": "openai:gpt-4o-mnii"}, headers=auth("slow-token")
    )
    real = http.post(CHAT, json=HELLO, headers=auth("slow-token"))
    assert (typo.status_code, real.status_code) == (404, 200)


# --- upstream failures -------------------------------------------------------------------------


def test_upstream_500_is_502(
    server: LiveServer, openai_env: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_env.queue(Behaviour.error(500, "the upstream broke"))
    with sdk(server) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502
    assert caught.value.type == "upstream_error"
    # Which upstream failed, and how; its body (a traceback, a path) is for the log only.
    assert "openai failed (HTTP 500)" in caught.value.message
    assert "the upstream broke" not in caught.value.message
    assert "the upstream broke" in caplog.text


def test_upstream_429_is_429_with_its_retry_after(
    http: httpx.Client, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour.error(429, "slow down", headers={"Retry-After": "7"}))
    response = http.post(CHAT, json=HELLO, headers=auth())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert error_of(response)["code"] == "upstream_rate_limited"


def test_upstream_401_is_not_the_callers_401(
    http: httpx.Client, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour.error(401, "Incorrect API key provided"))
    response = http.post(CHAT, json=HELLO, headers=auth())
    assert response.status_code == 502
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_timeout_is_504(
    make_server: MakeServer, openai_env: FakeOpenAIServer, stream: bool
) -> None:
    server = make_server(server={"upstream_timeout": 0.3})
    openai_env.queue(Behaviour(delay_headers=1.5))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post(CHAT, json={**HELLO, "stream": stream}, headers=auth())
    assert response.status_code == 504
    error = error_of(response)
    assert (error["type"], error["code"]) == ("timeout_error", "upstream_timeout")
    assert "server.upstream_timeout" in error["message"]


def test_stream_that_stalls_past_the_timeout_ends_with_an_error_event(
    make_server: MakeServer, openai_env: FakeOpenAIServer
) -> None:
    server = make_server(server={"upstream_timeout": 0.5})
    openai_env.queue(Behaviour(text="a b c d", stall_after=1, stall_seconds=2))
    pieces: list[str] = []
    with sdk(server) as client, pytest.raises(openai.APIError) as caught:
        read_stream(client, pieces)
    text = "".join(pieces)
    assert caught.value.body == {
        "message": caught.value.message,
        "type": "timeout_error",
        "code": "upstream_timeout",
        "param": None,
    }
    assert text == "a"


def test_cut_upstream_stream_ends_with_an_error_event(
    server: LiveServer, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="first second third fourth", cut_after=2))
    pieces: list[str] = []
    with sdk(server) as client, pytest.raises(openai.APIError) as caught:
        read_stream(client, pieces)
    text = "".join(pieces)
    assert text == "first second"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "upstream_error"


def test_stream_cut_before_its_first_chunk_is_502(
    http: httpx.Client, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="first second third", cut_after=0))
    response = http.post(CHAT, json={**HELLO, "stream": True}, headers=auth())
    assert response.status_code == 502
    error = error_of(response)
    assert (error["type"], error["code"]) == ("upstream_error", "upstream_error")


def test_answers_carry_a_request_id(http: httpx.Client) -> None:
    given = http.get("/healthz", headers={"X-Request-ID": "trace-123"})
    made = http.post(CHAT, json={}, headers=auth())
    assert given.headers["x-request-id"] == "trace-123"
    assert made.headers["x-request-id"].startswith("req_")
