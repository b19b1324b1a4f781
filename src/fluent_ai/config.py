"""Settings: environment variables (``FLUENT_AI_*``) over ``$FLUENT_AI_HOME/config.toml``.

Provider keys keep their conventional names (``OPENAI_API_KEY`` …) and are read where
the provider is built, not stored here, so they never end up in a settings dump.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["RateLimitSettings", "Settings", "default_home", "load_settings"]


def default_home() -> Path:
    """``$FLUENT_AI_HOME``, else ``~/.fluent-ai``."""
    configured = os.environ.get("FLUENT_AI_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".fluent-ai"


class RateLimitSettings(BaseModel):
    """At most ``rpm`` requests and ``tpm`` tokens per minute to one provider."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1, description="Requests per minute.")
    tpm: int | None = Field(None, ge=1, description="Tokens (input + output) per minute.")


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
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.model_dump().items()}


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
