"""``fluent-ai keys`` in child processes, checked by a long-lived KeyRing like a server's.

The commands run as separate programs on the real SQLite file, so a revocation made by
the CLI must reach a ring that was opened before it (nothing cached between requests).
The commands run as the installed console script, in child processes.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluent_ai.auth.api_keys import KeyRing, hash_secret, new_secret
from fluent_ai.auth.authenticator import CredentialAuthenticator
from fluent_ai.auth.errors import CredentialsError
from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore
from fluent_ai.cli.keys import parse_grace
from tests.cli.clitools import command, one_error_line

_SECRET = re.compile(r"fa-[a-z0-9]{12}_[A-Za-z0-9_-]{43}")


def run_keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("keys", *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_keys, env, *args)


async def create(env: dict[str, str], name: str, *options: str) -> str:
    done = await keys(env, "create", "--name", name, *options)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def db_path(env: dict[str, str]) -> Path:
    return Path(env["FLUENT_AI_HOME"]) / "keys.db"


@pytest.fixture
async def server(bare_env: dict[str, str]) -> AsyncIterator[CredentialAuthenticator]:
    """What ``fluent-ai serve`` holds: an authenticator over the CLI's key file."""
    authenticator = CredentialAuthenticator(KeyRing(SqliteKeyStore(db_path(bare_env))))
    yield authenticator
    await authenticator.aclose()


async def refusal(server: CredentialAuthenticator, credential: str) -> str:
    with pytest.raises(CredentialsError) as refused:
        await server.authenticate(credential)
    return refused.value.code


async def test_create_prints_the_secret_once_and_stores_only_its_hash(
    bare_env: dict[str, str], server: CredentialAuthenticator
) -> None:
    done = await keys(bare_env, "create", "--name", "web", "--scopes", "chat,memory", "--rpm", "60")
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert _SECRET.fullmatch(secret), done.stdout
    assert done.stdout == secret + "\n"
    warning = done.stderr.strip()
    assert warning.startswith("warning:")
    assert "cannot be shown again" in warning
    assert "\n" not in warning
    assert secret not in done.stderr

    principal = await server.authenticate(secret)
    assert (principal.subject, principal.rpm) == ("web", 60)
    assert principal.scopes == frozenset({"chat", "memory"})

    listed = await keys(bare_env, "list")
    as_json = await keys(bare_env, "list", "--json")
    key_id = secret[3:15]
    for output in (listed.stdout, as_json.stdout):
        assert secret not in output
        assert secret.split("_", 1)[1] not in output
        assert hash_secret(secret) not in output
    assert f"fa-{key_id}_…" in listed.stdout
    [entry] = json.loads(as_json.stdout)
    assert entry["name"] == "web"
    assert entry["status"] == "active"
    assert entry["scopes"] == ["chat", "memory"]
    assert entry["rpm"] == 60
    assert entry["last_used_at"] is not None  # the server's use above was recorded
    assert "secret" not in entry
    assert not any("hash" in field for field in entry)

    raw = b"".join(p.read_bytes() for p in db_path(bare_env).parent.glob("keys.db*"))
    assert secret.encode() not in raw
    assert hash_secret(secret).encode() in raw


async def test_create_json_and_defaults(bare_env: dict[str, str]) -> None:
    done = await keys(bare_env, "create", "--name", "batch", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert _SECRET.fullmatch(data["secret"])
    assert data["scopes"] == ["chat", "embeddings"]
    assert (data["rpm"], data["tpm"]) == (None, None)
    assert data["secret"] not in done.stderr


async def test_wrong_and_missing_keys_are_refused(
    bare_env: dict[str, str], server: CredentialAuthenticator
) -> None:
    secret = await create(bare_env, "web")
    assert await refusal(server, new_secret(secret[3:15])) == "invalid_api_key"
    assert await refusal(server, secret[:-1] + ("A" if secret[-1] != "A" else "B")) == (
        "invalid_api_key"
    )
    assert await refusal(server, "sk-not-ours") == "invalid_api_key"
    assert await refusal(server, "") == "missing_credentials"


async def test_rotate_with_grace_keeps_the_old_secret_then_without_expires_it(
    bare_env: dict[str, str], server: CredentialAuthenticator
) -> None:
    old = await create(bare_env, "web")
    rotated = await keys(bare_env, "rotate", "web", "--grace", "1h")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert _SECRET.fullmatch(new)
    assert new != old
    assert "old secret works until" in rotated.stderr
    assert (await server.authenticate(old)).subject == "web"
    assert (await server.authenticate(new)).subject == "web"
    [entry] = json.loads((await keys(bare_env, "list", "--json")).stdout)
    assert entry["status"] == "rotating"

    again = await keys(bare_env, "rotate", "web", "--json")
    assert again.returncode == 0, again.stderr
    newest = json.loads(again.stdout)["secret"]
    assert "no longer works" in again.stderr
    assert await refusal(server, new) == "expired_api_key"
    assert await refusal(server, old) == "invalid_api_key"
    assert (await server.authenticate(newest)).subject == "web"


async def test_revoke_is_refused_at_the_next_request(
    bare_env: dict[str, str], server: CredentialAuthenticator
) -> None:
    secret = await create(bare_env, "web")
    other = await create(bare_env, "other")
    assert (await server.authenticate(secret)).subject == "web"
    done = await keys(bare_env, "revoke", "web")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("revoked web (fa-")
    assert await refusal(server, secret) == "revoked_api_key"
    assert (await server.authenticate(other)).subject == "other"
    listed = (await keys(bare_env, "list")).stdout
    assert re.search(r"^web .* revoked ", listed, re.MULTILINE), listed
    rotate = await keys(bare_env, "rotate", "web")
    assert rotate.returncode == 1
    assert "revoked" in one_error_line(rotate.stderr)


async def test_bad_input_is_one_error_line(bare_env: dict[str, str], tmp_path: Path) -> None:
    await create(bare_env, "web")
    cases = [
        (["create", "--name", "web"], 1, "already exists"),
        (["create", "--name", "bad name"], 2, "name:"),
        (["create", "--name", "x", "--scopes", "chat,root"], 2, "unknown scope"),
        (["create", "--name", "x", "--rpm", "0"], 2, "rpm"),
        (["rotate", "web", "--grace", "soon"], 2, "--grace"),
        (["rotate", "web", "--grace", "1w"], 2, "--grace"),
        (["rotate", "nobody"], 1, "no API key named 'nobody'"),
        (["revoke", "nobody"], 1, "no API key named 'nobody'"),
        (["list", "--store", "mysql://u:hunter2@db/x"], 2, "unknown store URL"),
        (["list", "--store", str(tmp_path / "file" / "keys.db")], 0, "no API keys"),
    ]
    (tmp_path / "file").mkdir()
    for args, code, text in cases:
        done = await keys(bare_env, *args)
        assert done.returncode == code, (args, done.stderr)
        if code:
            assert text in one_error_line(done.stderr), args
            assert "hunter2" not in done.stderr
        else:
            assert text in done.stdout
    assert "name" in (await keys(bare_env, "create")).stderr  # --name is required


def test_grace_durations() -> None:
    assert parse_grace("0").total_seconds() == 0
    assert parse_grace("30s").total_seconds() == 30
    assert parse_grace("15m").total_seconds() == 900
    assert parse_grace(" 1h ").total_seconds() == 3600
    assert parse_grace("2d").total_seconds() == 172800
