"""A fallback chain, and what each answer cost.

The first model here is a scripted stand-in for a hosted model that is down (HTTP 503);
the chain moves on to the embedded local model, which really answers, offline. With keys
set, use real models instead:

    .model("anthropic:claude-sonnet-4-5", fallback=["openai:gpt-4o-mini", "local"])

Run: .venv/bin/python examples/fallback_and_cost.py
"""

from __future__ import annotations

import asyncio

from fluent_ai import Done, FluentAI, ProviderError, Reply, ScriptedModel, TextDelta


async def main() -> None:
    down = ScriptedModel(Reply(error=ProviderError("upstream is down", status=503)))
    agent = await (
        FluentAI.agent("resilient").model(down, fallback=["local"]).max_tokens(60).abuild()
    )
    print(f"chain: {agent.model} -> {', '.join(agent.fallback_models)}")
    async for chunk in agent.chat("Name three primary colours."):
        if isinstance(chunk, Done):
            cost = "unknown" if chunk.cost_usd is None else f"${chunk.cost_usd:.6f}"
            print(f"\n[answered by {chunk.model}; cost {cost}]")
        elif isinstance(chunk, TextDelta):
            print(chunk.text, end="", flush=True)
    print(f"agent totals: {agent.usage.total_tokens} tokens, ${agent.cost_usd:.6f}")
    await FluentAI.aclose()


if __name__ == "__main__":
    asyncio.run(main())
