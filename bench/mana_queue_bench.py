"""PriorityWriteQueue against honeybee's FIFO WriteQueue, in the same run (ratios).

Run: .venv/bin/python bench/mana_queue_bench.py [--n 100000] [--repeat 7]

Two figures, each with its target:

1. Uncontended cost per envelope: ``put`` + write through a fake fast link (its
   ``try_send`` takes every envelope at once, as aiohttp's does on an idle socket), with
   the queue's writer task running. The envelopes are a mix of REQ, EVENT (~700 bytes) and
   CLOSE. Best of ``--repeat`` rounds, the two queues taking turns; target: the priority
   queue costs at most 1.15x the FIFO one. Also printed, for information: the queued path
   (a link without ``try_send``: every envelope goes through the writer task).
2. Control latency under load: with the link held, 1,000 REQs are queued and the writer is
   in the middle of writing the first; then a CLOSE is put and the link released. Counted:
   the writes that reach the link before the CLOSE. Target: at most one (the one in flight).
   The FIFO queue (given room for the CLOSE, else it refuses it) writes all 1,000 first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

from rx_honeybee.write_queue import WriteQueue
from rx_mana.write_queue import PriorityWriteQueue
from rx_roots import enclose_close, enclose_req

UNCONTENDED_TARGET = 1.15
CONTROL_TARGET = 1
LOADED = 1000

Queue = Any  # WriteQueue | PriorityWriteQueue: both OutgoingQueues


class FastLink:
    """A link that takes every frame at once (``try_send``) and never waits in ``send``."""

    compressed = False

    def __init__(self) -> None:
        self.count = 0

    def try_send(self, envelope: str) -> bool:
        self.count += 1
        return True

    async def send(self, envelope: str) -> None:
        self.count += 1

    def ping(self, payload: bytes) -> None:
        pass


class QueuedLink(FastLink):
    """The same link without ``try_send``: every envelope goes through the writer task."""

    try_send = None  # type: ignore[assignment]


class HeldLink(FastLink):
    """Records the order of writes; ``send`` waits while ``gate`` is clear."""

    try_send = None  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.sent: list[str] = []
        self.waiting = 0

    async def send(self, envelope: str) -> None:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        self.sent.append(envelope)


def envelopes(n: int) -> list[str]:
    """A mix: 60% REQ, 35% EVENT of ~700 bytes, 5% CLOSE (distinct objects)."""
    content = "x" * 500
    out = []
    for i in range(n):
        kind = i % 20
        if kind < 12:
            out.append(enclose_req(f"s{i}", [{"kinds": [1], "limit": 10}]))
        elif kind < 19:
            out.append(
                f'["EVENT",{{"id":"{i:064x}","pubkey":"{0:064x}","created_at":1,'
                f'"kind":1,"tags":[],"content":"{content}","sig":"{0:0128x}"}}]'
            )
        else:
            out.append(enclose_close(f"s{i}"))
    return out


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def per_envelope(
    make: Callable[[], Queue], link_type: type[FastLink], batch: list[str]
) -> float:
    """Seconds per envelope to put (and write) ``batch`` through a fresh queue."""
    queue = make()
    link = link_type()
    writer = asyncio.get_running_loop().create_task(queue.run(link, lambda _: None))
    await _settle()
    put = queue.put
    gc.disable()
    try:
        start = time.perf_counter()
        for envelope in batch:
            put(envelope)
        await queue.drained()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    writer.cancel()
    try:
        await writer
    except asyncio.CancelledError:
        pass
    assert link.count == len(batch), (link.count, len(batch))
    return elapsed / len(batch)


async def best_of(
    makers: dict[str, Callable[[], Queue]], link_type: type[FastLink], batch: list[str], repeat: int
) -> dict[str, float]:
    best = dict.fromkeys(makers, float("inf"))
    for round_ in range(repeat):
        names = list(makers)
        if round_ % 2:
            names.reverse()  # take turns going first
        for name in names:
            best[name] = min(best[name], await per_envelope(makers[name], link_type, batch))
    return best


async def writes_before_control(queue: Queue) -> int:
    """Writes that reach the link before a CLOSE put behind ``LOADED`` queued REQs."""
    link = HeldLink()
    writer = asyncio.get_running_loop().create_task(queue.run(link, lambda _: None))
    await _settle()
    for i in range(LOADED):
        queue.put(enclose_req(f"s{i}", [{"kinds": [1]}]))
    await _settle()
    assert link.waiting == 1  # the first REQ is being written
    close = enclose_close("s0")
    queue.put(close)
    link.gate.set()
    await queue.drained()
    writer.cancel()
    try:
        await writer
    except asyncio.CancelledError:
        pass
    return link.sent.index(close)


async def bench(args: argparse.Namespace) -> int:
    batch = envelopes(args.n)
    makers: dict[str, Callable[[], Queue]] = {
        "WriteQueue (FIFO)": lambda: WriteQueue(args.n + 100, 1 << 20),
        "PriorityWriteQueue": lambda: PriorityWriteQueue(args.n + 100),
    }
    print(f"N={args.n} envelopes (60% REQ, 35% EVENT ~700 B, 5% CLOSE), best of {args.repeat}")
    fast = await best_of(makers, FastLink, batch, args.repeat)
    queued = await best_of(makers, QueuedLink, batch, args.repeat)
    base_fast, base_queued = fast["WriteQueue (FIFO)"], queued["WriteQueue (FIFO)"]
    print(f"{'':22} {'uncontended µs':>15} {'ratio':>7}   {'queued µs':>10} {'ratio':>7}")
    for name in makers:
        print(
            f"{name:22} {fast[name] * 1e6:15.3f} {fast[name] / base_fast:7.2f}x"
            f"  {queued[name] * 1e6:10.3f} {queued[name] / base_queued:7.2f}x"
        )
    ratio = fast["PriorityWriteQueue"] / base_fast
    ok_fast = ratio <= UNCONTENDED_TARGET
    print(
        f"uncontended ratio {ratio:.2f}x (target <= {UNCONTENDED_TARGET}x): "
        f"{'met' if ok_fast else 'NOT met'}"
    )

    priority = await writes_before_control(PriorityWriteQueue(LOADED))
    fifo = await writes_before_control(WriteQueue(LOADED + 1, 1 << 20))
    ok_control = priority <= CONTROL_TARGET
    print(
        f"writes before a CLOSE queued behind {LOADED} REQs: PriorityWriteQueue {priority}, "
        f"WriteQueue (FIFO, capacity {LOADED + 1}) {fifo}"
    )
    print(
        f"control waits behind at most {CONTROL_TARGET} write: {'met' if ok_control else 'NOT met'}"
    )
    return 0 if ok_fast and ok_control else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="envelopes per round")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; the best is kept")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
