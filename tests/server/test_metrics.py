"""``/metrics`` (Prometheus text) and ``/healthz`` of a live server."""

from __future__ import annotations

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import MODEL, MakeServer
from tests.server.live import LiveServer


def samples(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_tokens_streams_and_limits_are_counted(
    server: LiveServer, client: openai.OpenAI
) -> None:
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    with client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    ) as stream:
        for _ in stream:
            pass
    with httpx.Client(base_url=server.url, timeout=10) as http:
        slow = {"Authorization": "Bearer slow-token"}
        body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
        assert http.post("/v1/chat/completions", json=body, headers=slow).status_code == 200
        assert http.post("/v1/chat/completions", json=body, headers=slow).status_code == 429
        assert http.get("/v1/no/such/thing").status_code == 404
    found = samples(server)
    route = "/v1/chat/completions"
    ok = (("method", "POST"), ("route", route), ("status", "200"))
    limited = (("method", "POST"), ("route", route), ("status", "429"))
    assert found[("fluent_ai_http_requests_total", ok)] == 3
    assert found[("fluent_ai_http_requests_total", limited)] == 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert found[("fluent_ai_http_requests_total", unmatched)] == 1
    assert (
        found[
            (
                "fluent_ai_http_request_duration_seconds_count",
                (("method", "POST"), ("route", route)),
            )
        ]
        == 4
    )
    assert found[("fluent_ai_rate_limited_requests_total", (("limit", "rpm"),))] == 1
    output = found[("fluent_ai_tokens_total", (("kind", "output"), ("model", MODEL)))]
    assert output == 3 * 5  # three answers of five words each from the fake upstream
    assert found[("fluent_ai_tokens_total", (("kind", "input"), ("model", MODEL)))] > 0
    assert found[("fluent_ai_streams_in_flight", ())] == 0
    # the /metrics request itself is in flight while it is answered
    assert found[("fluent_ai_http_requests_in_flight", ())] == 1


def test_two_apps_keep_separate_counts(make_server: MakeServer) -> None:
    first, second = make_server(), make_server()
    httpx.get(f"{first.url}/healthz", timeout=10)
    key = (
        "fluent_ai_http_requests_total",
        (("method", "GET"), ("route", "/healthz"), ("status", "200")),
    )
    assert samples(first)[key] == 1
    assert key not in samples(second)


def test_healthz_reports_its_checks(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"models": {"status": "ok", "error": None}},
    }


def test_healthz_is_503_naming_the_part_that_is_down(make_server: MakeServer) -> None:
    server = make_server(redis_url="redis://:hunter2@127.0.0.1:1/0")  # nothing listens on port 1
    response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["models"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["redis"]["error"] == "ConnectionError"  # the kind, nothing more
    assert "hunter2" not in response.text
    assert "127.0.0.1" not in response.text
