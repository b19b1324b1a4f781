"""Shared fixtures: an isolated environment per test and a fake OpenAI-compatible server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluent_ai.runtime import reset_runtime
from fluent_ai.transport.http import default_breakers
from tests.fakes.openai_server import FakeOpenAIServer

_PROVIDER_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "MISTRAL_API_KEY",
    "TOGETHER_API_KEY",
    "XAI_API_KEY",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "PERPLEXITY_API_KEY",
    "HF_TOKEN",
    "OLLAMA_API_KEY",
    "VLLM_API_KEY",
    "LMSTUDIO_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "COHERE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_VERSION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No real provider keys, a private FLUENT_AI_HOME, fast retries, fresh breakers."""
    for name in _PROVIDER_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("FLUENT_AI_") or name.endswith("_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "fluent-home"
    monkeypatch.setenv("FLUENT_AI_HOME", str(home))
    monkeypatch.setenv("FLUENT_AI_RETRY_BASE_DELAY", "0.01")
    reset_runtime()
    default_breakers().reset()
    yield home
    reset_runtime()
    default_breakers().reset()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A running fake Chat Completions server that expects the key ``sk-test``."""
    with FakeOpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture
def openai_env(fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    """Point the ``openai`` preset at the fake server, as a user would with env vars."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    reset_runtime()
    return fake_openai
