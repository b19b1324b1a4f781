"""``fluent-ai history``: the real console script on a history stored through the store API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fluent_ai.chat.search import HistorySearch
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.chat.types import ConversationRecord, HistoryFilter
from fluent_ai.types import Role
from tests.chat.contract_support import msg
from tests.chat.search_cases import corpus
from tests.cli.clitools import MODEL, one_error_line, run_cli
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer

SCRIPT = '<script>alert("tea")</script>'


def seed(env: dict[str, str]) -> Path:
    """The labelled corpus plus a conversation holding markup, in the child's home."""
    path = Path(env["FLUENT_AI_HOME"]) / "history.db"

    async def write() -> None:
        async with SqliteChatStore(path) as store:
            await corpus(store)
            await store.create_conversation(ConversationRecord(id="evil", title="<b>bold</b>"))
            await store.append("evil", None, [msg("evil", f"try {SCRIPT} now", id="e1", n=40)])

    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(write())
    return path


def api_ids(path: Path, query: str, spec: HistoryFilter | None = None) -> list[str]:
    async def run() -> list[str]:
        async with SqliteChatStore(path) as store:
            page = await HistorySearch(store).search(query, spec)
            return [hit.message.id for hit in page.hits]

    return asyncio.run(run())


def search_json(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    done = run_cli(["history", "search", *args, "--json"], env)
    assert done.returncode == 0, done.stderr
    hits: list[dict[str, object]] = json.loads(done.stdout)
    return hits


def test_search_json_phrase_boolean_and_filters_in_rank_order(bare_env: dict[str, str]) -> None:
    path = seed(bare_env)
    phrase = search_json(bare_env, '"green tea"')
    assert [hit["message_id"] for hit in phrase] == api_ids(path, '"green tea"')
    assert {hit["message_id"] for hit in phrase} == {"t1", "t2"}
    assert [hit["rank"] for hit in phrase] == [1, 2]
    scores = [float(str(hit["score"])) for hit in phrase]
    assert scores == sorted(scores, reverse=True)
    first = phrase[0]
    assert set(first) >= {"conversation_id", "message_id", "role", "model", "created_at"}
    assert "[green tea]" in str(first["snippet"])
    assert first["conversation_id"] == "trip"
    assert first["text"]
    assert [hit["message_id"] for hit in search_json(bare_env, "tea NOT green")] == ["e1", "k2"]
    filtered = search_json(
        bare_env,
        "tea OR lisbon",
        "--role",
        "assistant",
        "--session",
        "travel",
        "--since",
        "2020-01-01",
    )
    spec = HistoryFilter(roles=frozenset({Role.ASSISTANT}), session="travel")
    assert [hit["message_id"] for hit in filtered] == api_ids(path, "tea OR lisbon", spec)
    assert {hit["message_id"] for hit in filtered} == {"t2", "k2"}
    assert search_json(bare_env, "tea", "--since", "1d") == []  # the corpus is from 2025
    page = search_json(bare_env, "tea OR lisbon", "--limit", "2", "--offset", "1")
    assert [hit["rank"] for hit in page] == [2, 3]
    text = run_cli(["history", "search", "tram"], bare_env)
    assert "the [tram] ride in lisbon was fun" in text.stdout


def test_conversations_made_by_chat_are_found(
    fake_openai: FakeOpenAIServer, server_env: dict[str, str]
) -> None:
    fake_openai.queue(
        Behaviour(text="Try the green tea houses by the river."),
        Behaviour(text="Porto has excellent coffee."),
    )
    for question in ("Where can I drink tea in Lisbon?", "And coffee in Porto?"):
        done = run_cli(["chat", "-m", MODEL, "--session", "trips", question], server_env)
        assert done.returncode == 0, done.stderr
    found = search_json(server_env, '"green tea"')
    assert [(hit["role"], hit["model"]) for hit in found] == [("assistant", MODEL)]
    either = search_json(server_env, "(tea OR coffee) -porto", "--role", "user")
    assert [hit["text"] for hit in either] == ["Where can I drink tea in Lisbon?"]
    assert search_json(server_env, "porto", "--session", "elsewhere") == []
    assert len(search_json(server_env, "porto", "--session", "trips")) == 2


def test_json_export_reimports_identically_and_html_is_inert(
    bare_env: dict[str, str], tmp_path: Path
) -> None:
    seed(bare_env)
    first, second = tmp_path / "one.json", tmp_path / "two.json"
    done = run_cli(["history", "export", "--all", "--format", "json", "-o", str(first)], bare_env)
    assert done.returncode == 0, done.stderr
    fresh = dict(bare_env, FLUENT_AI_HOME=str(tmp_path / "fresh-home"))
    imported = run_cli(["history", "import", str(first)], fresh)
    assert imported.returncode == 0, imported.stderr
    assert "imported 4 conversations (10 messages)" in imported.stdout
    assert (
        run_cli(["history", "export", "--all", "-f", "json", "-o", str(second)], fresh).returncode
        == 0
    )
    assert first.read_bytes() == second.read_bytes()
    html = run_cli(["history", "export", "--cid", "evil", "--format", "html"], bare_env)
    assert html.returncode == 0, html.stderr
    assert "<script" not in html.stdout.lower()
    assert "&lt;script&gt;" in html.stdout
    assert "&lt;b&gt;bold" in html.stdout
    again = run_cli(["history", "import", str(first)], fresh)
    assert again.returncode == 1
    assert "already stored" in one_error_line(again.stderr)
    skipped = run_cli(["history", "import", str(first), "--skip-existing"], fresh)
    assert "skipped 4 already stored" in skipped.stdout


def test_an_import_file_is_all_or_nothing(bare_env: dict[str, str], tmp_path: Path) -> None:
    seed(bare_env)
    both = tmp_path / "both.json"
    args = ["history", "export", "--cid", "trip", "--cid", "code", "-f", "json", "-o", str(both)]
    assert run_cli(args, bare_env).returncode == 0
    fresh = dict(bare_env, FLUENT_AI_HOME=str(tmp_path / "fresh-home"))
    one = tmp_path / "one.json"
    code_only = ["history", "export", "--cid", "code", "-f", "json", "-o", str(one)]
    assert run_cli(code_only, bare_env).returncode == 0
    assert run_cli(["history", "import", str(one)], fresh).returncode == 0
    # "code" is there already: nothing of the file goes in, "trip" included
    failed = run_cli(["history", "import", str(both)], fresh)
    assert failed.returncode == 1
    listed = json.loads(run_cli(["history", "list", "--json"], fresh).stdout)
    assert [record["id"] for record in listed] == ["code"]


def test_a_malformed_query_shows_a_caret_and_exits_2(bare_env: dict[str, str]) -> None:
    seed(bare_env)
    done = run_cli(["history", "search", "tea AND (lisbon OR"], bare_env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    query_line, caret_line, error_line = done.stderr.splitlines()
    assert error_line.startswith("error: malformed query: ")
    assert "column 19" in error_line
    assert caret_line.strip() == "^"
    assert caret_line.index("^") == query_line.index("tea AND (lisbon OR") + 18


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["search", "tea", "--role", "robot"], 2, "--role"),
        (["search", "tea", "--since", "someday"], 2, "--since"),
        (["search", "tea", "--session", "bad session"], 2, "session"),
        (["search", "tea", "--store", "mysql://db"], 2, "unknown store URL"),
        (["export", "-f", "json"], 2, "--cid ID"),
        (["export", "--all", "-f", "pdf"], 2, "unknown export format"),
        (["export", "--cid", "nope", "-f", "json"], 1, "no conversation"),
        (["show", "nope"], 1, "no conversation"),
        (["tag", "trip", "+,,"], 2, "tag"),
        (["import", "missing.json"], 1, "cannot read"),
    ],
)
def test_bad_input_is_one_error_line(
    bare_env: dict[str, str], args: list[str], code: int, text: str
) -> None:
    done = run_cli(["history", *args], bare_env)
    assert done.returncode == code, done.stderr
    assert text in one_error_line(done.stderr)


