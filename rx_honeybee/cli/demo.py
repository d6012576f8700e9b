"""``rxnostr demo``: the tour, against the embedded relay, in a few seconds.

It starts the in-memory relay on a free loopback port, publishes a shipped corpus of real
signed events through a Pool while a live subscription streams them back, restarts the
relay in the middle (publishing during the outage), shows the reconnection and the
subscription resuming without gaps or repeats, and prints the connection's metrics. Like a
live client's, each event is signed anew (now dated, see ``.corpus``) right before it goes out.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import time
from collections.abc import Callable
from typing import Any, TextIO

import ujson

from rx_honeybee.cli.corpus import Restamper, author_keys
from rx_honeybee.client.pool import Pool
from rx_honeybee.client.session import OkResult
from rx_honeybee.config import ConnectionConfig, HealthConfig, ReconnectConfig
from rx_roots import ConnectionStatus

__all__ = ["load_corpus", "run_demo"]

_CONFIG = ConnectionConfig(
    connect_timeout=2.0,
    reconnect=ReconnectConfig(initial_delay=0.1, max_delay=0.5, max_attempts=0),
    health=HealthConfig(ping_interval=0.2, pong_timeout=0.2),
)


def load_corpus() -> list[dict[str, Any]]:
    """The shipped corpus: real events signed with BIP-340 keys made for the demo."""
    text = importlib.resources.files("rx_honeybee").joinpath("data/corpus.jsonl").read_text()
    return [ujson.loads(line) for line in text.splitlines() if line.strip()]


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"demo: timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _publish_all(pool: Pool, events: list[dict[str, Any]]) -> list[OkResult]:
    results: list[OkResult] = []
    done = asyncio.get_running_loop().create_future()
    remaining = len(events)

    def finished(_: object = None) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and not done.done():
            done.set_result(None)

    for event in events:
        pool.publish(event, timeout=10.0).subscribe(results.append, finished, finished)
    if events:
        await done
    return results


def _line(event: dict[str, Any]) -> str:
    content = str(event.get("content", "")).replace("\n", " ")
    preview = content[:60] + ("…" if len(content) > 60 else "")
    return f"  ← kind {event['kind']:<5} {event['pubkey'][:8]}…  {preview}"


async def run_demo(out: TextIO, *, events: int = 0) -> int:
    """Run the tour, writing to ``out``; return 0 when every event arrived exactly once."""
    from rx_honeybee.checked import EventChecker
    from rx_honeybee.relay import Relay

    corpus = load_corpus()
    if events > 0:
        corpus = corpus[:events]
    third = max(1, len(corpus) // 3)
    before, during, after = corpus[:third], corpus[third : 2 * third], corpus[2 * third :]

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    restamper = Restamper(author_keys())
    sent: list[dict[str, Any]] = []

    def now_signed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = restamper.restamp(events, int(time.time()))
        sent.extend(fresh)
        return fresh

    deliveries: dict[str, int] = {}
    ok: list[OkResult] = []
    async with Relay("127.0.0.1", 0, verify=EventChecker().accepts) as relay:
        say(f"● embedded relay on {relay.url}, signatures verified by relay and client")
        async with Pool([relay.url], _CONFIG) as pool:
            last: list[ConnectionStatus] = []

            def show(statuses: dict[str, ConnectionStatus]) -> None:
                status = statuses.get(relay.url)
                if status is not None and (not last or last[-1] is not status):
                    last.append(status)
                    say(f"● {relay.url}: {status.name}")

            pool.statuses.subscribe(show)

            def arrived(item: tuple[str, dict[str, Any]]) -> None:
                event = item[1]
                deliveries[event["id"]] = deliveries.get(event["id"], 0) + 1
                say(_line(event))

            pool.subscribe("demo", [{"since": 0}]).subscribe(arrived)
            conn = pool.connection(relay.url)
            await _until(lambda: conn.status is ConnectionStatus.CONNECTED, 5, "the relay")

            say(f"● publishing {len(before)} events")
            ok += await _publish_all(pool, now_signed(before))
            await _until(lambda: len(deliveries) >= len(before), 10, "the first events")

            say("● stopping the relay (it keeps its events in memory)")
            await relay.stop()
            await _until(lambda: conn.status is not ConnectionStatus.CONNECTED, 5, "the drop")
            say(f"● publishing {len(during)} events while the relay is down: they wait")
            pending = asyncio.ensure_future(_publish_all(pool, now_signed(during)))
            await asyncio.sleep(0.3)
            say("● restarting the relay on the same port")
            await relay.start()
            ok += await pending
            say(f"● resumed; publishing the last {len(after)} events")
            ok += await _publish_all(pool, now_signed(after))
            wanted = {e["id"] for e in sent}
            await _until(lambda: wanted <= deliveries.keys(), 10, "every event")
            await asyncio.sleep(0.2)  # let any repeat show up before counting
            snapshot = conn.metrics.snapshot()

    accepted = sum(r.accepted for r in ok)
    repeats = sum(n - 1 for n in deliveries.values())
    say(
        f"● {len(corpus)} published, {accepted} accepted, {len(deliveries)} streamed back, "
        f"{repeats} repeats, {len(wanted - deliveries.keys())} missing"
    )
    say("● connection metrics:")
    for key, value in snapshot.items():
        say(f"    {key:26} {value}")
    return 0 if repeats == 0 and wanted <= deliveries.keys() else 1
