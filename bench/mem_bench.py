"""Memory per idle connection: 500 websockets, each with one live subscription, two clients.

One relay in its own process (rxnostr's ``python -m rx_honeybee relay`` by default, or
``--relay nostr-sdk``: nostr-sdk's LocalRelay with its connection cap lifted). Each client
opens ``--conns`` (500) connections to it, sends one REQ per connection for live notes
(``kinds [1], since now``: nothing stored matches, so the relay answers EOSE and then
keeps the subscription open) and waits for every EOSE, then settles for ``--settle``
seconds (1 s):

  (a) raw:  aiohttp, one ``ClientSession`` per connection, ``ws_connect(heartbeat=25)``,
            one REQ each, one reader task each (``async for msg in ws``, ujson)
  (b) pool: ``rx_honeybee.pool.Pool`` of N relay URLs (default ``ConnectionConfig()``: health
            pings on), ``pool.subscribe`` one live subscription (a REQ on every relay). The
            pool normalizes URLs, so each is made distinct with a query string
            (``ws://127.0.0.1:PORT/?n=i``; the relay routes ``/`` whatever the query).

Every measurement runs in a fresh child process of this script (rows do not pollute each
other), after one untimed warm-up connection (first-use imports and caches are not a
connection's cost) and ``gc.collect()``:

  RSS:  VmRSS from /proc/self/status before and after, tracemalloc off; median of --runs
  heap: tracemalloc started just before the connections are made; the traced size after
        (``tracemalloc.get_traced_memory``), one run per row

Prints KiB per connection of both and the ratios pool/raw; ``--top N`` also prints the
top-N allocation sites of the rxnostr row (``snapshot.compare_to(baseline, 'lineno')``,
``--group traceback --frames K`` for K-frame tracebacks instead) and a per-file summary.

Run: .venv/bin/python bench/mem_bench.py [--conns 500] [--runs 3] [--top 25]
     [--relay embedded|nostr-sdk] [--relay-src DIR]

Only public paths of rxnostr are imported (rx_honeybee, rx_honeybee.pool).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import linecache
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from relay_process import die_with_parent, start_relay, stop

REPO = Path(__file__).resolve().parent.parent
CONNECT_TIMEOUT = 120.0  # all connections up and EOSE'd within this


# -- the relay, in its own process -----------------------------------------------------------


# -- the measuring child ---------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def live_filter() -> dict[str, Any]:
    return {"kinds": [1], "since": int(time.time())}


async def _wait(event: asyncio.Event, what: str) -> None:
    try:
        await asyncio.wait_for(event.wait(), CONNECT_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"timed out waiting for {what}") from None


class RawClients:
    """N aiohttp websockets, a ClientSession each, a reader task each."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url, n
        self.sessions: list[Any] = []
        self.sockets: list[Any] = []
        self.readers: list[asyncio.Task[None]] = []
        self.eosed = 0
        self.all_eosed = asyncio.Event()

    async def _one(self, i: int, req: str) -> None:
        import aiohttp
        import ujson

        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"{self.url}/?n={i}", heartbeat=25)
        self.sessions.append(session)
        self.sockets.append(ws)
        await ws.send_str(req)

        async def read() -> None:
            loads = ujson.loads
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT and loads(msg.data)[0] == "EOSE":
                    self.eosed += 1
                    if self.eosed == self.n:
                        self.all_eosed.set()

        self.readers.append(asyncio.create_task(read()))

    async def open(self) -> None:
        import ujson

        req = ujson.dumps(["REQ", "live", live_filter()])
        await asyncio.gather(*(self._one(i, req) for i in range(self.n)))
        await _wait(self.all_eosed, f"{self.n} EOSEs")

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets))
        await asyncio.gather(*self.readers, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.sessions))


