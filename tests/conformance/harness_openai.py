"""The OpenAI-compatible adapter against the fake Chat Completions server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.openai_compat import OpenAICompatibleProvider
from tests.conformance.spec import (
    GOOD_KEY,
    HarnessBase,
    Scenario,
    transport_config,
)
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


class OpenAIHarness(HarnessBase):
    name = "openai"
    model = "gpt-4o-mini"
    supports_thinking = False
    supports_error_events = True

    def provider(
        self, *, api_key: str = GOOD_KEY, max_retries: int = 0
    ) -> OpenAICompatibleProvider:
        config = transport_config(max_retries)
        return OpenAICompatibleProvider(
            name="openai",
            base_url=self.server.base_url,
            api_key=api_key,
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
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in s.tool_calls
        ]
        return Behaviour(
            text=s.text,
            tool_calls=calls or None,
            usage={
                "prompt_tokens": s.usage[0],
                "completion_tokens": s.usage[1],
                "total_tokens": sum(s.usage),
            },
            cut_after=s.cut_after,
            malformed_after=s.malformed_after,
            error_event_after=-1 if s.error_event_first else None,
        )

    def bodies(self) -> list[Any]:
        return [r.body for r in self.server.chat_requests]

    def system_text(self, body: Any) -> str | None:
        texts = [m["content"] for m in body["messages"] if m["role"] == "system"]
        return texts[0] if texts else None

    def turns(self, body: Any) -> list[tuple[str, str]]:
        out = []
        for m in body["messages"]:
            if m["role"] in ("user", "assistant"):
                content = m["content"]
                if isinstance(content, list):
                    content = "".join(p.get("text", "") for p in content)
                out.append((m["role"], content or ""))
        return out

    def image_data(self, body: Any) -> str | None:
        for part in body["messages"][-1]["content"]:
            if part.get("type") == "image_url":
                url: str = part["image_url"]["url"]
                return url.partition("base64,")[2]
        return None

    def tool_names(self, body: Any) -> list[str]:
        return [t["function"]["name"] for t in body.get("tools", [])]

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        for m in body["messages"]:
            if m["role"] == "tool":
                return m["tool_call_id"], m["content"]
        return None


@contextmanager
def harness() -> Iterator[OpenAIHarness]:
    with FakeOpenAIServer(api_key=GOOD_KEY) as server:
        yield OpenAIHarness(server)
