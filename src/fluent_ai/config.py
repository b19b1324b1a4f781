"""Settings: environment variables (``FLUENT_AI_*``) over ``$FLUENT_AI_HOME/config.toml``.

Provider keys keep their conventional names (``OPENAI_API_KEY`` …) and are read where
the provider is built, not stored here, so they never end up in a settings dump.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fluent_ai.auth.oauth_config import OAuth2Config

__all__ = [
    "AgentSettings",
    "JWTSettings",
    "RateLimitSettings",
    "ServerSettings",
    "Settings",
    "default_home",
    "load_settings",
]


def default_home() -> Path:
    """``$FLUENT_AI_HOME``, else ``~/.fluent-ai``."""
    configured = os.environ.get("FLUENT_AI_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".fluent-ai"


class RateLimitSettings(BaseModel):
    """At most ``rpm`` requests and ``tpm`` tokens per minute to one provider."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1, description="Requests per minute.")
    tpm: int | None = Field(None, ge=1, description="Tokens (input + output) per minute.")


class AgentSettings(BaseModel):
    """An agent the server exposes as the model ``agent:NAME`` (an ``[agents.NAME]`` table)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="Model spec; default: the default model.")
    system: str | None = Field(None, description="System prompt (a Jinja2 template).")
    tools: list[str] = Field(
        default_factory=list,
        description="Tool specs run server-side: 'module:attr' or 'path/to/file.py:attr'.",
    )
    memory: bool = Field(
        False, description="Recall and remember in the memory namespace named after the agent."
    )
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_tool_rounds: int = Field(10, ge=1, le=100)
    description: str = Field("", description="Shown in /v1/models.")


class JWTSettings(BaseModel):
    """Bearer JWTs the server accepts besides its own API keys (a ``[jwt]`` table).

    Give exactly one key source: ``jwks_url``, ``public_key`` (PEM text or a PEM file
    path) or ``secret`` (HMAC). The allowed algorithms must fit the key source: HS*
    only with ``secret``, never ``none``.
    """

    model_config = ConfigDict(extra="forbid")

    jwks_url: str | None = None
    public_key: str | None = None
    secret: str | None = Field(None, repr=False)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    issuer: str | None = None
    audience: str | None = None
    leeway: float = Field(30.0, ge=0, le=600, description="Clock skew allowed, in seconds.")
    scope_claim: str = Field("scope", description="Claim holding the scopes (list or string).")
    subject_claim: str = "sub"


class ServerSettings(BaseModel):
    """``fluent-ai serve`` limits and timings (a ``[server]`` table)."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest request body.")
    upstream_timeout: float = Field(120.0, gt=0, description="Seconds one model call may take.")
    shutdown_grace: float = Field(30.0, ge=0, description="Seconds to finish streams on stop.")
    default_rpm: int | None = Field(None, ge=1, description="Requests/min for keys without one.")
    default_tpm: int | None = Field(None, ge=1, description="Tokens/min for keys without one.")
    ws_queue: int = Field(256, ge=1, description="Events queued per WebSocket before it is cut.")
    ws_max_message_bytes: int = Field(64 * 1024, ge=256)
    heartbeat_interval: float = Field(15.0, gt=0)
    heartbeat_timeout: float = Field(45.0, gt=0)
    typing_ttl: float = Field(5.0, gt=0)


