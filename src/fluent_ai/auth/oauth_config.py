"""``[oauth.NAME]`` tables: where an upstream's OAuth2 tokens come from, and for whom.

Kept apart from :mod:`fluent_ai.auth.oauth` (and free of HTTP libraries) so settings can
validate these tables without importing a client. ``config.toml`` example::

    [oauth.github-mcp]                 # browser login: code + PKCE S256
    authorization_url = "https://github.com/login/oauth/authorize"
    token_url = "https://github.com/login/oauth/access_token"
    client_id = "Iv1.0123"
    redirect_uri = "http://127.0.0.1:8765/callback"
    scopes = ["repo"]

    [oauth.gateway]                    # client credentials
    token_url = "https://idp.example.com/oauth/token"
    client_id = "fluent-ai"
    client_secret_var = "GATEWAY_CLIENT_SECRET"   # environment, else stored credential
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from fluent_ai.auth.jwks import secure_url
from fluent_ai.auth.oauth_store import check_name
from fluent_ai.errors import ConfigurationError

__all__ = ["OAuth2Config", "client_secret", "load_oauth_configs", "oauth_config"]


class OAuth2Config(BaseModel):
    """One ``[oauth.NAME]`` table: where tokens come from and who asks for them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_url: str
    authorization_url: str | None = Field(
        None, description="Set for the browser flow (code + PKCE); unset: client credentials."
    )
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_secret_var: str | None = Field(
        None, description="Read the client secret from this variable or stored credential."
    )
    scopes: list[str] = Field(default_factory=list)
    redirect_uri: str | None = Field(
        None, description="Registered loopback redirect, e.g. http://127.0.0.1:8765/callback."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("token_url", "authorization_url"):
            url = getattr(self, name)
            if url is not None and not secure_url(url):
                raise ValueError(f"{name} must be https (http only on loopback)")
        if self.client_secret is not None and self.client_secret_var:
            raise ValueError("give client_secret or client_secret_var, not both")
        if self.authorization_url and not self.redirect_uri:
            raise ValueError("the authorization code flow needs redirect_uri")
        if self.redirect_uri and urlsplit(self.redirect_uri).scheme not in ("http", "https"):
            raise ValueError("redirect_uri must be an http(s) URL")
        if not self.authorization_url and self.client_secret is None and not self.client_secret_var:
            raise ValueError("the client credentials grant needs client_secret(_var)")
        return self

    @property
    def grant(self) -> Literal["authorization_code", "client_credentials"]:
        return "authorization_code" if self.authorization_url else "client_credentials"


def load_oauth_configs(home: Path | None = None) -> dict[str, OAuth2Config]:
    """The ``[oauth.NAME]`` tables of ``config.toml`` (blocking: reads the file)."""
    from fluent_ai.config import default_home

    path = (home if home is not None else default_home()) / "config.toml"
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    tables = data.get("oauth", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigurationError(f"[oauth] in {path} must hold [oauth.NAME] tables")
    configs = {}
    for name, table in tables.items():
        try:
            configs[check_name(name)] = OAuth2Config.model_validate(table)
        except ValidationError as exc:
            raise ConfigurationError(f"[oauth.{name}] in {path}: {_problems(exc)}") from None
    return configs


def _problems(exc: ValidationError) -> str:
    """Each error as ``field: message`` (never the rejected value: it may be a secret)."""
    return "; ".join(
        (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
        + e["msg"].removeprefix("Value error, ")
        for e in exc.errors()
    )


def oauth_config(name: str, home: Path | None = None) -> OAuth2Config:
    """The ``[oauth.NAME]`` table, or a ConfigurationError naming the ones there are."""
    configs = load_oauth_configs(home)
    if name not in configs:
        known = ", ".join(sorted(configs)) or "none"
        raise ConfigurationError(f"no [oauth.{name}] table in config.toml (configured: {known})")
    return configs[name]


def client_secret(config: OAuth2Config, home: Path | None = None) -> str | None:
    """The client secret: inline, or from ``client_secret_var`` (environment, then store)."""
    if config.client_secret is not None:
        return config.client_secret.get_secret_value()
    if not config.client_secret_var:
        return None
    from fluent_ai.auth.secrets import CredentialStore

    var = config.client_secret_var
    value = os.environ.get(var) or CredentialStore(home).get(var)
    if not value:
        raise ConfigurationError(
            f"client_secret_var {var} is not set: export it or run "
            f"`fluent-ai auth set-credential {var}`"
        )
    return value
