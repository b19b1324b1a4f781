"""A loopback Azure OpenAI resource: the fake OpenAI server behind Azure's URLs and key.

Azure serves Chat Completions at ``/openai/deployments/{deployment}/chat/completions``
with a mandatory ``api-version`` query parameter, authenticates with an ``api-key``
header, and words its errors its own way (``{"error": {"code": "401", "message": ...}}``,
``DeploymentNotFound``, content-filter refusals with ``innererror``); api-versions older
than 2024-09-01 reject ``stream_options`` as an unrecognized argument. Answers reuse the
OpenAI fake's JSON and SSE writers; the model they report is the deployment's
underlying model, as Azure's are.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.loopback import LoopbackHandler
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer, Recorded, _Handler

__all__ = ["ACCESS_DENIED", "Behaviour", "FakeAzureServer"]

ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)
DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)
UNRECOGNIZED = "Unrecognized request argument supplied: {}"
#: The first api-version whose chat completions accept ``stream_options``; older ones
#: reject every argument they do not know with a 400.
STREAM_OPTIONS_SINCE = "2024-09-01"
FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content "
    "management policy. Please modify your prompt and retry."
)


class FakeAzureServer(FakeOpenAIServer):
    """``base_url`` is the resource endpoint; ``deployments`` maps names to models."""

    base_path = ""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        deployments: dict[str, str] | None = None,
        api_versions: tuple[str, ...] = ("2024-10-21", "2024-06-01", "2025-01-01-preview"),
    ) -> None:
        super().__init__(api_key=api_key)
        self.deployments = deployments or {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
        self.api_versions = api_versions

    def _handler_class(self) -> type[LoopbackHandler]:
        return _AzureHandler

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if urlsplit(r.path).path.endswith("/chat/completions")]


class _AzureHandler(_Handler):
    fake: FakeAzureServer

    def _azure_error(self, status: int, code: str, message: str, **more: Any) -> None:
        self._json(status, {"error": {"code": code, "message": message, **more}})

    def _checked(self) -> tuple[str, dict[str, list[str]]] | None:
        """The path and query when the key and api-version are right (else answered)."""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if self.fake.api_key is not None and self.headers.get("api-key") != self.fake.api_key:
            self._azure_error(401, "401", ACCESS_DENIED)
            return None
        if query.get("api-version", [""])[0] not in self.fake.api_versions:
            self._azure_error(404, "404", "Resource not found")
            return None
        return parts.path, query

    def do_GET(self) -> None:
        self.fake.record(Recorded("GET", self.path, dict(self.headers), None))
        checked = self._checked()
        if checked is None:
            return
        if checked[0] == "/openai/models":
            models = sorted(set(self.fake.deployments.values()))
            data = [{"id": m, "object": "model", "status": "succeeded"} for m in models]
            self._json(200, {"object": "list", "data": data})
            return
        self._azure_error(404, "404", "Resource not found")

    def do_POST(self) -> None:
        body = self._read_json()
        self.fake.record(Recorded("POST", self.path, dict(self.headers), body))
        checked = self._checked()
        if checked is None:
            return
        segments = checked[0].split("/")
        if len(segments) != 6 or segments[1:3] != ["openai", "deployments"]:
            self._azure_error(404, "404", "Resource not found")
            return
        model = self.fake.deployments.get(unquote(segments[3]))
        if model is None:
            self._azure_error(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND)
            return
        if not isinstance(body, dict):
            self._azure_error(400, "BadRequest", "body is not JSON")
            return
        version = checked[1]["api-version"][0]
        if "stream_options" in body and version < STREAM_OPTIONS_SINCE:
            message = UNRECOGNIZED.format("stream_options")
            error = {"message": message, "type": "invalid_request_error", "param": None}
            self._json(400, {"error": {**error, "code": None}})
            return
        behaviour = dataclasses.replace(self.fake.next_behaviour())
        behaviour.model = behaviour.model or model
        if behaviour.status != 200:
            self._failure(behaviour)
        elif body.get("stream"):
            self._stream(behaviour, body)
        else:
            self._json(200, self._completion(behaviour, body))

    def _failure(self, b: Behaviour) -> None:
        if b.error_code == "content_filter":
            verdicts = {
                name: {"filtered": name == "violence", "severity": "medium"}
                for name in ("hate", "self_harm", "sexual", "violence")
            }
            inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": verdicts}
            body = {"code": "content_filter", "message": FILTERED, "status": 400}
            self._json(400, {"error": {**body, "innererror": inner}}, b.headers)
            return
        error = {"code": b.error_code or str(b.status), "message": b.error_message}
        self._json(b.status, {"error": error}, b.headers)
