"""The Bedrock Converse adapter against the fake SigV4-checking Bedrock server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fluent_ai.providers.bedrock import BedrockProvider
from tests.conformance.spec import (
    GOOD_KEY,
    HarnessBase,
    Scenario,
    transport_config,
)
from tests.fakes.bedrock_server import Behaviour, FakeBedrockServer

ACCESS_KEY = "AKIDCONFORMANCE"
REGION = "eu-west-3"


class BedrockHarness(HarnessBase):
    name = "bedrock"
    model = "anthropic.claude-3-5-haiku-20241022-v1:0"
    supports_thinking = True
    supports_error_events = True

    def provider(self, *, api_key: str = GOOD_KEY, max_retries: int = 0) -> BedrockProvider:
        """``api_key`` is the secret access key: a wrong one breaks the signature."""
        config = transport_config(max_retries)
        return BedrockProvider(
            region=REGION,
            model=self.model,
            base_url=self.server.base_url,
            access_key=ACCESS_KEY,
            secret_key=api_key,
            config=config,
            pool=self.pool,
            env={},
        )

    @staticmethod
    def _behaviour(s: Scenario) -> Behaviour:
        if s.status != 200:
            headers = {"Retry-After": s.retry_after} if s.retry_after is not None else {}
            return Behaviour(
                status=s.status, error_message=f"upstream said {s.status}", headers=headers
            )
        calls = [{"toolUseId": c.id, "name": c.name, "input": c.arguments} for c in s.tool_calls]
        return Behaviour(
            text=s.text,
            thinking=s.thinking,
            tool_calls=calls,
            usage=s.usage,
            cut_after=s.cut_after,
            malformed_after=s.malformed_after,
            exception_after=-1 if s.error_event_first else None,
            exception_type="internalServerException",
        )

    def bodies(self) -> list[Any]:
        return [r.body for r in self.server.chat_requests]

    def system_text(self, body: Any) -> str | None:
        blocks = body.get("system") or []
        return "".join(b["text"] for b in blocks) if blocks else None

    def turns(self, body: Any) -> list[tuple[str, str]]:
        return [
            (m["role"], "".join(b.get("text", "") for b in m["content"])) for m in body["messages"]
        ]

    def image_data(self, body: Any) -> str | None:
        for block in body["messages"][-1]["content"]:
            if "image" in block:
                data: str = block["image"]["source"]["bytes"]
                return data
        return None

    def tool_names(self, body: Any) -> list[str]:
        tools = (body.get("toolConfig") or {}).get("tools", [])
        return [t["toolSpec"]["name"] for t in tools]

    def tool_result(self, body: Any) -> tuple[str, str] | None:
        for message in body["messages"]:
            for block in message["content"]:
                if "toolResult" in block:
                    result = block["toolResult"]
                    text = "".join(c.get("text", "") for c in result["content"])
                    return result["toolUseId"], text
        return None


@contextmanager
def harness() -> Iterator[BedrockHarness]:
    # AWS answers a bad signature with 403; this suite's wrong-key case expects 401.
    with FakeBedrockServer(
        access_key=ACCESS_KEY, secret_key=GOOD_KEY, region=REGION, auth_failure_status=401
    ) as server:
        yield BedrockHarness(server)
