"""``/v1/memories`` over HTTP: real stores (SQLite, one PostgreSQL run), the real embedder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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

from fluent_ai.config import Settings
from fluent_ai.embeddings.local import LocalEmbedder
from fluent_ai.memory.errors import StoreClosedError
from fluent_ai.server.memory_service import MemoryService, caller_namespace, open_memory_service
from fluent_ai.server.state import ServerState
from tests.memory.pg import pg_server_url, pg_url  # noqa: F401 - fixtures
from tests.server.rest_support import auth, build_app, client_for, principal, serve

ALICE, BOB, ADMIN = auth("alice-token"), auth("bob-token"), auth("admin-token")


@pytest.fixture(scope="module")
def warm_embedder() -> None:
    """Load the ONNX model once for the module (later embedders find it loaded)."""
    LocalEmbedder().embed_sync(["warm up"])


async def _service(location: str, warm_embedder: None) -> MemoryService:
    return await open_memory_service(Settings(memory_store=location, embedding_model="local"))


@pytest.fixture
async def service(tmp_path: Path, warm_embedder: None) -> AsyncIterator[MemoryService]:
    opened = await _service(str(tmp_path / "memory.db"), warm_embedder)
    yield opened
    await opened.aclose()


@pytest.fixture
async def client(service: MemoryService) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build_app(Settings(), {"memory": service})) as opened:
        yield opened


async def _add(
    client: httpx.AsyncClient, headers: dict[str, str], content: str, **fields: Any
) -> dict[str, Any]:
    answer = await client.post("/v1/memories", json={"content": content, **fields}, headers=headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


# -- the caller's namespace -----------------------------------------------------------------


def test_a_key_uses_its_limit_key_as_namespace() -> None:
    assert caller_namespace(principal("ci", "memory")) == "key:ci"
    assert caller_namespace(principal("ann@example.com", "memory", kind="jwt")) == (
        "jwt:ann@example.com"
    )


def test_a_subject_outside_the_namespace_rule_maps_to_a_stable_digest() -> None:
    odd = caller_namespace(principal("auth0|42", "memory", kind="jwt"))
    assert odd.startswith("jwt-sha256:")
    assert len(odd) == len("jwt-sha256:") + 32
    assert odd == caller_namespace(principal("auth0|42", "chat", kind="jwt"))
    assert odd != caller_namespace(principal("auth0|43", "memory", kind="jwt"))
    long = caller_namespace(principal("x" * 200, "memory"))
    assert long.startswith("key-sha256:")


# -- create, read, update, delete -------------------------------------------------------------


async def test_create_then_read_list_update_delete(client: httpx.AsyncClient) -> None:
    created = await _add(
        client,
        ALICE,
        "Ann drinks green tea",
        kind="episodic",
        importance=0.8,
        metadata={"src": "t"},
    )
    assert created["namespace"] == "key:alice"
    assert (created["kind"], created["importance"], created["metadata"]) == (
        "episodic",
        0.8,
        {"src": "t"},
    )
    assert "embedding" not in created
    memory_id = created["id"]

    got = await client.get(f"/v1/memories/{memory_id}", headers=ALICE)
    assert got.status_code == 200
    assert got.json()["content"] == "Ann drinks green tea"

    patched = await client.patch(
        f"/v1/memories/{memory_id}",
        json={"content": "Ann drinks black coffee", "importance": 0.3, "expires_at": None},
        headers=ALICE,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["content"], patched.json()["importance"]) == (
        "Ann drinks black coffee",
        0.3,
    )
    assert patched.json()["kind"] == "episodic"  # left out: kept

    found = await client.post("/v1/memories/search", json={"query": "coffee"}, headers=ALICE)
    assert [hit["memory"]["id"] for hit in found.json()["data"]][:1] == [memory_id]

    deleted = await client.delete(f"/v1/memories/{memory_id}", headers=ALICE)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": memory_id, "object": "memory.deleted", "deleted": True}
    _error(await client.get(f"/v1/memories/{memory_id}", headers=ALICE), 404)
    _error(await client.delete(f"/v1/memories/{memory_id}", headers=ALICE), 404)


async def test_an_empty_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    created = await _add(client, ALICE, "unchanged")
    answer = await client.patch(f"/v1/memories/{created['id']}", json={}, headers=ALICE)
    assert answer.status_code == 200
    assert answer.json() == created


async def test_expiry_is_given_as_seconds_or_a_time(client: httpx.AsyncClient) -> None:
    relative = await _add(client, ALICE, "scratch note", kind="working", expires_in=3600)
    absolute = await _add(client, ALICE, "until 2100", expires_at="2100-01-01T00:00:00Z")
    assert relative["expires_at"] is not None
    assert absolute["expires_at"].startswith("2100-01-01T00:00:00")
    error = _error(
        await client.post(
            "/v1/memories",
            json={"content": "both", "expires_in": 5, "expires_at": "2100-01-01T00:00:00Z"},
            headers=ALICE,
        ),
        400,
    )
    assert error["param"] == "expires_in"


# -- search -----------------------------------------------------------------------------------

FACTS = [
    ("Ann drinks green tea every morning", "semantic", {"topic": "food"}),
    ("Deploy the service with make release", "procedural", {"topic": "ops"}),
    ("Bob moved to Lisbon last spring", "episodic", {"topic": "people"}),
]


async def test_search_ranks_the_answer_first_with_scores(client: httpx.AsyncClient) -> None:
    ids = [
        (await _add(client, ALICE, text, kind=kind, metadata=meta))["id"]
        for text, kind, meta in FACTS
    ]
    answer = await client.post(
        "/v1/memories/search", json={"query": "what does Ann drink", "k": 3}, headers=ALICE
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["namespace"] == "key:alice"
    assert body["data"][0]["memory"]["id"] == ids[0]
    scores = [hit["score"] for hit in body["data"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert body["data"][0]["explain"] is None

    only_ops = await client.post(
        "/v1/memories/search",
        json={"query": "how do I deploy", "kinds": ["procedural"], "explain": True},
        headers=ALICE,
    )
    assert [hit["memory"]["id"] for hit in only_ops.json()["data"]] == [ids[1]]
    assert only_ops.json()["data"][0]["explain"] is not None

    by_meta = await client.post(
        "/v1/memories/search",
        json={"query": "where does Bob live", "filters": {"topic": "people"}},
        headers=ALICE,
    )
    assert [hit["memory"]["id"] for hit in by_meta.json()["data"]] == [ids[2]]
    huge = await client.post(  # past 64 bits: compared as a float, not a store error
        "/v1/memories/search",
        json={"query": "tea", "k": 3.0, "filters": {"n": 2**70}},
        headers=ALICE,
    )
    assert huge.status_code == 200, huge.text
    assert huge.json()["data"] == []


# -- pagination -------------------------------------------------------------------------------


async def test_list_pages_oldest_first_with_kind_filter(client: httpx.AsyncClient) -> None:
    ids = [(await _add(client, ALICE, f"fact number {n}"))["id"] for n in range(5)]
    await _add(client, ALICE, "an event", kind="episodic")
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = (
            await client.get(
                "/v1/memories",
                params={"kind": "semantic", "limit": 2, "offset": offset},
                headers=ALICE,
            )
        ).json()
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, offset)
        assert page["has_more"] is (offset + 2 < 5)
        seen += [memory["id"] for memory in page["data"]]
    assert seen == ids
    both = await client.get(
        "/v1/memories", params=[("kind", "semantic"), ("kind", "episodic")], headers=ALICE
    )
    assert both.json()["total"] == 6


# -- who may see what -------------------------------------------------------------------------


async def test_namespaces_of_two_keys_are_isolated(client: httpx.AsyncClient) -> None:
    mine = await _add(client, ALICE, "Alice's secret: the door code is 1234")
    _error(await client.get(f"/v1/memories/{mine['id']}", headers=BOB), 404)
    _error(
        await client.patch(f"/v1/memories/{mine['id']}", json={"importance": 1}, headers=BOB), 404
    )
    _error(await client.delete(f"/v1/memories/{mine['id']}", headers=BOB), 404)
    assert (await client.get("/v1/memories", headers=BOB)).json()["data"] == []
    found = await client.post("/v1/memories/search", json={"query": "door code"}, headers=BOB)
    assert found.json()["data"] == []
    still = await client.get(f"/v1/memories/{mine['id']}", headers=ALICE)
    assert still.status_code == 200
    assert still.json()["importance"] == 0.5


async def test_admin_reaches_another_namespace_others_get_403(client: httpx.AsyncClient) -> None:
    mine = await _add(client, ALICE, "visible to admins")
    other = {"namespace": "key:alice"}
    as_admin = await client.get(f"/v1/memories/{mine['id']}", params=other, headers=ADMIN)
    assert as_admin.status_code == 200
    assert as_admin.json()["namespace"] == "key:alice"
    listed = await client.get("/v1/memories", params=other, headers=ADMIN)
    assert [m["id"] for m in listed.json()["data"]] == [mine["id"]]
    written = await client.post(
        "/v1/memories", params={"namespace": "agent-helper"}, json={"content": "x"}, headers=ADMIN
    )
    assert written.json()["namespace"] == "agent-helper"

    error = _error(await client.get("/v1/memories", params=other, headers=BOB), 403)
    assert error["code"] == "insufficient_scope"
    own = await client.get("/v1/memories", params={"namespace": "key:alice"}, headers=ALICE)
    assert own.status_code == 200  # naming one's own namespace needs nothing more
    bad = _error(
        await client.get("/v1/memories", params={"namespace": "no spaces"}, headers=ADMIN), 400
    )
    assert bad["param"] == "namespace"


async def test_scope_and_credentials_are_enforced(client: httpx.AsyncClient) -> None:
    _error(await client.get("/v1/memories"), 401)
    _error(await client.get("/v1/memories", headers=auth("wrong")), 401)
    for token in ("chat-token", "embed-token"):
        error = _error(await client.get("/v1/memories", headers=auth(token)), 403)
        assert "'memory' scope" in error["message"]
    _error(
        await client.post("/v1/memories", json={"content": "x"}, headers=auth("chat-token")), 403
    )


async def test_a_jwt_subject_with_odd_characters_gets_its_own_namespace(
    client: httpx.AsyncClient,
) -> None:
    created = await _add(client, auth("jwt-token"), "from a JWT caller")
    assert created["namespace"] == caller_namespace(principal("auth0|42", "memory", kind="jwt"))
    _error(await client.get(f"/v1/memories/{created['id']}", headers=ALICE), 404)


# -- bad input: 400 naming the field, nothing stored -------------------------------------------

BAD_BODIES: list[tuple[dict[str, Any] | bytes, str]] = [
    ({"content": "x", "importance": 2}, "importance"),
    ({"content": "x", "kind": "dream"}, "kind"),
    ({"content": "   "}, "content"),
    ({"content": "nul \u0000 inside"}, "content"),
    (b'{"content": "lone \\ud800 surrogate"}', "content"),
    ({"content": "x", "metadata": {"k": "v\u0000"}}, "metadata"),
    ({"content": "x", "metadata": {"k": "v" * 70_000}}, "metadata"),
    ({"content": "x", "colour": "red"}, "colour"),
    ({"content": "x", "expires_in": -1}, "expires_in"),
    ({"content": "x", "expires_at": 1700000000}, "expires_at"),
    ({"content": "x", "expires_at": "2100-01-01T00:00:00"}, "expires_at"),
    ({"content": "x", "expires_at": "0001-01-01T00:00:00+14:00"}, "expires_at"),
    ({"content": "x", "importance": "0.5"}, "importance"),
    ({}, "content"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_a_bad_create_is_a_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any] | bytes, field: str
) -> None:
    if isinstance(body, bytes):  # JSON text a Python string cannot be encoded as
        headers = {**ALICE, "Content-Type": "application/json"}
        answer = await client.post("/v1/memories", content=body, headers=headers)
    else:
        answer = await client.post("/v1/memories", json=body, headers=ALICE)
    error = _error(answer, 400)
    assert error["param"] == field
    assert error["message"].startswith(field)
    assert error["type"] == "invalid_request_error"
    assert (await client.get("/v1/memories", headers=ALICE)).json()["total"] == 0


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/v1/memories",
        content=b'{"content": "x"',
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert _error(answer, 400)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"kind": "x"}, "kind.0"),
    ],
)
async def test_bad_list_parameters_are_400s(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    assert (
        _error(await client.get("/v1/memories", params=params, headers=ALICE), 400)["param"]
        == field
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "tea", "k": 0}, "k"),
        ({"query": ""}, "query"),
        ({"query": "tea", "min_score": 1.5}, "min_score"),
        ({"query": "tea", "kinds": []}, "kinds"),
        ({"query": "tea", "filters": {"n": "nul\u0000"}}, "filters"),
        ({"query": "tea", "filters": {"n": [1]}}, "filters.n"),
        ({"query": "tea", "filters": {'bad"key': 1}}, "filters"),
        ({"query": "tea", "k": "5"}, "k"),
        ({"query": "tea", "k": 2.5}, "k"),
        ({"query": "tea", "explain": 0}, "explain"),
    ],
)
async def test_bad_search_bodies_are_400s(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    error = _error(await client.post("/v1/memories/search", json=body, headers=ALICE), 400)
    assert error["param"] == field


async def test_a_failed_update_leaves_the_memory_as_it_was(client: httpx.AsyncClient) -> None:
    created = await _add(client, ALICE, "keep me", metadata={"v": 1})
    url = f"/v1/memories/{created['id']}"
    for body, field in (
        ({"importance": -0.1}, "importance"),
        ({"content": None}, "content"),
        ({"kind": None}, "kind"),
        ({"content": ""}, "content"),
        ({"namespace": "key:bob"}, "namespace"),
    ):
        assert _error(await client.patch(url, json=body, headers=ALICE), 400)["param"] == field
    assert (await client.get(url, headers=ALICE)).json() == created


async def test_unknown_and_malformed_ids_are_404s(client: httpx.AsyncClient) -> None:
    for memory_id in ("0" * 32, "has%20space", "x" * 200, "%00"):
        error = _error(await client.get(f"/v1/memories/{memory_id}", headers=ALICE), 404)
        assert error["code"] == "memory_not_found"
        _error(
            await client.patch(f"/v1/memories/{memory_id}", json={"importance": 1}, headers=ALICE),
            404,
        )


async def test_concurrent_writes_are_all_kept(client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(
        *(
            client.post("/v1/memories", json={"content": f"note {n}"}, headers=ALICE)
            for n in range(12)
        )
    )
    assert {answer.status_code for answer in answers} == {201}
    listed = (await client.get("/v1/memories", params={"limit": 500}, headers=ALICE)).json()
    assert sorted(m["content"] for m in listed["data"]) == sorted(f"note {n}" for n in range(12))


async def test_requests_do_not_block_the_event_loop(client: httpx.AsyncClient) -> None:
    await _add(client, ALICE, "warm the manager and the embedding cache")
    with blockbuster_ctx("fluent_ai"):
        created = await _add(client, ALICE, "Ann drinks green tea", metadata={"n": 1})
        found = await client.post("/v1/memories/search", json={"query": "tea"}, headers=ALICE)
        assert found.json()["data"][0]["memory"]["id"] == created["id"]
        url = f"/v1/memories/{created['id']}"
        assert (await client.patch(url, json={"content": "tea!"}, headers=ALICE)).status_code == 200
        assert (await client.get("/v1/memories", headers=ALICE)).json()["total"] == 2
        assert (await client.delete(url, headers=ALICE)).status_code == 200


# -- the service ------------------------------------------------------------------------------


async def test_managers_share_the_store_and_embedder(service: MemoryService) -> None:
    one, two = service.manager("key:a"), service.manager("key:b")
    assert one is service.manager("key:a")
    assert one is not two
    assert one.store is two.store is service.store
    assert one.embedder is two.embedder is service.embedder


async def test_requests_count_against_the_callers_rate_limit(client: httpx.AsyncClient) -> None:
    slow = auth("slow-token")  # rpm=2
    for _ in range(2):
        assert (await client.get("/v1/memories", headers=slow)).status_code == 200
    limited = await client.post("/v1/memories", json={"content": "x"}, headers=slow)
    assert _error(limited, 429)["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1
    assert (await client.get("/v1/memories", headers=ALICE)).json()["total"] == 0


async def test_without_a_memory_service_the_endpoints_answer_503() -> None:
    async with client_for(build_app(Settings(), {})) as client:
        assert _error(await client.get("/v1/memories", headers=ALICE), 503)["code"] == (
            "memory_unavailable"
        )


async def test_aclose_closes_the_store(tmp_path: Path, warm_embedder: None) -> None:
    opened = await _service(str(tmp_path / "closing.db"), warm_embedder)
    await opened.manager("key:a").remember("before close")
    await opened.aclose()
    with pytest.raises(StoreClosedError):
        await opened.store.count("key:a")


def test_the_openapi_document_describes_real_statuses() -> None:
    document = build_app(Settings(), {}).openapi()
    memories = document["paths"]["/v1/memories"]
    assert set(memories["post"]["responses"]) == {"201", "400", "401", "403", "429", "default"}
    assert memories["post"]["security"] == [{"bearerAuth": []}]
    one = document["paths"]["/v1/memories/{memory_id}"]
    assert set(one["delete"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "429",
        "default",
    }
    for path in document["paths"].values():
        for operation in path.values():
            assert "422" not in operation["responses"]
    assert "MemoryOut" in document["components"]["schemas"]


# -- the OpenAPI document, checked by schemathesis on a live server -------------------------------

#: Checked: no 5xx, only documented statuses and content types, bodies that fit their
#: schemas. Not checked: that every schema-valid request is accepted (64 kB of metadata
#: is a rule JSON Schema cannot spell), that unknown query parameters are refused (they
#: are ignored, as HTTP APIs do), and ``Allow`` on a 405 (Starlette lists only the
#: methods of the first route matching the path: an app-wide matter).
EXCLUDED_CHECKS = [
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
    allow_header_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_answers_follow_the_document(
    tmp_path: Path, warm_embedder: None, mode: GenerationMode
) -> None:
    settings = Settings(memory_store=str(tmp_path / "memory.db"))

    async def memory(state: ServerState) -> MemoryService:
        return await open_memory_service(state.settings)

    with serve(build_app(settings, {}, {"memory": memory})) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        for path, methods in schema.items():
            if not path.startswith("/v1/memories"):
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


# -- PostgreSQL -------------------------------------------------------------------------------


async def test_the_endpoints_on_postgresql(pg_url: str, warm_embedder: None) -> None:  # noqa: F811
    opened = await _service(pg_url, warm_embedder)
    try:
        async with client_for(build_app(Settings(), {"memory": opened})) as client:
            tea = await _add(client, ALICE, "Ann drinks green tea every morning")
            await _add(client, ALICE, "Deploy with make release", kind="procedural")
            await _add(client, BOB, "Bob's tea is oolong")
            found = await client.post(
                "/v1/memories/search", json={"query": "what does Ann drink"}, headers=ALICE
            )
            hits = found.json()["data"]
            assert hits[0]["memory"]["id"] == tea["id"]
            assert all(hit["memory"]["namespace"] == "key:alice" for hit in hits)
            _error(await client.get(f"/v1/memories/{tea['id']}", headers=BOB), 404)
            patched = await client.patch(
                f"/v1/memories/{tea['id']}", json={"metadata": {"n": 1}}, headers=ALICE
            )
            assert patched.json()["metadata"] == {"n": 1}
            page = (await client.get("/v1/memories", params={"limit": 1}, headers=ALICE)).json()
            assert (page["total"], page["has_more"], len(page["data"])) == (2, True, 1)
            assert (
                await client.delete(f"/v1/memories/{tea['id']}", headers=ALICE)
            ).status_code == 200
    finally:
        await opened.aclose()
