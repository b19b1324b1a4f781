"""The chat loop: the model answers, then a callback decides what happens next.

Here the callback reprompts once for a shorter answer, then asks the user (stdin) until
they type an empty line. Run: .venv/bin/python examples/chat_loop.py
"""

from __future__ import annotations

import asyncio

from fluent_ai import Break, Conversation, FluentAI, Reprompt, UserPrompt
from fluent_ai.types import ChatResult


async def main() -> None:
    agent = await FluentAI.agent("looper").model("local").max_tokens(80).abuild()
    reprompted = False

    def on_turn(conversation: Conversation, result: ChatResult) -> Reprompt | UserPrompt | Break:
        nonlocal reprompted
        print(f"\nassistant: {result.text}\n")
        if not reprompted:
            reprompted = True
            return Reprompt("Now say it in at most ten words.")
        return UserPrompt("you (empty line to stop): ")

    async def ask(prompt: str) -> str | None:
        answer = await asyncio.to_thread(input, prompt)
        return answer or None

    results = await agent.chat_loop("What is a rainbow?", on_turn, ask_user=ask)
    print(f"{len(results)} turns")


if __name__ == "__main__":
    asyncio.run(main())
