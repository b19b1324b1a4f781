"""Secrets at rest: the key (OS keyring or a 0600 file) and encrypted provider credentials."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from fluent_ai import FluentAI
from fluent_ai.auth.secrets import CredentialStore, SecretBox, SecretsError
from fluent_ai.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAIServer

SECRET = "sk-live-0123456789abcdefSECRET"


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in: what keyring's own backends do, in a dict."""

    priority = 10

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[service, username] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def file_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENT_AI_SECRET_BACKEND", "file")


@pytest.fixture
def os_keyring() -> Iterator[KeyringBackend]:
    """Swap the process keyring for the test and put the original back."""
    original = keyring.get_keyring()
    yield original
    keyring.set_keyring(original)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def disk_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


@pytest.mark.usefixtures("file_backend")
def test_the_key_file_is_created_private_and_reused(isolated_env: Path) -> None:
    box = SecretBox.open()
    key_file = isolated_env / "secret.key"
    assert mode(key_file) == 0o600
    sealed = box.encrypt(b"payload")
    assert b"payload" not in sealed
    assert SecretBox.open().decrypt(sealed, what="test data") == b"payload"
    assert str(key_file) in repr(box)
    assert key_file.read_text() not in repr(box)


@pytest.mark.usefixtures("file_backend")
def test_a_key_file_others_can_read_is_refused(isolated_env: Path) -> None:
    SecretBox.open()
    key_file = isolated_env / "secret.key"
    key_file.chmod(0o644)
    with pytest.raises(SecretsError, match=f"chmod 600 {key_file}") as refused:
        SecretBox.open()
    assert key_file.read_text() not in str(refused.value)


@pytest.mark.usefixtures("file_backend")
def test_credentials_round_trip_encrypted_and_private(isolated_env: Path) -> None:
    store = CredentialStore()
    assert store.names() == []
    assert not store.path.exists()
    store.set("OPENAI_API_KEY", SECRET)
    store.set("ANTHROPIC_API_KEY", "sk-ant-other")
    assert mode(store.path) == 0o600
    assert SECRET.encode() not in disk_bytes(isolated_env)
    fresh = CredentialStore()
    assert fresh.get("OPENAI_API_KEY") == SECRET
    assert fresh.names() == ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
    assert fresh.delete("ANTHROPIC_API_KEY") is True
    assert fresh.delete("ANTHROPIC_API_KEY") is False
    assert CredentialStore().names() == ["OPENAI_API_KEY"]
    assert [p.name for p in isolated_env.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.usefixtures("file_backend")
def test_a_wrong_key_or_damaged_file_is_a_clear_error(isolated_env: Path) -> None:
    CredentialStore().set("OPENAI_API_KEY", SECRET)
    (isolated_env / "secret.key").unlink()
    with pytest.raises(SecretsError, match="another key or is damaged") as wrong:
        CredentialStore().get("OPENAI_API_KEY")
    assert SECRET not in str(wrong.value)
    path = isolated_env / "credentials.enc"
    path.write_bytes(b"not fernet at all")
    with pytest.raises(SecretsError, match="cannot be decrypted"):
        CredentialStore().names()


@pytest.mark.usefixtures("file_backend")
def test_secrets_never_reach_repr_logs_or_errors(
    isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CredentialStore()
    store.set("OPENAI_API_KEY", SECRET)
    assert store.get("OPENAI_API_KEY") == SECRET
    assert SECRET not in repr(store)
    assert SECRET not in repr(store.box())
    with pytest.raises(SecretsError) as bad_name:
        store.set(SECRET, "value")  # a key pasted where the name goes
    assert SECRET not in str(bad_name.value)
    with pytest.raises(SecretsError, match="non-empty"):
        store.set("EMPTY", "")
    assert SECRET not in caplog.text
    assert "created the secret key file" in caplog.text  # logging did run


def test_the_key_lives_in_the_os_keyring_when_there_is_one(
    isolated_env: Path, os_keyring: KeyringBackend
) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    CredentialStore().set("OPENAI_API_KEY", SECRET)
    assert list(backend.passwords) == [("fluent-ai", "secret-key")]
    assert not (isolated_env / "secret.key").exists()
    assert CredentialStore().get("OPENAI_API_KEY") == SECRET
    assert SecretBox.open().source == "the OS keyring"


def test_without_a_keyring_the_key_goes_to_a_file(
    isolated_env: Path, os_keyring: KeyringBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    CredentialStore().set("OPENAI_API_KEY", SECRET)
    assert mode(isolated_env / "secret.key") == 0o600
    keyring.set_keyring(MemoryKeyring())  # a keyring appears later: the file still wins
    assert CredentialStore().get("OPENAI_API_KEY") == SECRET
    monkeypatch.setenv("FLUENT_AI_SECRET_BACKEND", "keyring")
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(SecretsError, match="no usable OS keyring"):
        SecretBox.open()
    monkeypatch.setenv("FLUENT_AI_SECRET_BACKEND", "vault")
    with pytest.raises(SecretsError, match="auto, keyring or file"):
        SecretBox.open()


@pytest.mark.usefixtures("file_backend")
def test_the_runtime_fills_missing_variables_from_stored_credentials(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Runtime()
    assert empty.env is os.environ
    assert not (isolated_env / "secret.key").exists()  # no file: no key fetched or made
    store = CredentialStore()
    store.set("OPENAI_API_KEY", SECRET)
    store.set("MISTRAL_API_KEY", "stored-mistral")
    monkeypatch.setenv("MISTRAL_API_KEY", "from-the-environment")
    runtime = Runtime()
    env = runtime.env
    assert env["OPENAI_API_KEY"] == SECRET
    assert env["MISTRAL_API_KEY"] == "from-the-environment"  # the environment wins
    assert env["FLUENT_AI_SECRET_BACKEND"] == "file"
    store.path.unlink()
    assert runtime.env["OPENAI_API_KEY"] == SECRET  # decrypted once, cached
    given: dict[str, Any] = {"OPENAI_API_KEY": "explicit"}
    assert Runtime(env=given).env is given


@pytest.mark.usefixtures("file_backend")
async def test_a_stored_key_reaches_the_provider(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    CredentialStore().set("OPENAI_API_KEY", "sk-test")  # the key the fake server expects
    agent = await FluentAI.agent("t").model("openai:gpt-4o-mini").abuild()
    assert await agent.chat("hi").text() == "Hello from the fake server."
    headers = {k.lower(): v for k, v in fake_openai.chat_requests[0].headers.items()}
    assert headers["authorization"] == "Bearer sk-test"  # the fake also refuses other keys
