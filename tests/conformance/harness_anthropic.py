"""The native Anthropic adapter against the fake Messages API server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.anthropic import AnthropicProvider
from tests.conformance.spec import (
    GOOD_KEY,
    HarnessBase,
    Scenario,
    joined_text,
    transport_config,
)
from tests.fakes.anthropic_server import Behaviour, FakeAnthropicServer


class AnthropicHarness(HarnessBase):
    name = "anthropic"
    model = "claude-sonnet-4-5"
    supports_thinking = True
    supports_error_events = True

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> AnthropicProvider:
        config = transport_config(max_retries)
        return AnthropicProvider(
            api_key=api_key,
            base_url=self.server.base_url,
            model=self.model,
            config=config,
            pool=self.pool,
        )

    @staticmethod
    def _behaviour(s: Scenario) -> Behaviour:
        if s.status != 200:
            headers = {"retry-after": s.retry_after} if s.retry_after is not None else {}
            return Behaviour.error(s.status, f"upstream said {s.status}", headers=headers)
        return Behaviour(
            text=s.text,
            thinking=s.thinking,
            tool_calls=[{"id": c.id, "name": c.name, "input": c.arguments} for c in s.tool_calls],
            usage={"input_tokens": s.usage[0], "output_tokens": s.usage[1]},
            cut_after=s.cut_after,
            malformed_after=s.malformed_after,
            error_event_after=0 if s.error_event_first else None,
        )

    def bodies(self) -> list[Any]:
        return [r.body for r in self.server.message_requests]

    def system_text(self, body: Any) -> str | None:
        system = body.get("system")
        return None if system is None else joined_text(system)

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], joined_text(m["content"])) for m in body["messages"]]

    def image_data(self, body: Any) -> str | None:
        content = body["messages"][-1]["content"]
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "image" and block["source"]["type"] == "base64":
                data: str = block["source"]["data"]
                return data
        return None

    def tool_names(self, body: Any) -> list[str]:
        return [t["name"] for t in body.get("tools", [])]

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        for message in body["messages"]:
            content = message["content"]
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_result":
                    return block["tool_use_id"], joined_text(block["content"])
        return None


@contextmanager
def harness() -> Iterator[AnthropicHarness]:
    with FakeAnthropicServer(api_key=GOOD_KEY) as server:
        yield AnthropicHarness(server)
