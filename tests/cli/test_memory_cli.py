"""``fluent-ai memory``: the real console script, the real SQLite file, the real embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.clitools import one_error_line, run_cli

pytestmark = pytest.mark.integration


def add(env: dict[str, str], text: str, *options: str) -> str:
    done = run_cli(["memory", "add", text, *options], env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_add_then_recall_json_ranks_with_score_components(bare_env: dict[str, str]) -> None:
    tea = add(bare_env, "Ann drinks oolong tea every morning", "--importance", "0.8")
    add(bare_env, "The deploy script lives in tools/deploy.sh", "--kind", "procedural")
    add(bare_env, "Bob is allergic to peanuts", "--meta", "user=bob")
    done = run_cli(["memory", "recall", "What does Ann drink?", "-k", "2", "--json"], bare_env)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 2
    assert hits[0]["id"] == tea
    assert hits[0]["score"] >= hits[1]["score"]
    assert set(hits[0]["explain"]) >= {"relevance", "importance", "recency", "frequency"}
    filtered = run_cli(["memory", "recall", "allergy", "--filter", "user=bob", "--json"], bare_env)
    assert [h["content"] for h in json.loads(filtered.stdout)] == ["Bob is allergic to peanuts"]
    listed = run_cli(["memory", "list", "--kind", "procedural", "--json"], bare_env)
    assert [m["kind"] for m in json.loads(listed.stdout)] == ["procedural"]


def test_relate_forget_stats_and_namespaces(bare_env: dict[str, str]) -> None:
    a = add(bare_env, "first fact")
    b = add(bare_env, "second fact")
    other = add(bare_env, "elsewhere", "--namespace", "work")
    assert run_cli(["memory", "relate", a, b, "--type", "supports"], bare_env).returncode == 0
    stats = json.loads(run_cli(["memory", "stats", "--json"], bare_env).stdout)
    assert stats["memories"] == 3
    assert stats["by_namespace"] == {"default": 2, "work": 1}
    assert stats["relations"] == 1
    gone = run_cli(["memory", "forget", a], bare_env)
    assert gone.stdout.strip() == "forgot 1"
    wrong_namespace = run_cli(["memory", "forget", other], bare_env)
    assert wrong_namespace.returncode == 1
    assert "not found" in one_error_line(wrong_namespace.stderr)


def test_export_import_export_is_identical(bare_env: dict[str, str], tmp_path: Path) -> None:
    a = add(bare_env, "Carla moved to Lisbon")
    b = add(bare_env, "Carla works at the harbour", "--meta", "team=ops")
    run_cli(["memory", "relate", a, b, "--type", "context"], bare_env)
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_cli(["memory", "export", str(first)], bare_env).returncode == 0
    fresh = dict(bare_env, FLUENT_AI_HOME=str(tmp_path / "fresh-home"))
    imported = run_cli(["memory", "import", str(first)], fresh)
    assert imported.stdout.strip() == f"imported 2 memories from {first}"
    assert run_cli(["memory", "export", str(second)], fresh).returncode == 0
    assert first.read_bytes() == second.read_bytes()


def test_bad_input_is_one_error_line(bare_env: dict[str, str], tmp_path: Path) -> None:
    cases = [
        (["memory", "add", "x", "--importance", "3"], 2, "importance"),
        (["memory", "add", "x", "--kind", "dream"], 2, "kind"),
        (["memory", "add", "x", "--meta", "novalue"], 2, "key=value"),
        (["memory", "add", "x", "--expires-in", "soon"], 2, "duration"),
        (["memory", "recall", " "], 2, "query"),
        (["memory", "add", "x", "--store", "mysql://db"], 2, "unknown store URL"),
        (["memory", "import", str(tmp_path / "missing.jsonl")], 1, "no such file"),
    ]
    for args, code, text in cases:
        done = run_cli(args, bare_env)
        assert done.returncode == code, (args, done.stderr)
        assert text in one_error_line(done.stderr), args
