"""Stream an answer from the embedded model (no API key needed), then ask a follow-up.

Run: .venv/bin/python examples/quickstart.py
Set OPENAI_API_KEY and pass --model openai:gpt-4o-mini to use OpenAI instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from fluent_ai import ErrorChunk, FluentAI, TextDelta


async def main(model: str) -> int:
    agent = await (
        FluentAI.agent("quickstart")
        .model(model)
        .system_prompt("You are a concise assistant. Today is {{ date }}.")
        .temperature(0.2)
        .max_tokens(120)
        .abuild()
    )
    async for chunk in agent.chat("Why is the sky blue?"):
        if isinstance(chunk, TextDelta):
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        elif isinstance(chunk, ErrorChunk):
            sys.stderr.write(f"\nerror: {chunk.error}\n")
            return 1
    print("\n---")
    follow_up = await agent.chat("Say that again in one sentence.").text()
    print(follow_up)
    print(f"--- {len(agent.history)} messages in the conversation")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    sys.exit(asyncio.run(main(parser.parse_args().model)))
