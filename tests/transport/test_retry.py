"""When a failed request is retried, and how long the transport waits first."""

from __future__ import annotations

import calendar
import email.utils
import os
import time
from collections.abc import Iterator

import httpx2
import pytest

from fluent_ai.errors import (
    AuthenticationError,
    CircuitOpenError,
    ConfigurationError,
    ContextLengthError,
    FluentAIError,
    InvalidRequestError,
    MalformedResponseError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    StreamInterruptedError,
)
from fluent_ai.providers.openai_wire import map_http_error
from fluent_ai.transport.retry import RetryPolicy, is_retryable, parse_retry_after, upstream_wait
from fluent_ai.transport.status import error_for_status

NOW = float(calendar.timegm((2024, 5, 1, 12, 0, 0)))


@pytest.fixture
def non_utc_local_time() -> Iterator[None]:
    """Run with the process in a zone five hours behind UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "EST+05"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


# -- parse_retry_after -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("  7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("0.25", 0.25), ("-3", 0.0)],
)
def test_parse_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "12 seconds", "0x10"])
def test_parse_retry_after_unusable_values(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_parse_retry_after_http_date_in_the_future() -> None:
    value = email.utils.formatdate(NOW + 30, usegmt=True)
    assert value.endswith("GMT")
    assert parse_retry_after(value, now=NOW) == 30.0


def test_parse_retry_after_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 3600, usegmt=True), now=NOW) == 0.0


def test_parse_retry_after_http_date_against_the_real_clock() -> None:
    value = email.utils.formatdate(time.time() + 60, usegmt=True)
    seconds = parse_retry_after(value)
    assert seconds is not None
    assert 50.0 < seconds <= 60.0


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 01 May 2024 12:00:42 GMT",  # IMF-fixdate
        "Wednesday, 01-May-24 12:00:42 GMT",  # obsolete RFC 850
        "Wed May  1 12:00:42 2024",  # obsolete asctime, no zone: GMT by definition
        "Wed, 01 May 2024 14:00:42 +0200",
    ],
)
def test_parse_retry_after_http_date_formats(value: str) -> None:
    assert parse_retry_after(value, now=NOW) == 42.0


@pytest.mark.usefixtures("non_utc_local_time")
@pytest.mark.parametrize("value", ["Wed, 01 May 2024 12:00:42 GMT", "Wed May  1 12:00:42 2024"])
def test_parse_retry_after_http_date_ignores_the_local_zone(value: str) -> None:
    assert parse_retry_after(value, now=NOW) == 42.0


# -- RetryPolicy.delay -----------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(7))
def test_delay_is_full_jitter_within_the_exponential_ceiling(attempt: int) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    ceiling = min(8.0, 0.5 * 2**attempt)
    error = ProviderError("boom", status=500)
    delays = [policy.delay(attempt, error) for _ in range(300)]
    assert all(0.0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range, not just near the ceiling or near zero.
    assert min(delays) < ceiling * 0.25
    assert max(delays) > ceiling * 0.75


def test_delay_without_retry_after_on_a_rate_limit_uses_jitter() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    delays = {policy.delay(0, RateLimitError("slow down")) for _ in range(50)}
    assert all(0.0 <= d <= 0.1 for d in delays)
    assert len(delays) > 1


@pytest.mark.parametrize("attempt", [0, 3, 10])
def test_retry_after_wins_over_backoff(attempt: int) -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, max_retry_after=60.0)
    assert policy.delay(attempt, RateLimitError("slow down", retry_after=7.5)) == 7.5
    assert policy.delay(attempt, RateLimitError("slow down", retry_after=0.0)) == 0.0


def test_retry_after_is_capped_by_max_retry_after() -> None:
    policy = RetryPolicy(max_retry_after=5.0)
    assert policy.delay(0, RateLimitError("slow down", retry_after=120.0)) == 5.0


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 3
    assert policy.deadline > policy.max_retry_after > policy.max_delay > policy.base_delay > 0


# -- is_retryable ----------------------------------------------------------------------

QUOTA_BODY = """{
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing \
details. For more information on this error, read the docs: \
https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": null,
        "code": "insufficient_quota"
    }
}"""


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("slow down", body='{"error": {"code": "rate_limit_exceeded"}}'),
        RateLimitError("slow down", retry_after=1.0),
        RequestTimeoutError("read timeout"),
        RequestTimeoutError("HTTP 408", status=408),
        ProviderConnectionError("refused"),
        ProviderError("conflict", status=409),
        ProviderError("internal", status=500),
        ProviderError("bad gateway", status=502),
        ProviderError("unavailable", status=503),
        ProviderError("gateway timeout", status=504),
        ProviderError("overloaded", status=529),
    ],
    ids=repr,
)
def test_retryable_errors(error: FluentAIError) -> None:
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("quota", body='{"error": {"code": "insufficient_quota"}}'),
        RateLimitError("quota", body=QUOTA_BODY, retry_after=1.0),
        RateLimitError("billing", body='{"error": {"code": "billing_hard_limit_reached"}}'),
        AuthenticationError("bad key", status=401),
        PermissionDeniedError("forbidden", status=403),
        ModelNotFoundError("no model", status=404),
        InvalidRequestError("bad request", status=400),
        InvalidRequestError("unprocessable", status=422),
        ContextLengthError("too long", status=400),
        ProviderError("teapot", status=418),
        ProviderError("no status"),
        MalformedResponseError("bad json", status=200),
        StreamInterruptedError("cut"),
        CircuitOpenError("open", retry_after=3.0),
        ConfigurationError("no key"),
    ],
    ids=repr,
)
def test_errors_that_are_not_retried(error: FluentAIError) -> None:
    assert not is_retryable(error)


@pytest.mark.parametrize(
    ("status", "body", "error_type", "retryable"),
    [
        (429, '{"error": {"message": "Rate limit reached"}}', RateLimitError, True),
        (429, QUOTA_BODY, RateLimitError, False),
        (401, '{"error": {"message": "Incorrect API key"}}', AuthenticationError, False),
        (400, '{"error": {"message": "bad"}}', InvalidRequestError, False),
        (404, '{"error": {"message": "no such model"}}', ModelNotFoundError, False),
        (408, "", RequestTimeoutError, True),
        (409, "", ProviderError, True),
        (500, "oops", ProviderError, True),
        (503, "<html>down</html>", ProviderError, True),
    ],
)
def test_openai_error_mapping_decides_retries(
    status: int, body: str, error_type: type[ProviderError], retryable: bool
) -> None:
    error = map_http_error("openai")(status, httpx2.Headers(), body)
    assert type(error) is error_type
    assert error.status == status
    assert is_retryable(error) is retryable


# -- Retry-After on any status -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, ModelNotFoundError),
        (408, RequestTimeoutError),
        (409, ProviderError),
        (413, InvalidRequestError),
        (429, RateLimitError),
        (500, ProviderError),
        (503, ProviderError),
        (529, ProviderError),
    ],
)
def test_error_for_status_keeps_retry_after_for_every_status(
    status: int, error_type: type[ProviderError]
) -> None:
    error = error_for_status(status, "busy", provider="p", retry_after=2.5)
    assert type(error) is error_type
    assert error.retry_after == 2.5
    assert error.status == status


def test_openai_mapper_reads_retry_after_on_a_503() -> None:
    error = map_http_error("openai")(503, httpx2.Headers({"retry-after": "2"}), "{}")
    assert type(error) is ProviderError
    assert error.retry_after == 2.0


def test_retry_after_on_a_server_error_wins_over_backoff() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, max_retry_after=5.0)
    assert policy.delay(0, ProviderError("down", status=503, retry_after=3.0)) == 3.0
    assert policy.delay(0, ProviderError("down", status=503, retry_after=30.0)) == 5.0
    assert upstream_wait(ProviderError("down", status=503)) is None
    assert upstream_wait(ConfigurationError("no key")) is None


def test_rate_limit_error_constructor_is_unchanged() -> None:
    error = RateLimitError("slow", provider="p", body="b", code="c", retry_after=1.0)
    assert (error.status, error.retry_after, error.code, error.provider) == (429, 1.0, "c", "p")
    assert RateLimitError("slow").retry_after is None
    assert CircuitOpenError("open", retry_after=3.0).retry_after == 3.0
