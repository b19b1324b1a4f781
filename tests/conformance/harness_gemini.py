"""The Gemini adapter against the fake Gemini API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.gemini import GeminiProvider
from tests.conformance.spec import (
    GOOD_KEY,
    HarnessBase,
    Scenario,
    transport_config,
)
from tests.fakes.gemini_server import Behaviour, FakeGeminiServer


class GeminiHarness(HarnessBase):
    name = "gemini"
    model = "gemini-2.5-flash"
    supports_thinking = True
    supports_error_events = True

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> GeminiProvider:
        config = transport_config(max_retries)
        return GeminiProvider(
            api_key=api_key,
            base_url=self.server.base_url,
            model=self.model,
            config=config,
            pool=self.pool,
        )

    @staticmethod
    def _behaviour(s: Scenario) -> Behaviour:
        if s.status != 200:
            # Gemini says how long to wait in a RetryInfo detail, not a header.
            delay = f"{s.retry_after}s" if s.retry_after is not None else None
            return Behaviour.error(s.status, f"upstream said {s.status}", retry_delay=delay)
        calls = [{"id": c.id, "name": c.name, "args": c.arguments} for c in s.tool_calls]
        return Behaviour(
            text=s.text,
            thinking=s.thinking,
            tool_calls=calls or None,
            usage={
                "promptTokenCount": s.usage[0],
                "candidatesTokenCount": s.usage[1],
                "totalTokenCount": sum(s.usage),
            },
            cut_after=s.cut_after,
            malformed_after=s.malformed_after,
            error_event_after=0 if s.error_event_first else None,
            error_event_code=503,
        )

    def bodies(self) -> list[Any]:
        return [r.body for r in self.server.chat_requests]

    def system_text(self, body: Any) -> str | None:
        instruction = body.get("systemInstruction")
        if not instruction:
            return None
        return "".join(p.get("text", "") for p in instruction["parts"])

    def turns(self, body: Any) -> list[tuple[str, str]]:
        out = []
        for content in body["contents"]:
            texts = [p["text"] for p in content["parts"] if "text" in p]
            if texts:
                role = "assistant" if content["role"] == "model" else "user"
                out.append((role, "".join(texts)))
        return out

    def image_data(self, body: Any) -> str | None:
        for part in body["contents"][-1]["parts"]:
            if "inlineData" in part:
                data: str = part["inlineData"]["data"]
                return data
        return None

    def tool_names(self, body: Any) -> list[str]:
        return [
            declaration["name"]
            for tool in body.get("tools", [])
            for declaration in tool.get("functionDeclarations", [])
        ]

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        for content in body["contents"]:
            for part in content["parts"]:
                if "functionResponse" in part:
                    response = part["functionResponse"]
                    return response["name"], json.dumps(response["response"])
        return None


@contextmanager
def harness() -> Iterator[GeminiHarness]:
    with FakeGeminiServer(api_key=GOOD_KEY) as server:
        yield GeminiHarness(server)
