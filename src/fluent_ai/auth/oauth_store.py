"""OAuth2 tokens at rest: one encrypted file per ``[oauth.NAME]`` under ``$FLUENT_AI_HOME/oauth/``.

A token is saved with the token URL and client id it was issued for; after the
configuration changes to another server or client, the old token is ignored instead of
being sent where it does not belong. Blocking (disk, keyring): the session calls this
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fluent_ai.auth.secrets import SecretBox, SecretsError, read_private, write_private

__all__ = ["OAUTH_NAME", "OAuthToken", "TokenStore", "check_name"]

#: What an ``[oauth.NAME]`` may be called (it becomes a file name).
OAUTH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """``name`` if it is a usable ``[oauth.NAME]`` (it becomes a file name)."""
    if not isinstance(name, str) or not OAUTH_NAME.match(name):
        raise SecretsError(
            f"an OAuth2 name is 1-64 letters, digits, '.', '_' or '-', got {name[:64]!r}"
        )
    return name


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """An access token and what came with it; ``repr`` never shows the secrets."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    #: Unix time the access token expires (``None``: the server did not say).
    expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, now: float | None = None) -> OAuthToken:
        """A token endpoint's answer (``expires_in`` turned into ``expires_at``)."""
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the token endpoint answered without an access_token")
        expires_at = data.get("expires_at")
        expires_in = data.get("expires_in")
        if expires_in is not None:
            expires_at = (time.time() if now is None else now) + float(expires_in)
        token_type = data.get("token_type") or "Bearer"
        refresh = data.get("refresh_token")
        scope = data.get("scope")
        return cls(
            access,
            str(token_type),
            float(expires_at) if expires_at is not None else None,
            refresh if isinstance(refresh, str) and refresh else None,
            " ".join(scope) if isinstance(scope, list) else scope,
        )

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """Whether the token is expired, or will be in ``seconds``."""
        if self.expires_at is None:
            return False
        return self.expires_at - seconds <= (time.time() if now is None else now)


class TokenStore:
    """Tokens by name in ``oauth/NAME.enc``: encrypted with :class:`SecretBox`, mode 0600."""

    def __init__(self, home: Path | None = None, *, box: SecretBox | None = None) -> None:
        from fluent_ai.config import default_home

        self.home = home if home is not None else default_home()
        self.directory = self.home / "oauth"
        self._box = box

    def __repr__(self) -> str:
        return f"TokenStore({str(self.directory)!r})"

    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.open(self.home)
        return self._box

    def path(self, name: str) -> Path:
        return self.directory / f"{check_name(name)}.enc"

    def load(self, name: str, *, token_url: str, client_id: str) -> OAuthToken | None:
        """The stored token, if one was issued by ``token_url`` to ``client_id``."""
        path = self.path(name)
        raw = read_private(path, what="the OAuth2 token file")
        if raw is None:
            return None
        plain = self.box().decrypt(raw, what=f"the OAuth2 token file {path}")
        try:
            record = json.loads(plain)
            if record["token_url"] != token_url or record["client_id"] != client_id:
                return None
            return OAuthToken(**record["token"])
        except (ValueError, KeyError, TypeError):
            raise SecretsError(
                f"the OAuth2 token file {path} is damaged; log in again to replace it"
            ) from None

    def save(self, name: str, token: OAuthToken, *, token_url: str, client_id: str) -> None:
        record = {"token_url": token_url, "client_id": client_id, "token": asdict(token)}
        data = json.dumps(record, sort_keys=True).encode("utf-8")
        write_private(self.path(name), self.box().encrypt(data))

    def delete(self, name: str) -> bool:
        """Forget the token; ``False`` if none was stored."""
        path = self.path(name)
        if not path.exists():
            return False
        path.unlink()
        return True
