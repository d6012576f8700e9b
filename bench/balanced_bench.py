"""BalancedPool.query choosing by ResponseTime vs RoundRobin, one relay of three slowed.

Three embedded relays (``rx_honeybee.relay.Relay`` in this process, 127.0.0.1) store the
same ``--events`` signed events; one of them answers every REQ ``--delay`` seconds late
(a subclass that holds each REQ on the loop's timer). For each strategy a fresh
``BalancedPool`` runs ``--queries`` queries, ``--concurrency`` at a time, each REQ → EOSE
on the relay it picks. Printed per strategy: events per second (all queries, wall time),
p50 and p95 query latency, and how the picks spread. ResponseTime tries each relay once,
then keeps to the fast ones; RoundRobin sends a third of the queries to the slow one.

Run: .venv/bin/python bench/balanced_bench.py [--queries 600] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reactivex import operators as ops  # noqa: E402

from rx_honeybee.config import ConnectionConfig, HealthConfig  # noqa: E402
from rx_honeybee.relay import Relay  # noqa: E402
from rx_mana.balanced_pool import BalancedPool  # noqa: E402
from rx_mana.strategies import ResponseTime, RoundRobin, Strategy  # noqa: E402
from tests.support import make_event  # noqa: E402

CONFIG = replace(ConnectionConfig(), health=HealthConfig(enabled=False))


class SlowRelay(Relay):
    """A relay that answers each REQ ``delay`` seconds late (a busy or distant relay)."""

    def __init__(self, *args: Any, delay: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay  # seconds each REQ waits before it is served

    def _on_message(self, client: Any, env: str) -> None:
        if env.startswith('["REQ"'):  # held on the loop's timer, then served as usual
            asyncio.get_running_loop().call_later(self.delay, super()._on_message, client, env)
        else:
            super()._on_message(client, env)


async def run(
    strategy: Strategy, urls: list[str], queries: int, concurrency: int
) -> tuple[float, list[float], dict[str, int], int]:
    """Run the queries; return (wall seconds, latencies, picks per relay, events)."""
    latencies: list[float] = []
    received = 0
    async with BalancedPool(urls, CONFIG, strategy=strategy) as pool:
        while len(pool.candidates()) < len(urls):
            await asyncio.sleep(0.01)
        left = queries

        async def worker() -> None:
            nonlocal left, received
            while left > 0:
                left -= 1
                started = time.perf_counter()
                events = await pool.query([{"kinds": [1]}], timeout=5.0).pipe(ops.to_list())
                latencies.append(time.perf_counter() - started)
                received += len(events)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        return wall, latencies, pool.stats().picks, received


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(0.95 * len(samples) + 0.999) - 1)]


async def main(args: argparse.Namespace) -> None:
    events = [make_event(i, seed="balanced-bench") for i in range(args.events)]
    fast1, fast2, slow = Relay(), Relay(), SlowRelay(delay=args.delay)
    async with fast1, fast2, slow:
        for relay in (fast1, fast2, slow):
            for event in events:
                relay.publish(event)
        urls = [slow.url, fast1.url, fast2.url]
        names = {slow.url: "slow", fast1.url: "fast1", fast2.url: "fast2"}
        print(
            f"{args.queries} queries x {args.events} events, {args.concurrency} at a time; "
            f"one relay of three answers {args.delay * 1000:.0f} ms late"
        )
        strategies: list[tuple[str, Callable[[], Strategy]]] = [
            ("RoundRobin", RoundRobin),
            ("ResponseTime", ResponseTime),
        ]
        results = {}
        for name, make in strategies:
            wall, latencies, picks, received = await run(
                make(), urls, args.queries, args.concurrency
            )
            results[name] = (received / wall, p95(latencies))
            spread = ", ".join(f"{names[u]}={n}" for u, n in sorted(picks.items()))
            print(
                f"{name:>13}: {received / wall:>9,.0f} events/s  "
                f"p50 {statistics.median(latencies) * 1000:6.1f} ms  "
                f"p95 {p95(latencies) * 1000:6.1f} ms  picks: {spread}"
            )
        rr, rt = results["RoundRobin"], results["ResponseTime"]
        print(
            f"ResponseTime vs RoundRobin: {rt[0] / rr[0]:.2f}x events/s, "
            f"p95 {rr[1] / rt[1]:.1f}x lower"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.05)
    asyncio.run(main(parser.parse_args()))
