"""Publish throughput: N distinct signed events to one relay, every OK awaited, three clients.

The relay runs in its own process (so the client's CPU is the client's): nostr-sdk's
``LocalRelay`` (default; rust, in a child Python process, note rate limit lifted) or
``--relay embedded``: rxnostr's own ``python -m rx_honeybee relay``. One relay instance
serves every row and round of a run; every row of every round publishes its own freshly
signed events, so nothing is ever a duplicate. Timed from the first send to the N-th OK:

  (a) raw:     one aiohttp ``ws_connect``; a sender loop ``send_str(ujson.dumps(...))``
               for every event, as fast as it goes, while a reader task counts OKs
  (b) publish: ``rx_honeybee.initiator.publish(conn, event)`` for every event, all
               subscribed at once; the clock stops when the N-th OkResult arrived
  (c) pool:    ``Pool([url]).publish(event)``, same way

Each row connects afresh every round (before its clock starts); the rows take turns, the
first rotating from round to round; the best round of each row is kept (median printed
too). Prints events/s, the ratios b/a and c/a, and the client process's CPU time per
event (``time.process_time``: the relay is another process, so this is the client alone).
``--profile publish`` (or raw, pool) runs one more round of that row under cProfile and
prints the top functions by tottime.

rxnostr's write queue holds 1000 envelopes by default; publishing N at once needs more,
so the rxnostr rows use ``write_queue_size = N + 1000`` (everything else default).

Run: .venv/bin/python bench/pub_bench.py [--n 5000] [--rounds 5] [--relay nostr-sdk|embedded]
     [--relay-src DIR] [--profile publish]

Only public paths of rxnostr are imported (rx_honeybee, rx_honeybee.initiator,
rx_honeybee.pool); events are signed here with coincurve (BIP-340, NIP-01 ids).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from relay_process import start_relay, stop

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120.0  # seconds one round of one row may take
OK_TIMEOUT = 90.0  # publish(..., timeout=)


# -- events ---------------------------------------------------------------------------------


def secret_key(n: int) -> str:
    return hashlib.sha256(f"pub_bench author {n}".encode()).hexdigest()


class Signer:
    """BIP-340 signatures of NIP-01 events with coincurve (deterministic: aux = 0)."""

    def __init__(self, keys: int = 8) -> None:
        from coincurve import PrivateKey

        self.keys = [PrivateKey(bytes.fromhex(secret_key(i))) for i in range(keys)]
        self.pubs = [k.public_key_xonly.format().hex() for k in self.keys]

    def sign(self, n: int, template: dict[str, Any]) -> dict[str, Any]:
        key, pub = self.keys[n % len(self.keys)], self.pubs[n % len(self.pubs)]
        created_at, kind, tags, content = (
            template["created_at"],
            template["kind"],
            template["tags"],
            template["content"],
        )
        serialized = json.dumps(
            [0, pub, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False
        )
        event_id = hashlib.sha256(serialized.encode()).digest()
        sig = key.sign_schnorr(event_id, bytes(32))
        return {
            "id": event_id.hex(),
            "pubkey": pub,
            "created_at": created_at,
            "kind": kind,
            "tags": tags,
            "content": content,
            "sig": sig.hex(),
        }


def make_events(signer: Signer, label: str, n: int) -> list[dict[str, Any]]:
    """N distinct signed kind-1 notes (~400 bytes each), stamped within the last hour."""
    base = int(time.time()) - 3600
    return [
        signer.sign(
            i,
            {
                "created_at": base + i % 3000,
                "kind": 1,
                "tags": [["t", "pub-bench"], ["client", "rxnostr"]],
                "content": f"pub_bench {label} note {i}: gm nostr, relays are fun "
                + "x" * (i % 80),
            },
        )
        for i in range(n)
    ]


def self_check(events: list[dict[str, Any]]) -> None:
    from coincurve import PublicKeyXOnly

    for event in events[:3]:
        key = PublicKeyXOnly(bytes.fromhex(event["pubkey"]))
        if not key.verify(bytes.fromhex(event["sig"]), bytes.fromhex(event["id"])):
            raise SystemExit("self-check: a signature does not verify")


# -- the relay, in its own process -----------------------------------------------------------


# -- the three rows: each returns (publish all, wait for N OKs → accepted count; close) ----

Runner = Callable[[list[dict[str, Any]]], Awaitable[int]]
Closer = Callable[[], Awaitable[None]]


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def raw_row(url: str, n: int) -> tuple[Runner, Closer]:
    import aiohttp
    import ujson

    session = aiohttp.ClientSession()
    ws = await asyncio.wait_for(session.ws_connect(url, max_msg_size=0), 10)

    async def run(events: list[dict[str, Any]]) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        want = len(events)
        loads = ujson.loads

        async def reader() -> None:
            oks = accepted = 0
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    _settle(done, RuntimeError(f"raw: unexpected {msg.type!r}"))
                    return
                envelope = loads(msg.data)
                if envelope[0] == "OK":
                    oks += 1
                    accepted += envelope[2] is True
                    if oks == want:
                        _settle(done, accepted)
                        return

        task = asyncio.create_task(reader())
        dumps = ujson.dumps
        send = ws.send_str
        for event in events:
            await send(dumps(["EVENT", event], ensure_ascii=False, escape_forward_slashes=False))
        try:
            result = await done
        finally:
            task.cancel()
        if isinstance(result, Exception):
            raise result
        return result

    async def close() -> None:
        await ws.close()
        await session.close()

    return run, close


def _config(n: int) -> Any:
    from rx_honeybee import ConnectionConfig

    return ConnectionConfig(write_queue_size=n + 1000)


async def _all_oks(publish_one: Callable[[dict[str, Any]], Any], events: list[Any]) -> int:
    """Publish every event at once through ``publish_one``; the accepted count at the last OK.

    ``publish_one(event)`` returns an Observable of OkResults that completes per event; any
    error ends the round (raised here).
    """
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    want = len(events)
    finished = accepted = 0

    def on_next(result: Any) -> None:
        nonlocal accepted
        accepted += result.accepted

    def on_completed() -> None:
        nonlocal finished
        finished += 1
        if finished == want:
            _settle(done, accepted)

    for event in events:
        publish_one(event).subscribe(on_next, lambda e: _settle(done, e), on_completed)
    result = await done
    if isinstance(result, Exception):
        raise result
    return int(result)


async def publish_row(url: str, n: int) -> tuple[Runner, Closer]:
    from rx_honeybee import Connection
    from rx_honeybee.initiator import publish

    conn = Connection(url, _config(n))
    await asyncio.wait_for(conn.connect(), 10)

    async def run(events: list[dict[str, Any]]) -> int:
        return await _all_oks(lambda e: publish(conn, e, timeout=OK_TIMEOUT), events)

    return run, conn.close


async def pool_row(url: str, n: int) -> tuple[Runner, Closer]:
    from rx_honeybee import ConnectionStatus
    from rx_honeybee.pool import Pool

    pool = Pool([url], _config(n))
    await pool.__aenter__()
    key = pool.relays[0]
    deadline = time.monotonic() + 10
    while pool.status(key) is not ConnectionStatus.CONNECTED:
        if time.monotonic() > deadline:
            await pool.close()
            raise SystemExit(f"pool: {url} did not come up")
        await asyncio.sleep(0.01)

    async def run(events: list[dict[str, Any]]) -> int:
        # a relay's fault (a PublishTimeout...) goes to pool.errors, not to the observer
        failed: list[Exception] = []
        faults = pool.errors.subscribe(lambda pair: failed.append(pair[1]))
        try:
            accepted = await _all_oks(lambda e: pool.publish(e, timeout=OK_TIMEOUT), events)
        finally:
            faults.dispose()
        if failed:
            raise failed[0]
        return accepted

    return run, pool.close


ROWS: dict[str, Callable[[str, int], Awaitable[tuple[Runner, Closer]]]] = {
    "raw": raw_row,
    "publish": publish_row,
    "pool": pool_row,
}
TITLES = {
    "raw": "(a) raw aiohttp pipelined",
    "publish": "(b) rxnostr publish()",
    "pool": "(c) rxnostr Pool.publish",
}


async def one_round(
    name: str, url: str, events: list[dict[str, Any]], profile: cProfile.Profile | None = None
) -> tuple[float, float]:
    run, close = await ROWS[name](url, len(events))
    try:
        gc.collect()
        t0, cpu0 = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        try:
            accepted = await asyncio.wait_for(run(events), TIMEOUT)
        finally:
            if profile is not None:
                profile.disable()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await close()
    if accepted != len(events):
        raise SystemExit(f"{name}: {accepted} of {len(events)} events accepted")
    return elapsed, cpu


async def bench(args: argparse.Namespace) -> int:
    n, rounds = args.n, args.rounds
    names = list(ROWS)
    signer = Signer()
    started = time.perf_counter()
    extra = 1 if args.profile else 0
    batches = {
        (r, name): make_events(signer, f"{os.getpid()} r{r} {name}", n)
        for r in range(rounds + extra)
        for name in names
    }
    warm = {name: make_events(signer, f"{os.getpid()} warm {name}", 200) for name in names}
    self_check(batches[(0, "raw")])
    print(
        f"signed {sum(map(len, batches.values())):,} events in "
        f"{time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    gc.collect()
    gc.freeze()  # the pre-signed events are the bench's, not a client's garbage to scan
    proc, url = start_relay(args.relay, args.relay_src)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    try:
        for name in names:  # untimed: first-use costs (imports, code paths, relay warm-up)
            await one_round(name, url, warm[name])
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                elapsed, cpu = await one_round(name, url, batches[(r, name)])
                times[name].append(elapsed)
                cpus[name].append(cpu)
        profile_text = None
        if args.profile:
            prof = cProfile.Profile()
            await one_round(args.profile, url, batches[(rounds, args.profile)], prof)
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out)
            stats.sort_stats("tottime").print_stats(args.profile_top)
            profile_text = out.getvalue()
    finally:
        stop(proc)
    report(args, url, times, cpus)
    if profile_text is not None:
        print(f"\ncProfile of one more {TITLES[args.profile]} round (N={n}), by tottime:")
        print(profile_text)
    return 0


def report(
    args: argparse.Namespace, url: str, times: dict[str, list[float]], cpus: dict[str, list[float]]
) -> None:
    n = args.n
    relay = "nostr-sdk LocalRelay" if args.relay == "nostr-sdk" else "rxnostr embedded relay"
    print(
        f"publish {n:,} distinct signed events, every OK awaited; {relay} in its own process; "
        f"best of {args.rounds} rounds"
    )
    print(
        f"{'row':<28}{'best s':>8}{'median s':>10}{'events/s':>10}{'× raw':>7}"
        f"{'CPU µs/ev':>11}{'CPU/wall':>10}"
    )
    raw_rate = n / min(times["raw"])
    for name, seconds in times.items():
        best = min(seconds)
        rate = n / best
        cpu = statistics.median(cpus[name])
        print(
            f"{TITLES[name]:<28}{best:>8.4f}{statistics.median(seconds):>10.4f}{rate:>10,.0f}"
            f"{rate / raw_rate:>7.2f}{cpu / n * 1e6:>11.1f}"
            f"{cpu / statistics.median(seconds):>10.2f}"
        )
    raw_cpu = statistics.median(cpus["raw"])
    print(
        f"ratios: publish()/raw = {n / min(times['publish']) / raw_rate:.3f}, "
        f"Pool.publish/raw = {n / min(times['pool']) / raw_rate:.3f} (events/s, best rounds); "
        f"client CPU raw/publish() = {raw_cpu / statistics.median(cpus['publish']):.3f}, "
        f"raw/Pool = {raw_cpu / statistics.median(cpus['pool']):.3f} (medians)"
    )
    print(
        "note: CPU = time.process_time of the client process over the round (the relay is "
        "another process); CPU/wall near 1 means the client is the bottleneck"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000, help="events per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per row; best is kept")
    parser.add_argument("--relay", choices=["nostr-sdk", "embedded"], default="nostr-sdk")
    parser.add_argument(
        "--relay-src",
        type=Path,
        default=REPO,
        help="source tree whose rx_honeybee runs the embedded relay (default: this repo)",
    )
    parser.add_argument("--profile", choices=list(ROWS), help="cProfile one more round of it")
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
