"""The native Anthropic adapter against the fake Messages API server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.anthropic import AnthropicProvider
from fluent_ai.transport.http import TransportConfig
from fluent_ai.transport.pool import ClientPool
from fluent_ai.transport.retry import RetryPolicy
from tests.conformance.spec import GOOD_KEY, Scenario
from tests.fakes.anthropic_server import Behaviour, FakeAnthropicServer


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


class AnthropicHarness:
    name = "anthropic"
    model = "claude-sonnet-4-5"
    supports_thinking = True
    supports_error_events = True

    def __init__(self, server: FakeAnthropicServer) -> None:
        self.server = server
        self.pool = ClientPool()

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> AnthropicProvider:
        config = TransportConfig(retry=RetryPolicy(max_retries=max_retries, base_delay=0.01))
        return AnthropicProvider(
            api_key=api_key,
            base_url=self.server.base_url,
            model=self.model,
            config=config,
            pool=self.pool,
        )

    def queue(self, *scenarios: Scenario) -> None:
        self.server.queue(*(self._behaviour(s) for s in scenarios))

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
        return None if system is None else _text(system)

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [(m["role"], _text(m["content"])) for m in body["messages"]]

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
                    return block["tool_use_id"], _text(block["content"])
        return None


@contextmanager
def harness() -> Iterator[AnthropicHarness]:
    with FakeAnthropicServer(api_key=GOOD_KEY) as server:
        yield AnthropicHarness(server)
