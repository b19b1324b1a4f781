"""Send a request to one upstream with retries, a circuit breaker and a concurrency limit.

Providers describe *what* to send and how to read an error body; this module owns *how*
it is sent. A streamed response is retried only until its first event has been handed
to the caller: after that a failure becomes :class:`StreamInterruptedError`, because
replaying would duplicate text the user has already seen.

The total deadline covers everything before the first event (waiting for a concurrency
slot, building the client, the headers, and the body bytes until an event is complete);
after the first event only the per-read timeout applies, since a long answer that keeps
flowing is not a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from fluent_ai.errors import (
    ConfigurationError,
    FluentAIError,
    MalformedResponseError,
    StreamInterruptedError,
    excerpt,
    redact_url,
)
from fluent_ai.transport.body import body_chunks, read_body
from fluent_ai.transport.breaker import BreakerRegistry, CircuitBreaker
from fluent_ai.transport.contracts import (
    ErrorMapper,
    RequestSigner,
    StreamDecoder,
    TransportConfig,
)
from fluent_ai.transport.failures import Failures, note_attempts
from fluent_ai.transport.pool import ClientPool, default_pool, httpx_timeout
from fluent_ai.transport.retry import wait_before_retry
from fluent_ai.transport.sse import SSEDecoder, SSEEvent

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "ErrorMapper",
    "HttpTransport",
    "RequestSigner",
    "StreamDecoder",
    "TransportConfig",
    "default_breakers",
]


T = TypeVar("T")

_JSON_ANSWER_LIMIT = 16 * 1024 * 1024

_DEFAULT_BREAKERS = BreakerRegistry()


def default_breakers() -> BreakerRegistry:
    """The process-wide breaker registry (one breaker per upstream host)."""
    return _DEFAULT_BREAKERS


class HttpTransport:
    """One upstream base URL, with the headers and error reader of its provider."""

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        headers: Mapping[str, str],
        map_error: ErrorMapper,
        config: TransportConfig | None = None,
        pool: ClientPool | None = None,
        breakers: BreakerRegistry | None = None,
        sign: RequestSigner | None = None,
    ) -> None:
        try:
            parts = urlsplit(base_url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            valid = False
        if not valid:
            raise ConfigurationError(
                f"{provider}: base URL must be an http(s) URL, got {redact_url(base_url)!r}",
                provider=provider,
            )
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.headers = dict(headers)
        self.map_error = map_error
        self.sign = sign
        self.config = config or TransportConfig()
        self._pool = pool or default_pool()
        # Messages show the URL without credentials; the breaker's host name too, as it
        # appears in CircuitOpenError.
        userinfo, _, host = parts.netloc.rpartition("@")
        secrets = (userinfo, unquote(parts.password or ""), parts.query)
        self._failures = Failures(
            provider,
            redact_url(self.base_url),
            tuple(secret for secret in secrets if secret),
            self.config,
        )
        self._breaker: CircuitBreaker = (breakers or _DEFAULT_BREAKERS).get(host)

    # -- public -----------------------------------------------------------------------

    async def request_json(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request (retrying as the policy allows) and return the decoded JSON."""
        return await self.request(method, path, body)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        expect: Literal["json", "bytes"] = "json",
    ) -> Any:
        """Send one request (retrying as the policy allows) and return its answer.

        ``body`` is sent as JSON; ``files`` and ``data`` as a multipart form instead
        (audio uploads). ``expect="bytes"`` returns the raw body (audio answers).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.retry.deadline
        attempt = 0
        while True:
            try:
                attempt_call = self._attempt(method, path, body, files, data, expect)
                return await self._within(attempt_call, deadline)
            except FluentAIError as error:
                remaining = deadline - loop.time()
                wait = wait_before_retry(self.config.retry, error, attempt, remaining)
                if wait is None:
                    note_attempts(error, attempt)
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    async def stream_sse(
        self,
        path: str,
        body: Any,
        *,
        decoder: Callable[[], StreamDecoder] = SSEDecoder,
        accept: str = "text/event-stream",
    ) -> AsyncGenerator[SSEEvent, None]:
        """POST ``body`` and yield the server-sent events of the answer.

        ``decoder`` reads another streaming format into the same events (AWS event
        streams for Bedrock), ``accept`` is the media type asked for.

        A server that answers with plain JSON instead of an event stream is tolerated: its
        body arrives as a single event whose ``event`` is ``"json"``. The provider's
        concurrency slot is held until the stream is read to its end or closed (a stream
        in flight is a request in flight); close it with ``contextlib.aclosing``.

        One generator on purpose: every layer of async generators costs each chunk a
        resumption. Everything before the first event is awaited under the total
        deadline, and nothing is yielded while a timeout is armed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.retry.deadline
        attempt = 0
        while True:
            delivered = False
            try:
                slot = self._slot()
                await self._within(slot.acquire(), deadline)
                try:
                    sending = self._send_stream(path, body, accept)
                    response = await self._within(sending, deadline)
                    import httpx2  # imported by the pool already: a dictionary look-up

                    try:
                        content_type = response.headers.get("content-type", "")
                        if "json" in content_type and "event-stream" not in content_type:
                            # The server ignored the request to stream: pass its whole
                            # answer on as one event named ``json``.
                            read = read_body(response, self._failures, _JSON_ANSWER_LIMIT)
                            data = await self._within(read, deadline)
                            delivered = True
                            yield SSEEvent(data, "json")
                            return
                        reader = decoder()
                        chunks = body_chunks(response)
                        async with aclosing(chunks):
                            first = await self._within(self._first_events(chunks, reader), deadline)
                            if first:
                                delivered = True
                                for event in first:
                                    yield event
                                try:
                                    async for raw in chunks:
                                        for event in reader.feed(raw):
                                            yield event
                                except httpx2.TimeoutException as exc:
                                    raise self._failures.stalled() from exc
                                except httpx2.HTTPError as exc:
                                    raise self._failures.cut(exc) from exc
                        for event in self._finish(reader):
                            delivered = True
                            yield event
                    finally:
                        await response.aclose()
                finally:
                    slot.release()
                return
            except FluentAIError as error:
                if delivered:
                    error.attempts = attempt + 1
                    raise
                remaining = deadline - loop.time()
                wait = wait_before_retry(self.config.retry, error, attempt, remaining)
                if wait is None:
                    note_attempts(error, attempt)
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    # -- one attempt ------------------------------------------------------------------

    def _prepare(
        self, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> tuple[bytes | None, dict[str, str]]:
        """The body's bytes and the headers to send, signed when the provider signs."""
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        if content is not None:
            headers.setdefault("content-type", "application/json")
        if self.sign is not None:
            headers.update(self.sign(method, url, headers, content or b""))
        return content, headers

    async def _attempt(
        self,
        method: str,
        path: str,
        body: Any,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        data: Mapping[str, str] | None,
        expect: str,
    ) -> Any:
        client = await self._pool.client(self.base_url)
        timeout = httpx_timeout(self.config.timeouts)
        url = self.base_url + path
        headers = dict(self.headers)
        if files is not None:
            # httpx2 writes the multipart boundary into content-type itself.
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            content = None
        else:
            content, headers = self._prepare(method, url, body, headers)
        async with self._slot():
            response = await self._guarded(
                lambda: client.request(
                    method,
                    url,
                    content=content,
                    files=files,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                )
            )
        if response.status_code >= 400:
            raise self._error_from(response, response.text)
        if expect == "bytes":
            return response.content
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponseError(
                f"{self.provider}: answer is not valid JSON: {excerpt(response.text, 120)}",
                provider=self.provider,
                status=response.status_code,
                body=response.text,
            ) from exc

    async def _send_stream(self, path: str, body: Any, accept: str) -> httpx2.Response:
        """Send the streamed request; an error status is read, mapped and raised here."""
        client = await self._pool.client(self.base_url)
        url = self.base_url + path
        content, headers = self._prepare("POST", url, body, {**self.headers, "accept": accept})
        request = client.build_request(
            "POST",
            url,
            content=content,
            headers=headers,
            timeout=httpx_timeout(self.config.timeouts),
        )
        response = await self._guarded(lambda: client.send(request, stream=True))
        if response.status_code < 400:
            return response
        try:
            text = await read_body(response, self._failures)
        finally:
            await response.aclose()
        raise self._error_from(response, text)

    async def _first_events(
        self, chunks: AsyncGenerator[bytes, None], decoder: StreamDecoder
    ) -> list[SSEEvent]:
        """Read until the decoder completes an event; ``[]`` when the body ended first."""
        import httpx2

        try:
            async for raw in chunks:
                events = decoder.feed(raw)
                if events:
                    return events
        except httpx2.TimeoutException as exc:
            raise self._failures.timeout(exc) from exc
        except httpx2.HTTPError as exc:
            raise self._failures.connection(exc) from exc
        return []

    def _finish(self, decoder: StreamDecoder) -> list[SSEEvent]:
        """The body ended: raise what the decoder held back, or return its last events."""
        decoder.check()
        if decoder.has_partial_line:
            raise StreamInterruptedError(
                f"{self.provider}: stream ended in the middle of an event",
                provider=self.provider,
            )
        return decoder.flush()

    def _slot(self) -> asyncio.Semaphore:
        """The provider's concurrency limit on the running loop."""
        return self._pool.semaphore(self.provider, self.config.max_concurrency)

    async def _within(self, awaitable: Awaitable[T], deadline: float) -> T:
        """Await ``awaitable`` before the total deadline (a loop time) or fail."""
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except TimeoutError:
            raise self._failures.deadline() from None

    async def _guarded(self, send: Callable[[], Awaitable[httpx2.Response]]) -> httpx2.Response:
        """Run ``send`` under the host's circuit breaker and record the verdict."""
        import httpx2

        self._breaker.before_call(self.provider)
        judged = False
        try:
            try:
                response = await send()
            except httpx2.TimeoutException as exc:
                self._breaker.record_failure()
                judged = True
                raise self._failures.timeout(exc) from exc
            except httpx2.HTTPError as exc:
                self._breaker.record_failure()
                judged = True
                raise self._failures.connection(exc) from exc
            if response.status_code >= 500:
                self._breaker.record_failure()
            elif response.status_code != 429:
                self._breaker.record_success()
            else:
                self._breaker.release_trial()
            judged = True
            return response
        finally:
            if not judged:
                self._breaker.release_trial()

    # -- errors -----------------------------------------------------------------------

    def _error_from(self, response: httpx2.Response, text: str) -> FluentAIError:
        return self.map_error(response.status_code, response.headers, text)