def test_list_show_tag_and_stats(bare_env: dict[str, str]) -> None:
    seed(bare_env)
    listed = json.loads(
        run_cli(["history", "list", "--session", "travel", "--json"], bare_env).stdout
    )
    assert {record["id"] for record in listed} == {"trip", "cafe"}
    shown = json.loads(run_cli(["history", "show", "trip", "--json"], bare_env).stdout)
    assert [m["id"] for m in shown["messages"]] == ["t1", "t2", "t3"]
    assert shown["branch"] == "main"
    tagged = run_cli(["history", "tag", "trip", "+Portugal", "-lisbon", "trams"], bare_env)
    assert tagged.stdout.strip() == "portugal trams"
    assert search_json(bare_env, "tram", "--tag", "portugal")[0]["message_id"] == "t3"
    stats = json.loads(run_cli(["history", "stats", "--json"], bare_env).stdout)
    assert stats["conversations"] == 4
    assert stats["messages"] == 10
    assert stats["by_role"] == {"user": 7, "assistant": 3}


@pytest.mark.integration
def test_index_then_semantic_search(bare_env: dict[str, str]) -> None:
    seed(bare_env)
    indexed = run_cli(["history", "index"], bare_env)
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.startswith("embedded 10 messages with local:")
    hits = search_json(bare_env, "green tea")
    assert hits[0]["score_parts"]["vector_rank"] is not None  # type: ignore[index]
    assert {hit["message_id"] for hit in search_json(bare_env, '"green tea"')} == {"t1", "t2"}
    plain = search_json(bare_env, "green tea", "--no-semantic")
    assert plain[0]["score_parts"]["vector_rank"] is None  # type: ignore[index]
