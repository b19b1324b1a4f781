"""Authentication at connect: a bearer header or a first ``auth`` frame, scope ``chat``."""

from __future__ import annotations

import pytest

from fluent_ai.server.realtime import RealtimeLimits
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client


@pytest.mark.parametrize("header", [True, False], ids=["header", "first-frame"])
async def test_a_valid_token_gets_ready(make_realm: MakeRealm, header: bool) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token", header=header) as alice:
        assert alice.user == "alice"
        assert len(alice.connection_id) == 16
        await alice.join("general")


async def test_admin_scope_may_chat(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "admin-token") as root:
        assert root.user == "root"


@pytest.mark.parametrize("header", [True, False], ids=["header", "first-frame"])
async def test_a_bad_token_is_refused_with_4401(make_realm: MakeRealm, header: bool) -> None:
    realm = make_realm()
    async with open_client(realm.url, "wrong-token", header=header, ready=False) as client:
        error = await client.expect("error")
        assert error["code"] == "invalid_api_key"
        assert "wrong-token" not in error["message"]
        code, _ = await client.closed()
        assert code == 4401


async def test_a_token_without_chat_scope_is_refused_with_4403(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "embed-token", header=False, ready=False) as client:
        error = await client.expect("error")
        assert error["code"] == "insufficient_scope"
        code, reason = await client.closed()
        assert code == 4403
        assert "chat" in (reason or "")


async def test_a_person_cannot_pass_for_a_room_agent(make_realm: MakeRealm) -> None:
    """JWT subjects may contain ':'; the "agent:" names are the room agents' own."""
    realm = make_realm()
    async with open_client(realm.url, "impostor-token", header=False, ready=False) as client:
        error = await client.expect("error")
        assert error["code"] == "reserved_user_name"
        code, _ = await client.closed()
        assert code == 4403


async def test_a_malformed_authorization_header_is_refused(make_realm: MakeRealm) -> None:
    realm = make_realm()
    headers = {"Authorization": "Basic abc"}
    async with open_client(realm.url, None, ready=False, additional_headers=headers) as client:
        assert (await client.expect("error"))["code"] == "invalid_authorization_header"
        assert (await client.closed())[0] == 4401


async def test_any_other_first_frame_is_refused(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, None, ready=False) as client:
        await client.send(type="join", room="general")
        assert (await client.expect("error"))["code"] == "auth_required"
        assert (await client.closed())[0] == 4401


async def test_no_credentials_in_time_is_refused(make_realm: MakeRealm) -> None:
    realm = make_realm(limits=RealtimeLimits(auth_timeout=0.2))
    async with open_client(realm.url, None, ready=False) as client:
        assert (await client.expect("error"))["code"] == "auth_timeout"
        assert (await client.closed())[0] == 4401


async def test_auth_after_authenticating_is_an_error(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with open_client(realm.url, "alice-token") as alice:
        await alice.send(type="auth", token="bob-token")
        error = await alice.expect("error")
        assert error["code"] == "already_authenticated"
        await alice.send(type="ping")
        assert await alice.recv() == {"type": "pong"}
