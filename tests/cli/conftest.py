"""Fixtures for running the real ``fluent-ai`` console script in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.clitools import child_env
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """A child environment with no provider keys or URLs and a private FLUENT_AI_HOME."""
    return child_env(tmp_path / "cli-home")


@pytest.fixture
def server_env(bare_env: dict[str, str], fake_openai: FakeOpenAIServer) -> dict[str, str]:
    """``bare_env`` pointing the ``openai`` preset at the fake server with its key."""
    return {**bare_env, "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-test"}
