"""Q6, realtime fan-out: messages delivered per second and delivery latency to 100 and
1,000 WebSocket clients in one room of ``fluent-ai serve``.

Setups: one replica (rooms in memory), one replica with ``FLUENT_AI_REDIS_URL`` (the
Redis cost alone), and two replicas sharing Redis (``redis://127.0.0.1:6379/0``), the
clients and senders split evenly between them. The replicas share one temporary
``FLUENT_AI_HOME`` (its key store and its SQLite chat history, where every message is
stored before it is delivered: that is part of the cost). Every case uses a fresh room.
The clients are ``websockets`` connections in one or two processes of their own (this
script with ``--clients``), authenticated by the first frame as ``docs/realtime.md``
describes, answering the server's pings. Once all have joined and the join traffic
(presence events) has gone quiet, the parent posts ``--messages`` messages at ``--rate``
per second (open loop) through senders that stay under the per-connection frame guard
(20 frames/s: at most 10 messages/s each); each text carries its send time from
``time.monotonic_ns`` (CLOCK_MONOTONIC, one clock for every process on Linux) and each
client notes when it receives it. Reported per case, median over repetitions (setups
rotated per repetition): deliveries per second (all clients together, from the first
send to the last delivery) against the offered rate, p50 / p99 delivery latency over all
deliveries, deliveries missing, and connections the server closed (4429: too slow).

Run: ``.venv/bin/python benchmarks/realtime_fanout.py [--reps 3] [--clients 100 1000]
[--messages 200] [--rate 20] [--setups ...] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import resource
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import command_line, machine, machine_line, median, save
from gateway import FluentServe, create_key, percentile

REDIS_URL = "redis://127.0.0.1:6379/0"
BROKER_PREFIX = "fluent-ai:rt:"  # RedisBroker's default key prefix
SETUPS: dict[str, tuple[int, bool]] = {  # name: (replicas, over Redis)
    "1 replica": (1, False),
    "1 replica + Redis": (1, True),
    "2 replicas + Redis": (2, True),
}
PER_SENDER = 10.0  # messages/s per sender connection: half the server's frame guard
QUIET = 0.5  # seconds without a frame that mean the join traffic is over
JOIN_TRIES = 20  # a join refused with ``unavailable`` is sent again, with backoff
DRAIN = 10.0  # seconds to wait for deliveries after the last message was sent
CONFIG = "[server]\nshutdown_grace = 2\n"  # stopping a replica must not wait 30 s


def raise_file_limit() -> None:
    """Every client is a socket on both sides: allow as many as the hard limit does."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Member:
    """One authenticated connection in the room, reading every frame until it closes."""

    def __init__(self, ws: Any, expected: int) -> None:
        self.ws = ws
        self.expected = expected  # messages to receive before this member is complete
        self.complete = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.join_retries = 0  # joins refused with ``unavailable`` before this one
        self.latencies_ns: list[int] = []
        self.last_frame = time.monotonic_ns()
        self.last_delivery = 0
        self.errors = 0
        self.close_code: int | None = None

    @classmethod
    async def join(cls, url: str, spec: dict[str, Any]) -> Member:
        from websockets.asyncio.client import connect

        ws = await connect(
            url,
            compression="deflate" if spec["compression"] else None,
            ping_interval=None,  # the server sends the heartbeats
            max_size=2**22,
            open_timeout=60,
        )
        await ws.send(json.dumps({"type": "auth", "token": spec["key"]}))
        await _expect(ws, "ready")
        join = json.dumps({"type": "join", "room": spec["room"]})
        for retries in range(JOIN_TRIES):  # as docs/realtime.md asks of clients
            await ws.send(join)
            try:
                await _expect(ws, "joined")
            except RefusedError as exc:
                if exc.code != "unavailable" or retries == JOIN_TRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.05, 0.1) * 2 ** min(retries, 4))
                continue
            member = cls(ws, spec["messages"])
            member.join_retries = retries
            return member
        raise AssertionError("unreachable")

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self.ws:
                now = time.monotonic_ns()
                if frame != '{"type":"ping"}':
                    # Heartbeats are not join traffic: a thousand connections' pings,
                    # spread over a slow join, would never leave the room quiet.
                    self.last_frame = now
                if isinstance(frame, str) and frame.startswith('{"type":"message"'):
                    sent = int(json.loads(frame)["text"].split()[1])
                    self.latencies_ns.append(now - sent)
                    self.last_delivery = now
                    if len(self.latencies_ns) >= self.expected:
                        self.complete.set()
                elif frame == '{"type":"ping"}':
                    await self.ws.send('{"type":"pong"}')
                elif isinstance(frame, str) and frame.startswith('{"type":"error"'):
                    self.errors += 1
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self.complete.set()


