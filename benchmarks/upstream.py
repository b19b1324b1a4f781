"""A fast OpenAI-compatible upstream on loopback, so a client benchmark measures the client.

The server is a bare asyncio protocol (uvloop when the interpreter has it) that answers
``POST .../chat/completions`` with canned bytes: one ``chat.completion`` JSON object, or,
when the body asks for ``"stream": true``, an SSE stream of ``--chunks`` content chunks
(``--delay`` seconds apart), a finish chunk, a usage chunk when ``include_usage`` was
asked, and ``data: [DONE]``. HTTP/1.1 keep-alive, chunked transfer encoding for streams.
It parses nothing it does not need: the request's headers are only searched for
``content-length``, the body only for the ``stream`` flag. It imports nothing from
fluent_ai or any peer, so every client meets the same server in its own process.

Run alone: ``python benchmarks/upstream.py [--chunks 50] [--delay 0]`` prints
``listening on http://127.0.0.1:PORT/v1`` and serves until interrupted. From Python,
``with Upstream(chunks=50) as up: up.base_url`` starts it in a child process on a free
port and stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_HEAD_END = b"\r\n\r\n"


def token(i: int) -> str:
    """Chunk ``i``'s text; distinct per chunk (LiteLLM stops a stream that repeats one)."""
    return f"t{i} "


def completion_body(chunks: int) -> bytes:
    """The non-streamed answer: the same text a stream of ``chunks`` chunks spells."""
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "bench",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(token(i) for i in range(chunks)),
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks},
        },
        separators=(",", ":"),
    ).encode()


def _event(payload: dict[str, object]) -> bytes:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)  # one HTTP chunk per SSE event


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_events(chunks: int) -> tuple[list[bytes], bytes, bytes]:
    """(the content events in order, the finish event, the usage event)."""
    usage = _chunk({})
    usage["choices"] = []
    usage["usage"] = {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks}
    content = [_event(_chunk({"role": "assistant", "content": token(0)}))]
    content += [_event(_chunk({"content": token(i)})) for i in range(1, chunks)]
    return content, _event(_chunk({}, "stop")), _event(usage)


class _Canned:
    """Every byte string the server sends, built once."""

    def __init__(self, chunks: int) -> None:
        body = completion_body(chunks)
        self.json = (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        self.content, self.finish, self.usage = stream_events(chunks)
        self.done = _event_done()
        self.whole = b"".join([self.stream_head, *self.content, self.finish])


def _event_done() -> bytes:
    data = b"data: [DONE]\n\n"
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


class _Connection(asyncio.Protocol):
    def __init__(self, canned: _Canned, delay: float) -> None:
        self.canned = canned
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a delayed stream is being written: later requests wait
        self.writer: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._serve()

    def _serve(self) -> None:
        while self.transport is not None and not self.busy:
            end = self.buffer.find(_HEAD_END)
            if end < 0:
                return
            match = _LENGTH.search(self.buffer, 0, end + 2)
            length = int(match.group(1)) if match else 0
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = self.buffer[end + 4 : total]
            self.buffer = self.buffer[total:]
            if _STREAM.search(body) is None:
                self.transport.write(self.canned.json)
            elif self.delay <= 0:
                self.transport.write(self._whole_stream(b"include_usage" in body))
            else:
                self.busy = True
                self.writer = asyncio.ensure_future(self._slow_stream(b"include_usage" in body))

    def _whole_stream(self, usage: bool) -> bytes:
        c = self.canned
        return c.whole + c.usage + c.done if usage else c.whole + c.done

    async def _slow_stream(self, usage: bool) -> None:
        c = self.canned
        transport = self.transport
        assert transport is not None
        transport.write(c.stream_head + c.content[0])
        for event in c.content[1:]:
            await asyncio.sleep(self.delay)
            if transport.is_closing():
                return
            transport.write(event)
        transport.write(c.finish + (c.usage if usage else b"") + c.done)
        self.busy = False
        self._serve()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int, chunks: int, delay: float) -> None:
    """Serve until cancelled; print the base URL once listening (the parent reads it)."""
    canned = _Canned(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(canned, delay), host, port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://{host}:{bound}/v1", flush=True)
    async with server:
        await server.serve_forever()


class Upstream:
    """The server in a child process on a free loopback port: ``with Upstream() as up:``."""

    def __init__(self, chunks: int = 50, delay: float = 0.0, python: str = sys.executable) -> None:
        self.chunks = chunks
        self.delay = delay
        self.python = python
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Upstream:
        command = [self.python, str(Path(__file__).resolve()), "--chunks", str(self.chunks)]
        command += ["--delay", str(self.delay), "--port", "0"]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"upstream did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--chunks", type=int, default=50, help="content chunks per stream")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args()
    if args.chunks < 1 or args.delay < 0:
        parser.error("--chunks must be >= 1 and --delay >= 0")
    started = time.perf_counter()
    try:
        _run(serve(args.host, args.port, args.chunks, args.delay))
    except KeyboardInterrupt:
        print(f"stopped after {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when the interpreter has it, else on asyncio's loop."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
