"""CPU of one broadcast to 500 responder connections, with and without PreparedCache.

A ``serve()`` server in this process accepts ``--conns`` (500) websockets opened by a
child process (raw aiohttp clients that only read, so their CPU is not ours). Each
broadcast sends a new signed ~2 KB EVENT envelope to every responder connection:

  plain:  ``conn.send(env)`` on each (what ``Pool.broadcast`` and the relay do today):
          aiohttp encodes and, with deflate, compresses the text once per socket;
  cached: ``broadcast(conns, env, cache)``: encoded and compressed once, the same bytes
          written to every socket (one miss, 499 hits per new event).

CPU is this thread's (``time.thread_time``: user + system, the socket writes included)
from the first send until every connection's queue is empty, best of ``--runs``; both
with permessage-deflate negotiated (level 6, ``CompressionConfig``) and without. The
child checks that every client received every envelope intact. Target: the cache at
least 2x cheaper with deflate on.

Run: .venv/bin/python bench/mana_broadcast_bench.py [--conns 500] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay_process import die_with_parent  # noqa: E402

from rx_honeybee import CompressionConfig, Connection, ConnectionConfig  # noqa: E402
from rx_honeybee.transport.server import serve  # noqa: E402
from rx_mana.broadcast import broadcast  # noqa: E402
from rx_mana.prepared import PreparedCache  # noqa: E402
from rx_roots import enclose_subscription_event  # noqa: E402
from tests.support import make_event  # noqa: E402

TARGET = 2.0  # cached must be this many times cheaper with deflate on


# -- the child: N raw aiohttp clients that read and check ------------------------------------


async def _clients(url: str, conns: int, compress: int) -> None:
    import aiohttp

    received = 0
    bad = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for _ in range(conns):
            sockets.append(await session.ws_connect(url, compress=compress, max_msg_size=0))
        print("ready", flush=True)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal received, bad
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    try:
                        ok = json.loads(msg.data)[0] == "EVENT"
                    except ValueError:
                        ok = False
                    received += 1
                    bad += not ok
                else:
                    bad += 1

        readers = [asyncio.ensure_future(read(ws)) for ws in sockets]
        await asyncio.to_thread(sys.stdin.readline)  # the parent says: done
        await asyncio.sleep(0.5)  # the last frames
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        print(json.dumps({"received": received, "bad": bad}), flush=True)
        for ws in sockets:
            await ws.close()


# -- the parent: the server and the measurements --------------------------------------------


def _envelope(n: int) -> str:
    event = make_event(n, seed="bench", content=f"broadcast {n}: " + "gm nostr, " * 185)
    return enclose_subscription_event("feed", event)


async def _drained(conns: list[Connection]) -> None:
    while any(conn.pending for conn in conns):
        await asyncio.sleep(0)


async def _measure(
    conns: list[Connection], runs: int, send: Callable[[str], None], first: int
) -> float:
    best = float("inf")
    envelopes = [_envelope(first + i) for i in range(runs)]  # signed outside the timing
    for env in envelopes:
        gc.collect()
        await asyncio.sleep(0.02)  # the previous frames leave the socket buffers
        start = time.thread_time()
        send(env)
        await _drained(conns)
        best = min(best, time.thread_time() - start)
    return best


async def _round(conns_wanted: int, runs: int, deflate: bool) -> dict[str, float]:
    config = ConnectionConfig(compression=CompressionConfig(enabled=deflate))
    responders: list[Connection] = []
    async with serve("127.0.0.1", 0, config) as server:
        sub = server.connections.subscribe(responders.append)
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", server.url, str(conns_wanted), str(int(deflate))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line.strip() == "ready", line
            while len(responders) < conns_wanted:
                await asyncio.sleep(0.01)
            assert all(r.link is not None and r.link.compressed == deflate for r in responders)

            def plain(env: str) -> None:
                for conn in responders:
                    conn.send(env)

            cache = PreparedCache()

            def cached(env: str) -> None:
                errors = broadcast(responders, env, cache)
                assert not errors, errors[:3]

            await _measure(responders, 3, plain, 900)  # warm-up: imports, buffers
            await _measure(responders, 3, cached, 950)
            t_plain = await _measure(responders, runs, plain, 1000)
            t_cached = await _measure(responders, runs, cached, 2000)
            stats = cache.stats()
            child.stdin.write("done\n")
            child.stdin.flush()
            result = json.loads(await asyncio.to_thread(child.stdout.readline))
            expected = conns_wanted * (2 * runs + 6)
            assert result == {"received": expected, "bad": 0}, (result, expected)
        finally:
            if child.poll() is None:
                child.stdin.close()
                child.wait(timeout=10)
            sub.dispose()
    return {
        "plain": t_plain,
        "cached": t_cached,
        "misses": stats.misses,
        "hits": stats.hits,
        "ratio": stats.ratio,
    }


async def _main(conns: int, runs: int) -> int:
    met = True
    print(f"one ~2 KB EVENT to {conns} responder connections; CPU per broadcast, best of {runs}")
    for deflate in (True, False):
        r = await _round(conns, runs, deflate)
        speedup = r["plain"] / r["cached"]
        name = "deflate on " if deflate else "deflate off"
        print(
            f"{name}: plain {r['plain'] * 1e3:7.2f} ms ({r['plain'] / conns * 1e6:5.1f} us/conn)"
            f"  cached {r['cached'] * 1e3:7.2f} ms ({r['cached'] / conns * 1e6:5.1f} us/conn)"
            f"  -> {speedup:4.2f}x   cache: {r['misses']:.0f} misses, {r['hits']:.0f} hits,"
            f" deflate ratio {r['ratio']:.2f}"
        )
        if deflate:
            met = speedup >= TARGET
            verdict = "MET" if met else "NOT MET"
            print(f"target (cached >= {TARGET}x cheaper with deflate on): {verdict}")
    return 0 if met else 1


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        asyncio.run(_clients(sys.argv[2], int(sys.argv[3]), 15 if sys.argv[4] == "1" else 0))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sys.exit(asyncio.run(_main(args.conns, args.runs)))


if __name__ == "__main__":
    main()