class RefusedError(RuntimeError):
    """The server answered a frame with an ``error`` event."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


async def _expect(ws: Any, kind: str) -> None:
    """Read until the event ``kind``; an ``error`` event first raises :class:`RefusedError`."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
        if event["type"] == kind:
            return
        if event["type"] == "error":
            raise RefusedError(event["code"], event["message"])


async def join_all(spec: dict[str, Any], count: int) -> list[Member]:
    """``count`` members, member ``i`` on replica ``(offset + i) % len(urls)``, 64 at a time."""
    gate = asyncio.Semaphore(64)
    urls = spec["urls"]

    async def one(i: int) -> Member:
        async with gate:
            member = await Member.join(urls[(spec["offset"] + i) % len(urls)], spec)
        member.task = asyncio.ensure_future(member.read())
        return member

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def until_quiet(members: list[Member]) -> None:
    """Wait until no member got a frame for ``QUIET`` seconds (presence storms are over)."""
    while True:
        idle = (time.monotonic_ns() - max(m.last_frame for m in members)) / 1e9
        if idle >= QUIET:
            return
        await asyncio.sleep(QUIET - idle)


async def clients(spec: dict[str, Any]) -> dict[str, Any]:
    """A client process: join, say ``settled``, record deliveries until told ``done``."""
    raise_file_limit()
    members = await join_all(spec, spec["count"])
    await until_quiet(members)
    print("settled", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the parent sent every message
    waiting = asyncio.gather(*(m.complete.wait() for m in members))
    # every message reached every member (or its connection ended), or DRAIN passed
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiting, timeout=DRAIN)
    closes: dict[str, int] = {}
    for m in members:
        if m.close_code is not None:
            closes[str(m.close_code)] = closes.get(str(m.close_code), 0) + 1
    result = {
        "latencies_us": [ns // 1000 for m in members for ns in m.latencies_ns],
        "last_ns": max(m.last_delivery for m in members),
        "closed": closes,
        "errors": sum(m.errors for m in members),
        "join_retries": sum(m.join_retries for m in members),
    }
    await asyncio.gather(
        *(asyncio.wait_for(m.ws.close(), 5) for m in members), return_exceptions=True
    )
    return result


# -- the parent: replicas, senders, cases ------------------------------------------------


async def case(
    urls: list[str], key: str, clients_n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One room, ``clients_n`` clients, ``args.messages`` messages at ``args.rate``."""
    room = f"bench-{uuid.uuid4().hex[:12]}"
    base = {"urls": urls, "key": key, "room": room, "messages": args.messages}
    base["compression"] = not args.no_deflate
    senders_n = max(1, math.ceil(args.rate / PER_SENDER))
    senders = await join_all(base | {"offset": 0}, senders_n)
    processes = 1 if clients_n <= 200 else 2
    children = []
    for p in range(processes):
        share = clients_n // processes + (1 if p < clients_n % processes else 0)
        spec = base | {"count": share, "offset": p}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client-process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**26,
        )
        assert child.stdin is not None
        child.stdin.write((json.dumps(spec) + "\n").encode())
        children.append(child)
    try:
        for child in children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), timeout=300)
            if line.strip() != b"settled":
                raise RuntimeError(f"a client process failed before the messages: {line!r}")
        await until_quiet(senders)
        started = time.monotonic_ns()
        for i in range(args.messages):
            at = started + int(i * 1e9 / args.rate)
            if (wait := (at - time.monotonic_ns()) / 1e9) > 0:
                await asyncio.sleep(wait)
            text = f"{i} {time.monotonic_ns()}"
            await senders[i % senders_n].ws.send(
                json.dumps({"type": "message", "room": room, "text": text})
            )
        sent = time.monotonic_ns()
        results = []
        for child in children:
            assert child.stdin is not None
            assert child.stdout is not None
            child.stdin.write(b"done\n")
            await child.stdin.drain()
            results.append(json.loads(await asyncio.wait_for(child.stdout.readline(), timeout=120)))
    finally:
        for child in children:
            if child.stdin is not None and not child.stdin.is_closing():
                child.stdin.close()  # a child still waiting for ``done`` gets EOF and ends
            if child.returncode is None:
                try:
                    await asyncio.wait_for(child.wait(), timeout=15)
                except TimeoutError:
                    child.kill()
                    await child.wait()
        await asyncio.gather(
            *(asyncio.wait_for(s.ws.close(), 5) for s in senders), return_exceptions=True
        )
    latencies = [us / 1000 for r in results for us in r["latencies_us"]]
    last = max(r["last_ns"] for r in results)
    closed: dict[str, int] = {}
    for r in results:
        for code, n in r["closed"].items():
            closed[code] = closed.get(code, 0) + n
    return {
        "room": room,
        "offered_per_s": clients_n * args.rate,
        "delivered_per_s": len(latencies) / ((last - started) / 1e9) if last > started else 0.0,
        "send_seconds": (sent - started) / 1e9,
        "delivered": len(latencies),
        "expected": clients_n * args.messages,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "closed": closed,
        "errors": sum(r["errors"] for r in results) + sum(s.errors for s in senders),
        "join_retries": sum(r["join_retries"] for r in results),
    }


def run_setup(setup: str, home: Path, key: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start the setup's replicas, run every client count in it, stop them."""
    replicas, redis = SETUPS[setup]
    env = {"FLUENT_AI_REDIS_URL": REDIS_URL} if redis else {}
    with ExitStack() as stack:
        served = [
            stack.enter_context(FluentServe(home, env, name=f"replica{i}")) for i in range(replicas)
        ]
        urls = [s.base_url.replace("http://", "ws://") + "/v1/realtime" for s in served]
        done = {str(n): asyncio.run(case(urls, key, n, args)) for n in args.clients}
    if redis:
        forget_rooms([c["room"] for c in done.values()])
    return done


def forget_rooms(rooms: list[str]) -> None:
    """Delete what the replicas left in Redis for these rooms (it would expire in a minute)."""
    from redis import Redis

    with Redis.from_url(REDIS_URL) as client:
        keys = [f"{BROKER_PREFIX}{kind}:{room}" for room in rooms for kind in ("members", "live")]
        client.delete(*keys)
        client.zrem(f"{BROKER_PREFIX}rooms", *rooms)


def summarise(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per ``setup|clients``: medians over repetitions; losses and closes summed."""
    summary: dict[str, dict[str, Any]] = {}
    for setup, by_count in runs[0].items():
        for count in by_count:
            cases = [run[setup][count] for run in runs]
            row: dict[str, Any] = {
                f: median([c[f] for c in cases])
                for f in ("offered_per_s", "delivered_per_s", "p50_ms", "p99_ms")
            }
            row["missing"] = sum(c["expected"] - c["delivered"] for c in cases)
            row["expected"] = sum(c["expected"] for c in cases)
            row["errors"] = sum(c["errors"] for c in cases)
            row["join_retries"] = sum(c["join_retries"] for c in cases)
            closed: dict[str, int] = {}
            for c in cases:
                for code, n in c["closed"].items():
                    closed[code] = closed.get(code, 0) + n
            row["closed"] = closed
            summary[f"{setup}|{count}"] = row
    return summary


def table(summary: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| setup | clients | offered deliveries/s | delivered/s | p50 ms | p99 ms | "
        "missing | closed by the server | joins retried (`unavailable`) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for key, s in summary.items():
        setup, count = key.split("|")
        closed = ", ".join(f"{n} × {code}" for code, n in sorted(s["closed"].items())) or "none"
        lines.append(
            f"| {setup} | {int(count):,} | {s['offered_per_s']:,.0f} | "
            f"{s['delivered_per_s']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
            f"{s['missing']:,} of {s['expected']:,} | {closed} | {s['join_retries']:,} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--messages", type=int, default=200, help="messages per case")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument(
        "--no-deflate", action="store_true", help="clients do not offer permessage-deflate"
    )
    parser.add_argument("--client-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results here (default benchmarks/results/)")
    args = parser.parse_args()
    if args.client_process:  # spec on the first stdin line, results on stdout
        spec = json.loads(sys.stdin.readline())
        print(json.dumps(asyncio.run(clients(spec))), flush=True)
        return
    if args.reps < 1 or args.messages < 1 or args.rate <= 0 or min(args.clients) < 1:
        parser.error("--reps, --messages and --clients must be >= 1, --rate > 0")
    raise_file_limit()
    info = machine()
    runs: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="fluent-ai-fanout-") as folder:
        home = Path(folder)
        (home / "config.toml").write_text(CONFIG)
        key = create_key(home, "bench")
        for rep in range(args.reps):
            shift = rep % len(args.setups)
            order = args.setups[shift:] + args.setups[:shift]
            done = {setup: run_setup(setup, home, key, args) for setup in order}
            runs.append({setup: done[setup] for setup in args.setups})
    summary = summarise(runs)
    print(f"command: `{command_line()}`\n")
    print(f"machine: {machine_line(info)}\n")
    print(
        f"{args.reps} repetition(s), setups rotated; per case one room, {args.messages} "
        f"messages at {args.rate:g}/s, each delivered to every client; median over "
        "repetitions. Latency: send to receipt, all deliveries pooled. permessage-deflate: "
        f"{'off' if args.no_deflate else 'offered (as browsers do)'}.\n"
    )
    print("\n".join(table(summary)))
    save(
        "realtime_fanout",
        {
            "machine": info,
            "command": command_line(),
            "messages": args.messages,
            "rate": args.rate,
            "summary": summary,
            "runs": runs,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
