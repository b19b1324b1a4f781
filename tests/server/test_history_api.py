"""``/v1/conversations`` over HTTP: real chat stores (SQLite, one PostgreSQL run)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from blockbuster import blockbuster_ctx
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from schemathesis import Case, GenerationMode, checks
from schemathesis.specs.openapi.checks import allow_header_conformance

from fluent_ai.chat.export import CONTENT_SECURITY_POLICY, from_json
from fluent_ai.chat.open import open_chat_store
from fluent_ai.chat.store import ChatStore, ChatStoreClosedError
from fluent_ai.chat.types import ChatMessage, ConversationRecord
from fluent_ai.config import Settings
from fluent_ai.embeddings.local import LocalEmbedder
from fluent_ai.server.history_service import HistoryService, open_history_service
from fluent_ai.server.state import ServerState
from fluent_ai.types import Message
from tests.memory.pg import pg_server_url, pg_url  # noqa: F401 - fixtures
from tests.server.rest_support import auth, build_app, client_for, serve

READER, ADMIN = auth("chat-token"), auth("admin-token")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


@dataclass
class History:
    """The ids of what :func:`_fill` stored."""

    tea: str
    deploy: str
    hostile: str
    tea_messages: list[str]
    alt_answer: str


def _message(conversation_id: str, text: str, minutes: int, *, user: bool = True) -> ChatMessage:
    body = Message.user(text) if user else Message.assistant(text)
    return ChatMessage(
        conversation_id=conversation_id, message=body, created_at=T0 + timedelta(minutes=minutes)
    )


async def _fill(store: ChatStore) -> History:
    """Three conversations; the tea one has a second branch."""
    tea = await store.create_conversation(
        ConversationRecord(title="Tea talk", session="s1", tags=["drinks"])
    )
    stored = await store.append(
        tea.id,
        None,
        [
            _message(tea.id, "Ann drinks green tea in Lisbon", 0),
            _message(tea.id, "Green tea is a fine choice", 1, user=False),
        ],
    )
    await store.fork(tea.id, stored[0].id, "alt")
    [alt] = await store.append(tea.id, "alt", [_message(tea.id, "Try oolong tea", 2, user=False)])
    deploy = await store.create_conversation(
        ConversationRecord(title="Deploy", session="s2", tags=["ops"])
    )
    await store.append(
        deploy.id,
        None,
        [
            _message(deploy.id, "How do I deploy the service?", 10),
            _message(deploy.id, "Run make release from the repository root", 11, user=False),
        ],
    )
    hostile = await store.create_conversation(ConversationRecord(title=f"hostile {SCRIPT}"))
    await store.append(hostile.id, None, [_message(hostile.id, f"{FORMULA} {SCRIPT}", 20)])
    return History(tea.id, deploy.id, hostile.id, [m.id for m in stored], alt.id)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[HistoryService]:
    opened = await open_history_service(
        Settings(history_store=str(tmp_path / "history.db")), semantic=False
    )
    yield opened
    await opened.aclose()


@pytest.fixture
async def history(service: HistoryService) -> History:
    return await _fill(service.store)


@pytest.fixture
async def client(service: HistoryService) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_app(Settings(), {"history": service})) as opened:
        yield opened


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


# -- listing ------------------------------------------------------------------------------------


async def test_list_pages_and_filters(client: httpx.AsyncClient, history: History) -> None:
    everything = (await client.get("/v1/conversations", headers=READER)).json()
    assert [c["id"] for c in everything["data"]] == [history.hostile, history.deploy, history.tea]
    assert everything["has_more"] is False
    first = (await client.get("/v1/conversations", params={"limit": 2}, headers=READER)).json()
    rest = (
        await client.get("/v1/conversations", params={"limit": 2, "offset": 2}, headers=READER)
    ).json()
    assert first["has_more"] is True
    assert rest["has_more"] is False
    assert [c["id"] for c in first["data"] + rest["data"]] == [c["id"] for c in everything["data"]]
    by_session = await client.get("/v1/conversations", params={"session": "s2"}, headers=READER)
    assert [c["id"] for c in by_session.json()["data"]] == [history.deploy]
    by_tag = await client.get("/v1/conversations", params={"tag": "DRINKS"}, headers=READER)
    assert [c["title"] for c in by_tag.json()["data"]] == ["Tea talk"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"session": "has space"}, "session"),
        ({"tag": "a,b"}, "tag"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-03-01T09:00:00"}, "since"),  # no zone
        ({"until": "1700000000"}, "until"),  # a Unix time is not RFC 3339
        ({"until": "9999-12-31T23:00:00-14:00"}, "until"),  # past year 9999 in UTC
    ],
)
async def test_bad_list_parameters_are_400s(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    error = _error(await client.get("/v1/conversations", params=params, headers=READER), 400)
    assert error["param"] == field


# -- one conversation ---------------------------------------------------------------------------


async def test_get_returns_the_current_branch_or_a_named_one(
    client: httpx.AsyncClient, history: History
) -> None:
    detail = (await client.get(f"/v1/conversations/{history.tea}", headers=READER)).json()
    assert detail["conversation"]["title"] == "Tea talk"
    assert detail["branch"] == "main"
    assert [b["name"] for b in detail["branches"]] == ["main", "alt"]
    assert [m["id"] for m in detail["messages"]] == history.tea_messages
    first = detail["messages"][0]
    assert (first["role"], first["content"]) == ("user", "Ann drinks green tea in Lisbon")
    assert first["message"]["role"] == "user"
    alt = await client.get(
        f"/v1/conversations/{history.tea}", params={"branch": "alt"}, headers=READER
    )
    assert [m["id"] for m in alt.json()["messages"]] == [
        history.tea_messages[0],
        history.alt_answer,
    ]
    missing = await client.get(
        f"/v1/conversations/{history.tea}", params={"branch": "nope"}, headers=READER
    )
    assert _error(missing, 404)["code"] == "branch_not_found"


async def test_unknown_and_malformed_ids_are_404s(
    client: httpx.AsyncClient, history: History
) -> None:
    for conversation_id in ("0" * 32, "has%20space", "x" * 200, "%00"):
        for path in ("", "/export"):
            answer = await client.get(f"/v1/conversations/{conversation_id}{path}", headers=READER)
            assert _error(answer, 404)["code"] == "conversation_not_found"
        _error(await client.delete(f"/v1/conversations/{conversation_id}", headers=ADMIN), 404)


async def test_delete_needs_admin_and_removes_only_that_conversation(
    client: httpx.AsyncClient, history: History
) -> None:
    url = f"/v1/conversations/{history.deploy}"
    assert _error(await client.delete(url, headers=READER), 403)["code"] == "insufficient_scope"
    assert (await client.get(url, headers=READER)).status_code == 200  # refused: nothing lost
    deleted = await client.delete(url, headers=ADMIN)
    assert deleted.json() == {
        "id": history.deploy,
        "object": "conversation.deleted",
        "deleted": True,
    }
    _error(await client.get(url, headers=READER), 404)
    _error(await client.delete(url, headers=ADMIN), 404)
    left = (await client.get("/v1/conversations", headers=READER)).json()["data"]
    assert [c["id"] for c in left] == [history.hostile, history.tea]
    found = await client.get("/v1/conversations/search", params={"q": "deploy"}, headers=READER)
    assert found.json()["data"] == []


async def test_scopes_and_credentials(client: httpx.AsyncClient, history: History) -> None:
    _error(await client.get("/v1/conversations"), 401)
    _error(await client.get("/v1/conversations", headers=auth("nope")), 401)
    for path in ("", f"/{history.tea}", f"/{history.tea}/export", "/search?q=tea"):
        _error(await client.get(f"/v1/conversations{path}", headers=auth("embed-token")), 403)
    memory_only = auth("jwt-token")  # memory scope, not chat
    _error(await client.get("/v1/conversations", headers=memory_only), 403)
    assert (await client.get("/v1/conversations", headers=ADMIN)).status_code == 200


async def test_requests_count_against_the_callers_rate_limit(client: httpx.AsyncClient) -> None:
    slow = auth("slow-token")  # rpm=2
    for _ in range(2):
        assert (await client.get("/v1/conversations", headers=slow)).status_code == 200
    limited = await client.post("/v1/conversations/search", json={"q": "tea"}, headers=slow)
    assert _error(limited, 429)["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1


async def test_requests_do_not_block_the_event_loop(
    client: httpx.AsyncClient, history: History
) -> None:
    with blockbuster_ctx("fluent_ai"):
        assert (await client.get("/v1/conversations", headers=READER)).status_code == 200
        found = await client.post("/v1/conversations/search", json={"q": "tea~"}, headers=READER)
        assert found.json()["data"]
        url = f"/v1/conversations/{history.hostile}"
        assert (await client.get(url, headers=READER)).status_code == 200
        for form in ("json", "html", "csv"):
            exported = await client.get(f"{url}/export", params={"format": form}, headers=READER)
            assert exported.status_code == 200
        assert (await client.delete(url, headers=ADMIN)).status_code == 200


# -- export -------------------------------------------------------------------------------------


async def test_every_export_format_with_its_content_type(
    client: httpx.AsyncClient, history: History
) -> None:
    url = f"/v1/conversations/{history.hostile}/export"
    as_json = await client.get(url, headers=READER)
    assert as_json.headers["content-type"] == "application/json"
    [dump] = from_json(as_json.content)
    assert dump.record.id == history.hostile
    assert as_json.headers["content-disposition"] == (
        f'attachment; filename="conversation-{history.hostile}.json"'
    )

    html = await client.get(url, params={"format": "html"}, headers=READER)
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert html.headers["x-content-type-options"] == "nosniff"
    assert SCRIPT not in html.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text

    table = await client.get(url, params={"format": "csv"}, headers=READER)
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert rows[0]["text"].startswith("'=cmd")  # the formula guard

    markdown = await client.get(url, params={"format": "markdown"}, headers=READER)
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    text = await client.get(url, params={"format": "text"}, headers=READER)
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert FORMULA in text.text
    assert "hostile" in markdown.text


async def test_export_all_branches_and_a_bad_format(
    client: httpx.AsyncClient, history: History
) -> None:
    url = f"/v1/conversations/{history.tea}/export"
    current = await client.get(url, params={"format": "text"}, headers=READER)
    every = await client.get(url, params={"format": "text", "all_branches": "true"}, headers=READER)
    assert "oolong" not in current.text
    assert "oolong" in every.text
    error = _error(await client.get(url, params={"format": "pdf"}, headers=READER), 400)
    assert error["param"] == "format"


# -- search -------------------------------------------------------------------------------------


async def test_search_by_get_and_post(client: httpx.AsyncClient, history: History) -> None:
    answer = await client.get(
        "/v1/conversations/search", params={"q": "lisbon", "limit": 5}, headers=READER
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    [hit] = page["data"]
    assert (hit["conversation_id"], hit["message_id"]) == (history.tea, history.tea_messages[0])
    assert (hit["role"], hit["session"], hit["tags"], hit["rank"]) == ("user", "s1", ["drinks"], 1)
    assert "[Lisbon]" in hit["snippet"]
    assert "<mark>Lisbon</mark>" in hit["highlight"]
    assert hit["score"] > 0
    assert page["semantic"] is False
    posted = await client.post(
        "/v1/conversations/search", json={"q": "lisbon", "limit": 5}, headers=READER
    )
    assert posted.json() == page


async def test_search_filters_and_pages(client: httpx.AsyncClient, history: History) -> None:
    async def ids(**params: Any) -> list[str]:
        answer = await client.post("/v1/conversations/search", json=params, headers=READER)
        assert answer.status_code == 200, answer.text
        return [hit["message_id"] for hit in answer.json()["data"]]

    every = await ids(q="tea")
    assert len(every) == 3
    assert await ids(q="tea", role=["assistant"]) == [
        i for i in every if i != history.tea_messages[0]
    ]
    assert await ids(q="tea OR deploy", session="s2") != []
    assert await ids(q="tea", tag=["ops"]) == []
    assert await ids(q="tea", since="2025-03-01T10:02:00+01:00") == [history.alt_answer]
    assert await ids(q="tea", until="2025-03-01T09:01:00Z") == [history.tea_messages[0]]
    first = await client.post(
        "/v1/conversations/search", json={"q": "tea", "limit": 2}, headers=READER
    )
    second = await client.post(
        "/v1/conversations/search", json={"q": "tea", "limit": 2, "offset": 2}, headers=READER
    )
    assert first.json()["has_more"] is True
    assert second.json()["has_more"] is False
    paged = [h["message_id"] for h in first.json()["data"] + second.json()["data"]]
    assert paged == every


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"q": "tea AND ("}, "q"),
        ({"q": "NOT tea"}, "q"),
        ({"q": " "}, "q"),
        ({"q": "tea", "role": ["robot"]}, "role.0"),
        ({"q": "tea", "limit": 101}, "limit"),
        ({"q": "tea", "session": "bad session"}, "session"),
        ({"q": "tea", "semantic": True}, "semantic"),
        ({"q": "tea", "extra": 1}, "extra"),
        ({"q": "tea", "limit": "5"}, "limit"),
        ({"q": "tea", "semantic": 0}, "semantic"),
        ({}, "q"),
    ],
)
async def test_bad_searches_are_400s_naming_the_field(
    client: httpx.AsyncClient, history: History, body: dict[str, Any], field: str
) -> None:
    answer = await client.post("/v1/conversations/search", json=body, headers=READER)
    error = _error(answer, 400)
    assert error["param"] == field
    assert error["message"].startswith(field)


async def test_a_query_syntax_error_points_at_the_column(
    client: httpx.AsyncClient, history: History
) -> None:
    answer = await client.get("/v1/conversations/search", params={"q": "tea AND ("}, headers=READER)
    assert "column" in _error(answer, 400)["message"]


# -- semantic search with the real embedder -----------------------------------------------------


async def test_semantic_search_after_vectors_are_indexed(tmp_path: Path) -> None:
    embedder = LocalEmbedder()
    opened = await open_history_service(
        Settings(history_store=str(tmp_path / "semantic.db")), embedder=embedder
    )
    try:
        history = await _fill(opened.store)
        assert await opened.search.backfill_vectors() == 6
        async with client_for(build_app(Settings(), {"history": opened})) as client:
            answer = await client.get(
                "/v1/conversations/search", params={"q": "how to ship the code"}, headers=READER
            )
        page = answer.json()
        assert page["semantic"] is True
        assert page["data"][0]["conversation_id"] == history.deploy
        assert page["data"][0]["score_parts"]["vector_similarity"] is not None
    finally:
        await opened.aclose()


# -- the service and the document ---------------------------------------------------------------


async def test_without_a_history_service_the_endpoints_answer_503() -> None:
    async with client_for(build_app(Settings(), {})) as client:
        answer = await client.get("/v1/conversations", headers=READER)
        assert _error(answer, 503)["code"] == "history_unavailable"


async def test_aclose_closes_the_store(tmp_path: Path) -> None:
    store = open_chat_store(tmp_path / "closing.db")
    opened = await open_history_service(Settings(), store=store, semantic=False)
    await opened.aclose()
    with pytest.raises(ChatStoreClosedError):
        await store.list_conversations()


def test_the_openapi_document_lists_export_media_types() -> None:
    document = build_app(Settings(), {}).openapi()
    export = document["paths"]["/v1/conversations/{conversation_id}/export"]["get"]
    assert set(export["responses"]["200"]["content"]) == {
        "application/json",
        "text/markdown; charset=utf-8",
        "text/plain; charset=utf-8",
        "text/csv; charset=utf-8",
        "text/html; charset=utf-8",
    }
    search = document["paths"]["/v1/conversations/search"]
    assert set(search) == {"get", "post"}
    delete = document["paths"]["/v1/conversations/{conversation_id}"]["delete"]
    assert set(delete["responses"]) == {"200", "401", "403", "404", "429", "default"}
    assert delete["security"] == [{"bearerAuth": []}]


# -- the OpenAPI document, checked by schemathesis on a live server -------------------------------

#: Checked: no 5xx, only documented statuses and content types, bodies that fit their
#: schemas. Not checked: that every schema-valid request is accepted (a query the query
#: language cannot parse is a schema-valid string and a 400), that unknown query
#: parameters are refused (they are ignored), and ``Allow`` on a 405 (Starlette lists only
#: the methods of the first route matching the path: an app-wide matter).
EXCLUDED_CHECKS = [
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
    allow_header_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_answers_follow_the_document(tmp_path: Path, mode: GenerationMode) -> None:
    settings = Settings(history_store=str(tmp_path / "history.db"))

    async def history(state: ServerState) -> HistoryService:
        opened = await open_history_service(state.settings, semantic=False)
        await _fill(opened.store)
        return opened

    with serve(build_app(settings, {}, {"history": history})) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        for path, methods in schema.items():
            if not path.startswith("/v1/conversations"):
                continue
            for operation in methods.values():

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings_(
                    max_examples=8,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def check(case: Case[Any]) -> None:
                    case.call_and_validate(
                        base_url=url, headers=ADMIN, excluded_checks=EXCLUDED_CHECKS
                    )

                check()


# -- PostgreSQL ---------------------------------------------------------------------------------


async def test_the_endpoints_on_postgresql(pg_url: str) -> None:  # noqa: F811
    opened = await open_history_service(Settings(history_store=pg_url), semantic=False)
    try:
        history = await _fill(opened.store)
        async with client_for(build_app(Settings(), {"history": opened})) as client:
            listed = (await client.get("/v1/conversations", headers=READER)).json()
            assert len(listed["data"]) == 3
            found = await client.get(
                "/v1/conversations/search", params={"q": "lisbon"}, headers=READER
            )
            assert [h["message_id"] for h in found.json()["data"]] == [history.tea_messages[0]]
            bad = await client.get(
                "/v1/conversations/search", params={"q": "tea AND ("}, headers=READER
            )
            assert _error(bad, 400)["param"] == "q"
            url = f"/v1/conversations/{history.tea}"
            assert [
                m["id"] for m in (await client.get(url, headers=READER)).json()["messages"]
            ] == (history.tea_messages)
            exported = await client.get(f"{url}/export", params={"format": "csv"}, headers=READER)
            assert exported.headers["content-type"] == "text/csv; charset=utf-8"
            assert (await client.delete(url, headers=ADMIN)).status_code == 200
            _error(await client.get(url, headers=READER), 404)
    finally:
        await opened.aclose()
