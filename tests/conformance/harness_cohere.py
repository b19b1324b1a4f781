"""The native Cohere Chat v2 adapter against the fake Cohere server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.cohere import CohereProvider
from tests.conformance.spec import (
    GOOD_KEY,
    HarnessBase,
    Scenario,
    joined_text,
    transport_config,
)
from tests.fakes.cohere_server import Behaviour, FakeCohereServer


class CohereHarness(HarnessBase):
    name = "cohere"
    model = "command-a-03-2025"
    supports_thinking = True
    supports_error_events = False

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> CohereProvider:
        config = transport_config(max_retries)
        return CohereProvider(
            api_key=api_key,
            base_url=self.server.base_url,
            model=self.model,
            config=config,
            pool=self.pool,
        )

    @staticmethod
    def _behaviour(s: Scenario) -> Behaviour:
        if s.status != 200:
            headers = {"Retry-After": s.retry_after} if s.retry_after is not None else {}
            return Behaviour.error(s.status, f"upstream said {s.status}", headers=headers)
        calls = [
            {"id": c.id, "name": c.name, "arguments": json.dumps(c.arguments)} for c in s.tool_calls
        ]
        return Behaviour(
            text=s.text,
            thinking=s.thinking,
            tool_calls=calls,
            usage={
                "billed_units": {"input_tokens": s.usage[0], "output_tokens": s.usage[1]},
                "tokens": {"input_tokens": s.usage[0], "output_tokens": s.usage[1]},
            },
            cut_after=s.cut_after,
            malformed_after=s.malformed_after,
        )

    def bodies(self) -> list[Any]:
        return [r.body for r in self.server.chat_requests]

    def system_text(self, body: Any) -> str | None:
        texts = [joined_text(m["content"]) for m in body["messages"] if m["role"] == "system"]
        return texts[0] if texts else None

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [
            (m["role"], joined_text(m.get("content")))
            for m in body["messages"]
            if m["role"] in ("user", "assistant")
        ]

    def image_data(self, body: Any) -> str | None:
        content = body["messages"][-1]["content"]
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "image_url":
                url: str = part["image_url"]["url"]
                return url.partition("base64,")[2]
        return None

    def tool_names(self, body: Any) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools", [])]

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        for m in body["messages"]:
            if m["role"] == "tool":
                return m["tool_call_id"], joined_text(m["content"])
        return None


@contextmanager
def harness() -> Iterator[CohereHarness]:
    with FakeCohereServer(api_key=GOOD_KEY) as server:
        yield CohereHarness(server)