class PoolClients:
    """One rxnostr Pool of N distinct URLs to the relay, one live pool subscription."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url, n
        self.eosed = 0
        self.all_eosed = asyncio.Event()
        self.pool: Any = None
        self.disposables: list[Any] = []

    def _on_message(self, pair: tuple[str, str]) -> None:
        if pair[1].startswith('["EOSE"'):
            self.eosed += 1
            if self.eosed == self.n:
                self.all_eosed.set()

    async def open(self) -> None:
        from rx_honeybee import ConnectionConfig, ConnectionStatus
        from rx_honeybee.pool import Pool

        urls = [f"{self.url}/?n={i}" for i in range(self.n)]
        self.pool = pool = Pool(urls, ConnectionConfig())
        self.disposables.append(pool.messages.subscribe(self._on_message))
        await pool.__aenter__()
        up = asyncio.Event()

        def on_statuses(statuses: dict[str, Any]) -> None:
            if len(statuses) == self.n and all(
                s is ConnectionStatus.CONNECTED for s in statuses.values()
            ):
                up.set()

        watching = pool.statuses.subscribe(on_statuses)
        await _wait(up, f"{self.n} connections")
        watching.dispose()
        self.disposables.append(pool.subscribe("live", [live_filter()]).subscribe(lambda _: None))
        await _wait(self.all_eosed, f"{self.n} EOSEs")

    async def close(self) -> None:
        for disposable in self.disposables:
            disposable.dispose()
        await self.pool.close()


CLIENTS = {"raw": RawClients, "pool": PoolClients}


def _short(filename: str) -> str:
    for prefix in (str(REPO) + "/", sys.prefix + "/lib/", sys.base_prefix + "/lib/"):
        if filename.startswith(prefix):
            return filename[len(prefix) :].replace("site-packages/", "")
    return filename


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    kind = CLIENTS[args.measure]
    warm = kind(args.url, 1)  # untimed: imports, caches, first-connection paths
    await warm.open()
    await warm.close()
    del warm
    await asyncio.sleep(0.2)
    gc.collect()
    rss0 = rss_kib()
    if args.trace:
        tracemalloc.start(args.frames)
        base = tracemalloc.take_snapshot()
    t0 = time.perf_counter()
    clients = kind(args.url, args.n)
    await clients.open()
    connected = time.perf_counter() - t0
    await asyncio.sleep(args.settle)
    gc.collect()
    result: dict[str, Any] = {"rss_kib": rss_kib() - rss0, "connect_s": connected}
    if args.trace:
        snap = tracemalloc.take_snapshot()
        result["traced_kib"] = tracemalloc.get_traced_memory()[0] / 1024
        tracemalloc.stop()
        ignore = [
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
            tracemalloc.Filter(False, "<unknown>"),
        ]
        snap, base = snap.filter_traces(ignore), base.filter_traces(ignore)
        if args.top:
            result["top"] = [
                {
                    # most recent frame first (a Traceback runs oldest to newest)
                    "frames": [(_short(f.filename), f.lineno) for f in reversed(stat.traceback)],
                    "source": linecache.getline(
                        stat.traceback[-1].filename, stat.traceback[-1].lineno
                    ).strip(),
                    "size": stat.size_diff,
                    "count": stat.count_diff,
                }
                for stat in snap.compare_to(base, args.group)[: args.top]
            ]
            result["files"] = [
                {
                    "file": _short(stat.traceback[0].filename),
                    "size": stat.size_diff,
                    "count": stat.count_diff,
                }
                for stat in snap.compare_to(base, "filename")[:20]
            ]
    await clients.close()
    return result


def child(args: argparse.Namespace) -> int:
    print(json.dumps(asyncio.run(measure(args))))
    return 0


# -- the parent ------------------------------------------------------------------------------


def run_child(args: argparse.Namespace, url: str, row: str, trace: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--measure",
        row,
        "--url",
        url,
        "--conns",
        str(args.conns),
        "--settle",
        str(args.settle),
        "--frames",
        str(args.frames),
        "--group",
        args.group,
    ]
    if trace:
        cmd += ["--trace", "--top", str(args.top if row == "pool" else 0)]
    env = dict(os.environ)
    env.pop("PYTHONDEVMODE", None)
    env.pop("PYTHONTRACEMALLOC", None)
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        timeout=CONNECT_TIMEOUT + 120,
        preexec_fn=die_with_parent,
    )
    if out.returncode != 0:
        raise SystemExit(f"{row} child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main_parent(args: argparse.Namespace) -> int:
    n = args.conns
    proc, url = start_relay(args.relay, args.relay_src, max_connections=100_000)
    rss: dict[str, list[float]] = {"raw": [], "pool": []}
    connect: dict[str, list[float]] = {"raw": [], "pool": []}
    traced: dict[str, dict[str, Any]] = {}
    try:
        for _ in range(args.runs):
            for row in ("raw", "pool"):
                result = run_child(args, url, row, trace=False)
                rss[row].append(result["rss_kib"] / n)
                connect[row].append(result["connect_s"])
        for row in ("raw", "pool"):
            traced[row] = run_child(args, url, row, trace=True)
    finally:
        stop(proc)
    relay = "rxnostr embedded relay" if args.relay == "embedded" else "nostr-sdk LocalRelay"
    print(
        f"{n} idle connections, one live subscription each; {relay} in its own process; "
        f"RSS median of {args.runs} runs, each in a fresh process; heap from one tracemalloc run"
    )
    print(f"{'row':<34}{'RSS KiB/conn':>14}{'(min-max)':>14}{'heap KiB/conn':>15}{'connect s':>11}")
    titles = {"raw": "(a) raw aiohttp, session each", "pool": "(b) rxnostr Pool + subscribe"}
    for row in ("raw", "pool"):
        spread = f"{min(rss[row]):.1f}-{max(rss[row]):.1f}"
        print(
            f"{titles[row]:<34}{statistics.median(rss[row]):>14.1f}{spread:>14}"
            f"{traced[row]['traced_kib'] / n:>15.1f}{statistics.median(connect[row]):>11.2f}"
        )
    rss_ratio = statistics.median(rss["pool"]) / statistics.median(rss["raw"])
    heap_ratio = traced["pool"]["traced_kib"] / traced["raw"]["traced_kib"]
    print(f"ratios b/a: RSS {rss_ratio:.2f}, heap {heap_ratio:.2f}")
    if args.top:
        print(
            f"\ntop {args.top} allocation sites of the rxnostr row, grouped by {args.group} "
            f"(compare_to the snapshot taken before the {n} connections):"
        )
        print(f"{'KiB':>9}{'B/conn':>8}{'count':>9}{'/conn':>7}  site")
        for stat in traced["pool"].get("top", []):
            where = " <- ".join(f"{f}:{line}" for f, line in stat["frames"])
            print(
                f"{stat['size'] / 1024:>9.1f}{stat['size'] / n:>8.0f}{stat['count']:>9}"
                f"{stat['count'] / n:>7.1f}  {where}"
            )
            print(f"{'':>35}{stat['source'][:100]}")
        print("\nby file:")
        for stat in traced["pool"].get("files", []):
            print(
                f"{stat['size'] / 1024:>9.1f}{stat['size'] / n:>8.0f}{stat['count']:>9}"
                f"{stat['count'] / n:>7.1f}  {stat['file']}"
            )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conns", type=int, default=500, help="connections per row")
    parser.add_argument("--runs", type=int, default=3, help="RSS runs per row (median)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after all EOSEs")
    parser.add_argument("--top", type=int, default=0, help="print the top-N allocation sites")
    parser.add_argument("--group", choices=["lineno", "traceback"], default="lineno")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames kept")
    parser.add_argument("--relay", choices=["embedded", "nostr-sdk"], default="embedded")
    parser.add_argument(
        "--relay-src",
        type=Path,
        default=REPO,
        help="source tree whose rx_honeybee runs the embedded relay (default: this repo)",
    )
    # child modes
    parser.add_argument("--measure", choices=list(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.n = args.conns
    if args.measure:
        return child(args)
    return main_parent(args)


if __name__ == "__main__":
    sys.exit(main())
