"""Inbound streaming throughput: Connection + route() + find_subscription_event vs a raw loop.

A pre-framed WebSocket server (raw asyncio, in its own process) streams N realistic
EVENT envelopes (~700 bytes) as fast as the client reads. Each client runs in a fresh
process so its peak RSS is its own:

  (a) raw:  aiohttp ``ws.receive()`` loop + ``ujson.loads``
  (b) rx:   ``Connection.messages`` → ``channels()["EVENT"]`` → ``find_subscription_event``
            (that function is the subscriber itself; the server's close frame, code 4000,
            completes the channel and stops the clock, so no counting callback is timed)

Run: .venv/bin/python bench/stream_bench.py [--n 100000] [--rounds 8]
Prints events/s for both, the ratio b/a (target ≥ 0.85), µs of overhead per message and
peak RSS of each client.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import multiprocessing
import os
import random
import resource
import struct
import subprocess
import sys
import time
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CLOSE_4000 = bytes([0x88, 0x02]) + (4000).to_bytes(2, "big")  # close frame, code 4000


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def make_envelopes(n: int) -> list[bytes]:
    """N distinct EVENT envelopes of about 700 bytes each."""
    rng = random.Random(7)
    base_tags = [["e", _hex(rng, 64)], ["p", _hex(rng, 64)]]
    out = []
    for i in range(n):
        event = {
            "id": f"{i:064x}",
            "pubkey": _hex(rng, 64) if i < 64 else f"{i % 97:064x}",
            "created_at": 1_700_000_000 + i,
            "kind": 1,
            "tags": base_tags,
            "content": "gm nostr, this is a benchmark note about relays " * 4 + str(i),
            "sig": f"{i:0128x}",
        }
        out.append(json.dumps(["EVENT", "bench", event], separators=(",", ":")).encode())
    return out


def frame(payload: bytes) -> bytes:
    """An unmasked server→client text frame."""
    size = len(payload)
    if size < 126:
        return bytes([0x81, size]) + payload
    if size < 1 << 16:
        return bytes([0x81, 126]) + struct.pack("!H", size) + payload
    return bytes([0x81, 127]) + struct.pack("!Q", size) + payload


def serve(port_queue: Any, n: int) -> None:
    """Server process: answer the upgrade, blast the pre-built frames, drain client input."""
    blob = b"".join(frame(e) for e in make_envelopes(n))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )

        async def drain_input() -> None:
            while await reader.read(1 << 16):
                pass

        sink = asyncio.create_task(drain_input())
        for start in range(0, len(blob), 1 << 20):
            writer.write(blob[start : start + (1 << 20)])
            await writer.drain()
        writer.write(_CLOSE_4000)  # "done, do not reconnect": ends the client's streams
        await writer.drain()
        await sink
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def client_raw(url: str, n: int) -> float:
    import aiohttp
    import ujson

    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        loads = ujson.loads
        text = aiohttp.WSMsgType.TEXT
        msg = await ws.receive()
        start = time.perf_counter()
        loads(msg.data)
        for _ in range(n - 1):
            msg = await ws.receive()
            if msg.type is not text:
                raise RuntimeError(f"unexpected {msg.type}")
            loads(msg.data)
        elapsed = time.perf_counter() - start
        if (await ws.receive()).type is text:
            raise RuntimeError("more envelopes than expected")
        return elapsed


async def client_rx(url: str, n: int) -> float:
    """The pipeline itself: no counting callback (the server's close 4000 ends it)."""
    from rx_honeybee.connection import Connection
    from rx_roots import find_subscription_event

    loop = asyncio.get_running_loop()
    ended: asyncio.Future[float] = loop.create_future()
    conn = Connection(url)
    events = conn.channels()["EVENT"]
    started: list[float] = []

    def first(_: str) -> None:  # a one-shot subscriber: starts the clock, then leaves
        started.append(time.perf_counter())
        starter.dispose()

    starter = events.subscribe(first)
    events.subscribe(
        find_subscription_event, on_completed=lambda: ended.set_result(time.perf_counter())
    )
    await conn.connect()
    end = await ended
    await conn.close()
    if conn.metrics.messages_received != n:
        raise RuntimeError(f"received {conn.metrics.messages_received} of {n}")
    return end - started[0]


def run_client(mode: str, port: int, n: int) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}/"
    fn = client_raw if mode == "raw" else client_rx
    seconds = asyncio.run(fn(url, n))
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "rate": (n - 1) / seconds, "rss_mb": rss_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--client", choices=["raw", "rx"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(run_client(args.client, args.port, args.n)))
        return
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.n), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    sizes = [len(e) for e in make_envelopes(100)]
    print(f"N={args.n} EVENT envelopes, ~{sum(sizes) // len(sizes)} bytes each")
    best: dict[str, dict[str, float]] = {}
    try:
        for _ in range(args.rounds):
            for mode in ("raw", "rx"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--client",
                        mode,
                        "--port",
                        str(port),
                        "--n",
                        str(args.n),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=os.environ,
                )
                result = json.loads(out.stdout)
                if mode not in best or result["rate"] > best[mode]["rate"]:
                    best[mode] = result
    finally:
        server.terminate()
        server.join()
    raw, rx = best["raw"], best["rx"]
    overhead_us = (1 / rx["rate"] - 1 / raw["rate"]) * 1e6
    print(
        f"(a) raw aiohttp + ujson.loads      {raw['rate']:>10,.0f} events/s  "
        f"peak RSS {raw['rss_mb']:.1f} MB"
    )
    print(
        f"(b) Connection→route→find_sub_evt  {rx['rate']:>10,.0f} events/s  "
        f"peak RSS {rx['rss_mb']:.1f} MB"
    )
    print(
        f"ratio b/a = {rx['rate'] / raw['rate']:.3f} (target ≥ 0.85); "
        f"overhead {overhead_us:.2f} µs/message (best of {args.rounds})"
    )


if __name__ == "__main__":
    main()
