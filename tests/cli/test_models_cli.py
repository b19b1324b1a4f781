"""``fluent-ai models``: the real console script, its filters, and ``--refresh`` against a
loopback server that lists models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clitools import one_error_line, run_cli
from tests.fakes.openai_extras_server import ExtrasBehaviour, FakeExtrasServer

LISTED = ("gpt-4o-mini", "gpt-fake-1", "gpt-fake-2")
ENTRY_KEYS = {
    "spec",
    "provider",
    "name",
    "kind",
    "context_window",
    "max_output",
    "input_price",
    "output_price",
    "cached_input_price",
    "capabilities",
    "source",
    "configured",
}


@pytest.fixture
def env(bare_env: dict[str, str]) -> dict[str, str]:
    """No provider is configured: cloud credentials of the machine are left out too."""
    return {
        key: value
        for key, value in bare_env.items()
        if not key.startswith(("AWS_", "AZURE_", "GOOGLE_")) and not key.endswith("_TOKEN")
    }


@pytest.fixture
def lister() -> Iterator[FakeExtrasServer]:
    with FakeExtrasServer(api_key="sk-test", models=LISTED) as server:
        yield server


@pytest.fixture
def listing_env(env: dict[str, str], lister: FakeExtrasServer) -> dict[str, str]:
    return {**env, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": lister.base_url}


def models_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    done = run_cli(["models", "--json", *args], env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, list)
    return data


def by_spec(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["spec"]: entry for entry in entries}


def test_table_lists_the_catalogue(env: dict[str, str]) -> None:
    done = run_cli(["models"], env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "openai:gpt-4o-mini" in done.stdout
    assert "local:smollm2-135m-instruct" in done.stdout
    assert "prices in USD per million tokens" in done.stdout


def test_json_has_prices_capabilities_and_configuration(env: dict[str, str]) -> None:
    entries = models_json(env)
    assert entries
    for entry in entries:
        assert set(entry) >= ENTRY_KEYS, entry
    mini = by_spec(entries)["openai:gpt-4o-mini"]
    assert (mini["input_price"], mini["output_price"]) == (0.15, 0.6)
    assert {"tools", "vision"} <= set(mini["capabilities"])
    assert (mini["configured"], mini["source"]) == (False, "catalogue")
    assert by_spec(entries)["local:smollm2-135m-instruct"]["configured"] is True
    keyed = by_spec(models_json({**env, "OPENAI_API_KEY": "sk-x"}))
    assert keyed["openai:gpt-4o-mini"]["configured"] is True


def test_provider_filter(env: dict[str, str]) -> None:
    entries = models_json(env, "--provider", "openai")
    assert {e["provider"] for e in entries} == {"openai"}
    assert "openai:gpt-4o-mini" in by_spec(entries)
    both = models_json(env, "-p", "openai", "-p", "local")
    assert {e["provider"] for e in both} == {"openai", "local"}


def test_capability_filter_keeps_models_having_all(env: dict[str, str]) -> None:
    entries = models_json(env, "--capability", "tools", "--capability", "vision")
    assert "openai:gpt-4o-mini" in by_spec(entries)
    assert "local:smollm2-135m-instruct" not in by_spec(entries)
    for entry in entries:
        assert {"tools", "vision"} <= set(entry["capabilities"]), entry


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capability", "telepathy"], "unknown capability 'telepathy'"),
        (["--provider", "opneai"], "unknown provider opneai"),
    ],
)
def test_unknown_filters_are_usage_errors(
    env: dict[str, str], args: list[str], message: str
) -> None:
    done = run_cli(["models", *args], env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in one_error_line(done.stderr)


# -- --refresh -----------------------------------------------------------------------------


def test_refresh_caches_what_the_provider_lists(
    listing_env: dict[str, str], lister: FakeExtrasServer
) -> None:
    done = run_cli(["models", "--refresh"], listing_env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "openai: 3 models (2 not in the catalogue)\n"
    assert "openai:gpt-fake-1" in done.stdout
    [listing] = lister.requests_to("/models")
    assert listing.headers["authorization"] == "Bearer sk-test"
    cache = Path(listing_env["FLUENT_AI_HOME"]) / "models-discovered.json"
    assert json.loads(cache.read_text("utf-8"))["providers"]["openai"]["models"] == list(LISTED)
    entries = by_spec(models_json(listing_env, "--provider", "openai"))
    for name in ("gpt-fake-1", "gpt-fake-2"):
        found = entries[f"openai:{name}"]
        assert (found["capabilities"], found["source"]) == (None, "discovered")
        assert (found["input_price"], found["configured"]) == (None, True)
    assert entries["openai:gpt-4o-mini"]["source"] == "catalogue"
    with_tools = by_spec(models_json(listing_env, "-p", "openai", "-c", "tools"))
    assert "openai:gpt-fake-1" not in with_tools


def test_a_second_refresh_reports_the_same_count(listing_env: dict[str, str]) -> None:
    assert run_cli(["models", "--refresh"], listing_env).returncode == 0
    again = run_cli(["models", "--refresh"], listing_env)
    assert again.stderr == "openai: 3 models (2 not in the catalogue)\n"


def test_refresh_without_any_key_is_a_clear_error(env: dict[str, str]) -> None:
    done = run_cli(["models", "--refresh"], env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "no provider to refresh: set an API key" in one_error_line(done.stderr)


def test_a_failed_listing_is_reported_and_exits_1(
    listing_env: dict[str, str], lister: FakeExtrasServer
) -> None:
    lister.default = ExtrasBehaviour.error(401, "Incorrect API key provided.")
    done = run_cli(["models", "--refresh"], listing_env)
    assert done.returncode == 1
    assert done.stderr.startswith("openai: error: ")
    assert "Traceback" not in done.stderr
    assert "openai:gpt-4o-mini" in done.stdout, "the catalogue is still listed"
    assert not (Path(listing_env["FLUENT_AI_HOME"]) / "models-discovered.json").exists()
