"""Run an ASGI app with uvicorn on a free loopback port in a thread, for one test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve(app: Any, *, deadline: float = 20.0) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` while the block runs; the server is stopped after it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-asgi-server", daemon=True)
    thread.start()
    end = time.monotonic() + deadline
    while not server.started:
        if not thread.is_alive() or time.monotonic() > end:
            server.should_exit = True
            thread.join(10)
            raise AssertionError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "the test server did not stop"
