"""Serve the OpenAI-compatible API and call it with the official ``openai`` SDK.

Run: .venv/bin/python examples/serve_and_call.py

What a deployment does, in one script: create an API key with ``fluent-ai keys create``,
start ``fluent-ai serve`` on a free loopback port, ask the embedded model a question
(plain, then streamed) through the unchanged ``openai`` client, and revoke the key, after
which the same running server answers 401. Everything lives in a temporary
``FLUENT_AI_HOME`` and runs offline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import openai
from openai.types.chat import ChatCompletionMessageParam

BIN = Path(sys.executable).parent / "fluent-ai"
ANNOUNCED = re.compile(r"serving on (http://\S+)")


def run(env: dict[str, str], *args: str) -> str:
    """One ``fluent-ai`` command; its standard output."""
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> list[str]:
    """Create a key, serve, call, revoke; return what happened, one line per step."""
    steps: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "FLUENT_AI_HOME": home}
        secret = run(env, "keys", "create", "--name", "example", "--scopes", "chat")
        server = subprocess.Popen(
            [str(BIN), "serve", "--port", "0", "--log-level", "warning"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stderr is not None
            url = next(m.group(1) for line in server.stderr if (m := ANNOUNCED.search(line)))
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0)
            question: list[ChatCompletionMessageParam] = [
                {"role": "user", "content": "Name one primary colour."}
            ]
            reply = client.chat.completions.create(
                model="local",
                messages=question,
                max_tokens=16,
                temperature=0,
            )
            steps.append(f"answer: {reply.choices[0].message.content!r}")
            pieces = [
                chunk.choices[0].delta.content or ""
                for chunk in client.chat.completions.create(
                    model="local",
                    messages=question,
                    max_tokens=16,
                    temperature=0,
                    stream=True,
                )
                if chunk.choices
            ]
            steps.append(f"streamed in {len(pieces)} chunks: {''.join(pieces)!r}")
            run(env, "keys", "revoke", "example")
            try:
                client.models.list()
            except openai.AuthenticationError as exc:
                steps.append(f"after revoke: {exc.status_code} {exc.body}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return steps


if __name__ == "__main__":
    for step in main():
        print(step)
