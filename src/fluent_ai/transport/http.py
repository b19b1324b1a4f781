"""Send a request to one upstream with retries, a circuit breaker and a concurrency limit.

Providers describe *what* to send and how to read an error body; this module owns *how*
it is sent. A streamed response is retried only until its first event has been handed
to the caller: after that a failure becomes :class:`StreamInterruptedError`, because
replaying would duplicate text the user has already seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fluent_ai.errors import (
    ConfigurationError,
    FluentAIError,
    MalformedResponseError,
    ProviderConnectionError,
    RateLimitError,
    RequestTimeoutError,
    StreamInterruptedError,
    excerpt,
)
from fluent_ai.transport.breaker import BreakerRegistry, CircuitBreaker
from fluent_ai.transport.pool import ClientPool, Timeouts, default_pool
from fluent_ai.transport.retry import RetryPolicy, is_retryable
from fluent_ai.transport.sse import SSEDecoder, SSEEvent

if TYPE_CHECKING:
    import httpx

__all__ = ["ErrorMapper", "HttpTransport", "TransportConfig", "default_breakers"]

log = logging.getLogger("fluent_ai.transport")

ErrorMapper = Callable[[int, "httpx.Headers", str], FluentAIError]

_ERROR_BODY_LIMIT = 64 * 1024
_JSON_ANSWER_LIMIT = 16 * 1024 * 1024

_DEFAULT_BREAKERS = BreakerRegistry()


def default_breakers() -> BreakerRegistry:
    """The process-wide breaker registry (one breaker per upstream host)."""
    return _DEFAULT_BREAKERS


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Timeouts, retry policy and the most requests in flight to one provider."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 64


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
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"{provider}: base URL must be an http(s) URL, got {base_url!r}",
                provider=provider,
            )
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.headers = dict(headers)
        self.map_error = map_error
        self.config = config or TransportConfig()
        self._pool = pool or default_pool()
        self._breaker: CircuitBreaker = (breakers or _DEFAULT_BREAKERS).get(parts.netloc)

    # -- public -----------------------------------------------------------------------

    async def request_json(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request (retrying as the policy allows) and return the decoded JSON."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.retry.deadline
        attempt = 0
        while True:
            try:
                try:
                    async with asyncio.timeout(max(0.0, deadline - loop.time())):
                        return await self._json_attempt(method, path, body)
                except TimeoutError:
                    raise self._deadline_error() from None
            except FluentAIError as error:
                wait = self._retry_wait(error, attempt, deadline - loop.time())
                if wait is None:
                    _note_attempts(error, attempt)
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    async def stream_sse(self, path: str, body: Any) -> AsyncGenerator[SSEEvent, None]:
        """POST ``body`` and yield the server-sent events of the answer.

        A server that answers with plain JSON instead of an event stream is tolerated: its
        body arrives as a single event whose ``event`` is ``"json"``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.retry.deadline
        attempt = 0
        while True:
            delivered = False
            try:
                async with aclosing(self._stream_attempt(path, body, deadline)) as events:
                    async for event in events:
                        delivered = True
                        yield event
                return
            except FluentAIError as error:
                if delivered:
                    raise
                wait = self._retry_wait(error, attempt, deadline - loop.time())
                if wait is None:
                    _note_attempts(error, attempt)
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    # -- one attempt ------------------------------------------------------------------

    async def _json_attempt(self, method: str, path: str, body: Any) -> Any:
        client = self._pool.client(self.base_url, self.config.timeouts)
        async with self._slot():
            response = await self._guarded(
                lambda: client.request(
                    method, self.base_url + path, json=body, headers=self.headers
                )
            )
        if response.status_code >= 400:
            raise self._error_from(response, response.text)
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponseError(
                f"{self.provider}: answer is not valid JSON: {excerpt(response.text, 120)}",
                provider=self.provider,
                status=response.status_code,
                body=response.text,
            ) from exc

    async def _stream_attempt(
        self, path: str, body: Any, deadline: float
    ) -> AsyncGenerator[SSEEvent, None]:
        # The provider's concurrency slot is held until the stream is fully read or closed:
        # a stream in flight is a request in flight.
        async with self._slot(), aclosing(self._stream_events(path, body, deadline)) as events:
            async for event in events:
                yield event

    async def _stream_events(
        self, path: str, body: Any, deadline: float
    ) -> AsyncGenerator[SSEEvent, None]:
        import httpx

        client = self._pool.client(self.base_url, self.config.timeouts)
        request = client.build_request(
            "POST",
            self.base_url + path,
            json=body,
            headers={**self.headers, "accept": "text/event-stream"},
        )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                response = await self._guarded(lambda: client.send(request, stream=True))
        except TimeoutError:
            raise self._deadline_error() from None
        yielded = False
        try:
            if response.status_code >= 400:
                raise self._error_from(response, await _read_capped(response))
            content_type = response.headers.get("content-type", "")
            if "json" in content_type and "event-stream" not in content_type:
                # The server ignored the request to stream: pass its whole answer on as
                # one event named ``json`` for the provider to read as a plain answer.
                yielded = True
                yield SSEEvent(data=await _read_capped(response, _JSON_ANSWER_LIMIT), event="json")
                return
            decoder = SSEDecoder()
            async for raw in response.aiter_bytes():
                for event in decoder.feed(raw):
                    yielded = True
                    yield event
            decoder.check()
            if decoder.has_partial_line:
                raise StreamInterruptedError(
                    f"{self.provider}: stream ended in the middle of an event",
                    provider=self.provider,
                )
            for event in decoder.flush():
                yield event
        except httpx.TimeoutException as exc:
            if yielded:
                raise StreamInterruptedError(
                    f"{self.provider}: stream stalled (no data for {self.config.timeouts.read:g}s)",
                    provider=self.provider,
                ) from exc
            raise self._timeout_error(exc) from exc
        except httpx.HTTPError as exc:
            if yielded:
                raise StreamInterruptedError(
                    f"{self.provider}: stream cut: {_describe(exc)}", provider=self.provider
                ) from exc
            raise self._connection_error(exc) from exc
        finally:
            await response.aclose()

    def _slot(self) -> asyncio.Semaphore:
        """The provider's concurrency limit on the running loop."""
        return self._pool.semaphore(self.provider, self.config.max_concurrency)

    async def _guarded(self, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """Run ``send`` under the host's circuit breaker and record the verdict."""
        import httpx

        self._breaker.before_call(self.provider)
        judged = False
        try:
            try:
                response = await send()
            except httpx.TimeoutException as exc:
                self._breaker.record_failure()
                judged = True
                raise self._timeout_error(exc) from exc
            except httpx.HTTPError as exc:
                self._breaker.record_failure()
                judged = True
                raise self._connection_error(exc) from exc
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

    def _retry_wait(self, error: FluentAIError, attempt: int, remaining: float) -> float | None:
        policy: RetryPolicy = self.config.retry
        if attempt >= policy.max_retries or not is_retryable(error):
            return None
        retry_after = error.retry_after if isinstance(error, RateLimitError) else None
        if retry_after is not None and retry_after > policy.max_retry_after:
            return None
        wait = policy.delay(attempt, error)
        if wait >= remaining:
            return None
        log.info(
            "%s: %s; retry %d/%d in %.2fs",
            self.provider,
            error,
            attempt + 1,
            policy.max_retries,
            wait,
        )
        return wait

    def _error_from(self, response: httpx.Response, text: str) -> FluentAIError:
        return self.map_error(response.status_code, response.headers, text)

    def _timeout_error(self, exc: Exception) -> RequestTimeoutError:
        kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
        return RequestTimeoutError(
            f"{self.provider}: {kind} talking to {self.base_url}", provider=self.provider
        )

    def _deadline_error(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"{self.provider}: no answer within the total deadline of "
            f"{self.config.retry.deadline:g}s",
            provider=self.provider,
        )

    def _connection_error(self, exc: Exception) -> ProviderConnectionError:
        return ProviderConnectionError(
            f"{self.provider}: cannot reach {self.base_url}: {_describe(exc)}",
            provider=self.provider,
        )


def _note_attempts(error: FluentAIError, retries: int) -> None:
    """Say in the message that retries happened, so a final error explains its delay."""
    if retries:
        error.message = f"{error.message} (gave up after {retries + 1} attempts)"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return excerpt(text, 160)


async def _read_capped(response: httpx.Response, limit: int = _ERROR_BODY_LIMIT) -> str:
    """Read at most ``limit`` bytes of a body (64 KiB for errors): never a memory hazard."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return data.decode("utf-8", errors="replace")
