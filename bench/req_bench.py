"""REQ → EOSE of 10,000 stored events from a nostr-sdk LocalRelay, clients compared.

A rust-nostr ``LocalRelay`` (PyPI ``nostr-sdk``, in this process, on 127.0.0.1) is filled
once with ``authors × per_author`` signed kind-1 events (20 × 500 by default: the relay
returns at most 500 events per filter and takes at most 20 filters per REQ). Then one REQ
with one filter per author (``limit`` = per_author) is timed from the REQ to the EOSE for:

  (a) raw:     aiohttp ``ws.receive()`` loop + ``ujson.loads``, counting EVENTs until EOSE
  (b) request: ``rx_honeybee.initiator.request(conn, filters, close_on_eose=True)``, with
               ``verify=False`` (shapes only) and as by default (every id and signature
               verified: a new connection each round, so nothing is cached from before)
  (c) pool:    ``Pool([url]).subscribe(sub_id, filters, close_on_eose=True)``, verified
  (d) sdk:     nostr-sdk's own ``Client.fetch_events`` (exit on EOSE), a new Client each
               round (it verifies every event's signature, as any first fetch does); and
               for reference one Client reused across rounds, warmed up untimed (it has
               seen every event before)

Each client connects afresh every round, before its clock starts (one socket keeps one pace
for its life, so best-of-N needs new sockets); the variants take turns, the first one
rotating from round to round, and the best round of each is kept (the median is printed
too). Prints events/s and each variant's ratio to the raw loop and to nostr-sdk (targets:
unverified request ≥ 0.85 × raw and ≥ 3 × sdk; verified request ≥ 1.0 × sdk, which
verifies too), and the asyncio thread's CPU time per event:
the relay runs on the same cores (tokio threads beside the asyncio loop) and the fast
clients mostly wait for it, so their events/s is the relay's pace and the CPU column is
what tells the clients apart.

Run: .venv/bin/python bench/req_bench.py [--authors 20] [--per-author 500] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import nostr_sdk as ns  # type: ignore[import-untyped]
import ujson
from reactivex import Observable

from rx_honeybee import Connection, ConnectionConfig, HealthConfig, ReconnectConfig
from rx_honeybee.initiator import OkResult, publish, request
from rx_honeybee.pool import Pool
from rx_honeybee.verify import sign_event
from rx_roots import ConnectionStatus, enclose_req

CONFIG = ConnectionConfig(
    connect_timeout=5.0,
    reconnect=ReconnectConfig(initial_delay=0.05, max_delay=0.5, jitter=0, max_attempts=3),
    health=HealthConfig(ping_interval=25.0, pong_timeout=15.0),
)
TIMEOUT = 120.0  # seconds one round of one variant may take


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_key(n: int) -> str:
    return hashlib.sha256(f"req_bench author {n}".encode()).hexdigest()


def make_events(authors: int, per_author: int) -> list[dict[str, Any]]:
    """Signed kind-1 events, ``per_author`` of each author, distinct timestamps."""
    base = int(time.time()) - authors * per_author - 60
    events = []
    aux = bytes(32)  # deterministic signatures: the corpus is the same every run
    for a in range(authors):
        key = secret_key(a)
        for i in range(per_author):
            template = {
                "created_at": base + a * per_author + i,
                "kind": 1,
                "tags": [["t", "req-bench"], ["client", "rxnostr"]],
                "content": f"benchmark note {i} by author {a}: gm nostr, relays are fun "
                + "x" * (i % 80),
            }
            events.append(sign_event(template, key, aux_randomness=aux))
    return events


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def outcome(source: Observable[Any]) -> tuple[int, Any]:
    """Run ``source`` to its end: (items seen, last item or the error it failed with)."""
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    count = 0
    last: Any = None

    def on_next(item: Any) -> None:
        nonlocal count, last
        count += 1
        last = item

    source.subscribe(on_next, lambda e: _settle(done, e), lambda: _settle(done, None))
    error = await done
    return count, error if error is not None else last


async def populate(url: str, events: list[dict[str, Any]]) -> None:
    """Publish every event through rxnostr (windows of 500 in flight); all must be accepted."""
    async with Connection(url, CONFIG) as conn:
        window = 500
        for start in range(0, len(events), window):
            batch = events[start : start + window]
            answers = [outcome(publish(conn, event, timeout=30)) for event in batch]
            for _, result in await asyncio.gather(*answers):
                if not (isinstance(result, OkResult) and result.accepted):
                    raise SystemExit(f"populating the relay failed: {result!r}")


# -- the four clients: each returns (run one REQ → number of events, close) ---------------

Runner = Callable[[], Awaitable[int]]
Closer = Callable[[], Awaitable[None]]


async def raw_client(url: str, filters: list[dict[str, Any]]) -> tuple[Runner, Closer]:
    session = aiohttp.ClientSession()
    ws = await asyncio.wait_for(session.ws_connect(url, max_msg_size=0), 10)
    req = enclose_req("raw", filters)
    loads = ujson.loads

    async def run() -> int:
        await ws.send_str(req)
        count = 0
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"raw loop: unexpected {msg.type!r}")
            label = loads(msg.data)[0]
            if label == "EVENT":
                count += 1
            elif label == "EOSE":
                await ws.send_str('["CLOSE","raw"]')
                return count

    async def close() -> None:
        await ws.close()
        await session.close()

    return run, close


async def request_client(
    url: str, filters: list[dict[str, Any]], *, verify: bool = True
) -> tuple[Runner, Closer]:
    conn = Connection(url, CONFIG)
    await conn.connect()

    async def run() -> int:
        count, last = await outcome(request(conn, filters, close_on_eose=True, verify=verify))
        if isinstance(last, Exception):
            raise last
        if conn.metrics.events_rejected:
            raise SystemExit(f"request(): {conn.metrics.events_rejected} events rejected")
        return count

    return run, conn.close


async def trusting_client(url: str, filters: list[dict[str, Any]]) -> tuple[Runner, Closer]:
    return await request_client(url, filters, verify=False)


async def pool_client(url: str, filters: list[dict[str, Any]]) -> tuple[Runner, Closer]:
    pool = Pool([url], CONFIG)
    await pool.__aenter__()
    deadline = time.monotonic() + 10
    while pool.status(url) is not ConnectionStatus.CONNECTED:
        if time.monotonic() > deadline:
            raise SystemExit(f"pool: {url} did not come up")
        await asyncio.sleep(0.01)
    rounds = 0

    async def run() -> int:
        nonlocal rounds
        rounds += 1
        count, last = await outcome(pool.subscribe(f"b{rounds}", filters, close_on_eose=True))
        if isinstance(last, Exception):
            raise last
        return count

    return run, pool.close


async def _sdk_connect(url: str) -> tuple[ns.Client, ns.RelayUrl]:
    client = ns.Client()
    relay_url = ns.RelayUrl.parse(url)
    await client.add_relay(relay_url)
    await client.try_connect(timedelta(seconds=10))
    return client, relay_url


def _sdk_fetch(client: ns.Client, relay_url: ns.RelayUrl, filters: list[dict[str, Any]]) -> Runner:
    sdk_filters = [ns.Filter.from_json(ujson.dumps(f)) for f in filters]

    async def run() -> int:
        events = await client.fetch_events(
            ns.ReqTarget.single(relay_url, sdk_filters),
            timeout=timedelta(seconds=TIMEOUT),
            policy=ns.ReqExitPolicy.EXIT_ON_EOSE(),
        )
        return len(events)

    return run


async def sdk_client(url: str, filters: list[dict[str, Any]]) -> tuple[Runner, Closer]:
    """A new nostr-sdk Client: every event is new to it (verified, tracked)."""
    client, relay_url = await _sdk_connect(url)
    return _sdk_fetch(client, relay_url, filters), client.shutdown


_warm: dict[str, tuple[ns.Client, Runner]] = {}


async def sdk_warm_client(url: str, filters: list[dict[str, Any]]) -> tuple[Runner, Closer]:
    """One nostr-sdk Client for every round that has fetched everything once, untimed."""
    if url not in _warm:
        client, relay_url = await _sdk_connect(url)
        run = _sdk_fetch(client, relay_url, filters)
        await asyncio.wait_for(run(), TIMEOUT)
        _warm[url] = (client, run)

    async def keep() -> None:
        pass  # shut down at the end of the benchmark

    return _warm[url][1], keep


VARIANTS = {
    "raw aiohttp + ujson": raw_client,
    "request(verify=False)": trusting_client,
    "request() verified": request_client,
    "Pool.subscribe verified": pool_client,
    "nostr-sdk fetch_events": sdk_client,
    "nostr-sdk, warm client": sdk_warm_client,
}


async def bench(authors: int, per_author: int, rounds: int) -> int:
    if authors > 20 or per_author > 500:
        print("note: LocalRelay caps REQs at 20 filters and 500 events per filter", file=sys.stderr)
    port = free_port()
    builder = ns.LocalRelayBuilder().addr("127.0.0.1").port(port)
    # Populating sends 10k EVENTs on one socket: lift the per-minute note cap for that.
    builder = builder.rate_limit(ns.RateLimit(max_reqs=500, notes_per_minute=1_000_000))
    relay = builder.build()
    await relay.run()
    url = f"ws://127.0.0.1:{port}"
    try:
        events = make_events(authors, per_author)
        started = time.perf_counter()
        await populate(url, events)
        print(
            f"LocalRelay {url}: {len(events)} events published in "
            f"{time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        pubkeys = sorted({e["pubkey"] for e in events})
        filters = [{"authors": [pk], "kinds": [1], "limit": per_author} for pk in pubkeys]
        expected = len(events)
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}  # asyncio thread
        names = list(VARIANTS)
        for r in range(rounds):
            # Rotate who goes first: on a shared machine the order itself shows up.
            for name in names[r % len(names) :] + names[: r % len(names)]:
                # A fresh socket each round: one socket's pace stays the same for its
                # whole life (fast or slow, however the relay's writer and the reader
                # happened to pair up), so best-of-N needs new sockets to mean much.
                run, close = await VARIANTS[name](url, filters)
                try:
                    gc.collect()  # the previous round's 10k dicts are not this round's cost
                    t0, cpu0 = time.perf_counter(), time.thread_time()
                    got = await asyncio.wait_for(run(), TIMEOUT)
                    elapsed = time.perf_counter() - t0
                    cpu[name].append(time.thread_time() - cpu0)
                finally:
                    await close()
                if got != expected:
                    raise SystemExit(f"{name}: {got} events, expected {expected}")
                times[name].append(elapsed)
    finally:
        for client, _run in _warm.values():
            await client.shutdown()
        _warm.clear()
        relay.shutdown()
    report(times, cpu, expected)
    return 0


def report(times: dict[str, list[float]], cpu: dict[str, list[float]], n: int) -> None:
    best = {name: min(t) for name, t in times.items()}
    raw = n / best["raw aiohttp + ujson"]
    sdk = n / best["nostr-sdk fetch_events"]
    rounds = len(times["raw aiohttp + ujson"])
    print(f"REQ→EOSE of {n} events from a nostr-sdk LocalRelay, best of {rounds} rounds")
    print(
        f"{'variant':<26}{'best s':>8}{'median s':>10}{'events/s':>10}{'× raw':>7}{'× sdk':>7}"
        f"{'loop µs/ev':>12}"
    )
    for name, seconds in best.items():
        rate = n / seconds
        median = statistics.median(times[name])
        # CPU of the asyncio thread per event (median round): the client's own cost;
        # nostr-sdk works on its tokio threads, so its figure there means little.
        per_event = statistics.median(cpu[name]) / n * 1e6
        print(
            f"{name:<26}{seconds:>8.4f}{median:>10.4f}{rate:>10,.0f}"
            f"{rate / raw:>7.2f}{rate / sdk:>7.2f}{per_event:>12.2f}"
        )
    req = n / best["request(verify=False)"]
    verified = n / best["request() verified"]
    warm = n / best["nostr-sdk, warm client"]
    print(
        f"targets: request(verify=False) ≥ 0.85× raw: {req / raw:.2f} "
        f"({'met' if req / raw >= 0.85 else 'NOT met'}); "
        f"≥ 3× nostr-sdk: {req / sdk:.2f} ({'met' if req / sdk >= 3 else 'NOT met'}); "
        f"request() verified ≥ 1.0× nostr-sdk fetch_events: {verified / sdk:.2f} "
        f"({'met' if verified / sdk >= 1.0 else 'NOT met'}; {verified / warm:.2f}× its warm "
        "client, which skips events it has verified before)"
    )
    raw_cpu = statistics.median(cpu["raw aiohttp + ujson"])
    req_cpu = statistics.median(cpu["request(verify=False)"])
    print(
        f"client CPU per event, raw / request(verify=False): {raw_cpu / req_cpu:.2f} "
        "(the ratio request() would reach against a relay faster than both clients)"
    )
    print(
        "note: the relay shares the 2 cores; when 'loop µs/ev' × events/s is well under 1e6 "
        "the client waits for the relay, and events/s measures the relay's pace"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--authors", type=int, default=20, help="filters per REQ (≤ 20)")
    parser.add_argument("--per-author", type=int, default=500, help="events per filter (≤ 500)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per variant; best is kept")
    args = parser.parse_args()
    return asyncio.run(bench(args.authors, args.per_author, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