class Settings(BaseSettings):
    """Everything configurable without code. Environment beats the config file."""

    model_config = SettingsConfigDict(env_prefix="FLUENT_AI_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data and config directory.")
    model: str | None = Field(None, description="Default model spec, e.g. openai:gpt-4o-mini.")
    local_model_path: str | None = Field(None, description="A GGUF file to use as `local`.")
    local_context: int = Field(4096, ge=256, le=131072, description="Embedded model context.")
    local_threads: int = Field(0, ge=0, le=512, description="CPU threads; 0 = all cores.")
    local_stall_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds the embedded model waits for a stalled reader before it stops.",
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(120.0, gt=0, description="Seconds allowed between two reads.")
    max_retries: int = Field(3, ge=0, le=20, description="Retries after a retryable failure.")
    retry_base_delay: float = Field(
        0.5, gt=0, le=60, description="First backoff step in seconds (doubles, full jitter)."
    )
    deadline: float = Field(300.0, gt=0, description="Seconds for a whole call, retries included.")
    max_concurrency: int = Field(64, ge=1, description="Requests in flight per provider.")
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description="Your own model names: an `[aliases]` table, "
        "e.g. fast = 'groq:llama-3.1-8b-instant'.",
    )
    rate_limits: dict[str, RateLimitSettings] = Field(
        default_factory=dict,
        description="Client-side limits per provider: `[rate_limits.openai]` rpm / tpm.",
    )
    memory_store: str | None = Field(
        None,
        description="Where memories live: a SQLite file (default memory.db under home) "
        "or a postgresql:// URL.",
    )
    history_store: str | None = Field(
        None,
        description="Where conversations live: a SQLite file (default history.db under home) "
        "or a postgresql:// URL.",
    )
    embedding_model: str = Field(
        "local",
        description="Embedder for memory: local (all-MiniLM-L6-v2, offline) or a hosted "
        "model such as openai:text-embedding-3-small.",
    )
    tools: list[str] = Field(
        default_factory=list,
        description="Tools `fluent-ai mcp serve` always serves: 'module:attr' or "
        "'path/to/file.py:attr' specs, e.g. tools = ['mytools:ALL'].",
    )
    database_url: str | None = Field(
        None,
        description="A postgresql:// URL shared by server replicas: the default for "
        "memory_store, history_store and keys_store.",
    )
    redis_url: str | None = Field(
        None,
        description="redis:// URL: rate limits and realtime rooms shared by server replicas.",
    )
    keys_store: str | None = Field(
        None,
        description="Where server API keys live: a SQLite file (default keys.db under home) "
        "or a postgresql:// URL.",
    )
    agents: dict[str, AgentSettings] = Field(
        default_factory=dict, description="Agents served as `agent:NAME`: `[agents.NAME]`."
    )
    jwt: JWTSettings | None = Field(None, description="Accept bearer JWTs: a `[jwt]` table.")
    oauth: dict[str, OAuth2Config] = Field(
        default_factory=dict,
        description="OAuth2 clients for upstreams and MCP servers: `[oauth.NAME]` tables "
        "(fluent-ai auth login NAME).",
    )
    server: ServerSettings = Field(default_factory=ServerSettings)

    @model_validator(mode="after")
    def _shared_database(self) -> Settings:
        """``database_url`` is where every store lives unless one is named on its own."""
        if self.database_url:
            self.memory_store = self.memory_store or self.database_url
            self.history_store = self.history_store or self.database_url
            self.keys_store = self.keys_store or self.database_url
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_home() / "config.toml")
        return (init_settings, env_settings, toml)

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values (for ``/config`` and debugging)."""
        from fluent_ai.errors import redact_url

        data = {
            k: str(v) if isinstance(v, Path) else v for k, v in self.model_dump(mode="json").items()
        }
        for key in ("database_url", "redis_url", "memory_store", "history_store", "keys_store"):
            if isinstance(data.get(key), str) and "://" in data[key]:
                data[key] = redact_url(data[key])
        jwt = data.get("jwt")
        if isinstance(jwt, dict) and jwt.get("secret"):
            jwt["secret"] = "***"
        return data


def load_settings() -> Settings:
    """Read the settings; a bad value or config file is a :class:`ConfigurationError`."""
    import tomllib

    from pydantic import ValidationError

    from fluent_ai._validation import problems as describe
    from fluent_ai.errors import ConfigurationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = describe(exc)
        raise ConfigurationError(
            f"invalid settings (FLUENT_AI_* variables or {default_home() / 'config.toml'}): "
            f"{problems}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{default_home() / 'config.toml'} is not valid TOML: {exc}"
        ) from None
