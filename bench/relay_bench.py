"""REQ latency of an honest client while another floods expensive REQs (issue 12, item 2).

The embedded ``Relay`` runs in a child process (this file with ``--serve``) holding
``--events`` stored events (100k: 1,000 authors, kinds 1-5, a ``t`` tag each, added to the
store directly, unsigned: the relay runs without verification). Then, over loopback
websockets:

- ``--flooders`` clients each send REQs of 20 filters, each filter with ``--flood-authors``
  authors (a few real, most absent) and 10 kinds, waiting for each EOSE (or CLOSED, or
  10 s) before the next: the costly shape that took 0.5-0.6 s per REQ with full scans;
- one honest client sends ``{"kinds":[1],"authors":[x],"limit":20}`` REQs one after the
  other (``--rounds`` of them, 10 ms apart), timed from the send to the EOSE.

Prints p50/p99 of the honest REQs and whether p99 < 50 ms (the target), for the indexed
memory store, for the SQLite store of ``rxnostr relay --db`` (unless ``--no-sqlite``) and,
unless ``--no-full-scan``, for the old full-scan query (``rx_roots.select`` over every
event, swapped in by subclassing the store; fewer rounds, it is slow).

Run: .venv/bin/python bench/relay_bench.py [--events 100000] [--rounds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import ujson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.relay_process import die_with_parent, free_port, stop  # noqa: E402

AUTHORS = 1000
TARGET_P99 = 0.050


def _hex(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _event(n: int) -> dict[str, Any]:
    return {
        "id": _hex("id", n),
        "pubkey": _hex("author", n % AUTHORS),
        "created_at": 1_700_000_000 + n,
        "kind": 1 + n % 5,
        "tags": [["t", f"topic{n % 97}"]],
        "content": f"note {n}",
        "sig": _hex("sig", n) * 2,
    }


def serve(port: int, events: int, mode: str) -> None:
    """Child mode: a Relay on 127.0.0.1:port with ``events`` stored, until stdin closes."""
    import tempfile

    from rx_honeybee.relay import Relay
    from rx_honeybee.relay.sqlite_store import SqliteStore
    from rx_honeybee.relay.store import EventStore
    from rx_roots import select

    class FullScanStore(EventStore):
        """The query before the index: every filter reads every stored event."""

        def query(
            self, filters: Sequence[Mapping[str, Any]], *, max_limit: int | None = None
        ) -> list[dict[str, Any]]:
            return select(iter(self), filters, max_limit=max_limit, ordered=True)

    async def main(folder: str) -> None:
        if mode == "sqlite":
            relay = Relay(port=port, store=SqliteStore(Path(folder, "bench.db"), events))
            for n in range(events):
                relay.store.submit(_event(n), lambda _: None)
            await relay.store.flush()
        else:
            relay = Relay(port=port, max_events=events)
            if mode == "full-scan":
                relay.store = FullScanStore(max_events=events)
            for n in range(events):
                relay.store.add(_event(n))
        async with relay:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.read)

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(folder))


async def _req(ws: aiohttp.ClientWebSocketResponse, sub_id: str, filters: list[Any]) -> int:
    """Send a REQ and read until its EOSE or CLOSED; the EVENTs received."""
    await ws.send_str(ujson.dumps(["REQ", sub_id, *filters]))
    count = 0
    async for msg in ws:
        frame = ujson.loads(msg.data)
        if frame[1] != sub_id:
            continue
        if frame[0] == "EVENT":
            count += 1
        elif frame[0] in ("EOSE", "CLOSED"):
            return count
    raise ConnectionError("socket closed")


async def flood(url: str, index: int, authors: int, stop_at: list[bool]) -> int:
    """Send costly REQs back to back until told to stop; how many were answered."""
    done = 0
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
        while not stop_at[0]:
            filters = []
            for f in range(20):
                real = [_hex("author", (index * 7 + f + i) % AUTHORS) for i in range(3)]
                absent = [_hex("absent", index, f, done, i) for i in range(authors - 3)]
                filters.append({"authors": real + absent, "kinds": list(range(1, 11))})
            try:
                await asyncio.wait_for(_req(ws, f"flood{index}", filters), 10)
            except TimeoutError:
                pass
            done += 1
    return done


async def honest(url: str, rounds: int, expect: int) -> list[float]:
    """Latencies (seconds) of small REQs, one at a time."""
    latencies = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
        for n in range(rounds):
            flt = {"kinds": [1], "authors": [_hex("author", (n * 5) % AUTHORS)], "limit": 20}
            start = time.perf_counter()
            got = await asyncio.wait_for(_req(ws, f"h{n % 10}", [flt]), 120)
            latencies.append(time.perf_counter() - start)
            assert got == expect, (got, expect)  # authors n*5 hold only kind 1
            await asyncio.sleep(0.01)
    return latencies


async def measure(url: str, args: argparse.Namespace, rounds: int) -> tuple[list[float], int]:
    stop_at = [False]
    flooders = [
        asyncio.create_task(flood(url, i, args.flood_authors, stop_at))
        for i in range(args.flooders)
    ]
    await asyncio.sleep(0.5)  # let the flood start
    try:
        latencies = await honest(url, rounds, min(20, args.events // AUTHORS))
    finally:
        stop_at[0] = True
    counts = await asyncio.gather(*flooders, return_exceptions=True)
    return latencies, sum(c for c in counts if isinstance(c, int))


def run(args: argparse.Namespace, mode: str) -> None:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", str(port), "--events", str(args.events)]
    cmd += ["--mode", mode]
    full_scan = mode == "full-scan"
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=die_with_parent
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise SystemExit("relay did not start")
        rounds = args.old_rounds if full_scan else args.rounds
        start = time.perf_counter()
        latencies, floods = asyncio.run(measure(f"ws://127.0.0.1:{port}", args, rounds))
        elapsed = time.perf_counter() - start
    finally:
        stop(proc)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    name = {"memory": "indexed", "sqlite": "SQLite (--db)", "full-scan": "full scan (old)"}[mode]
    verdict = "yes" if p99 < TARGET_P99 else "NO"
    print(
        f"{name:16} honest REQs {len(latencies):4}  p50 {p50 * 1000:8.1f} ms  "
        f"p99 {p99 * 1000:8.1f} ms  p99 < 50 ms: {verdict:3}  "
        f"flood REQs answered {floods} in {elapsed:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="memory", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--old-rounds", type=int, default=10)
    parser.add_argument("--flooders", type=int, default=2)
    parser.add_argument("--flood-authors", type=int, default=200)
    parser.add_argument("--no-full-scan", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.events, args.mode)
        return
    print(
        f"{args.events} stored events; {args.flooders} flooders, 20 filters x "
        f"{args.flood_authors} authors x 10 kinds per REQ"
    )
    run(args, "memory")
    if not args.no_sqlite:
        run(args, "sqlite")
    if not args.no_full_scan:
        run(args, "full-scan")


if __name__ == "__main__":
    main()
