"""Wall-clock tests over real sockets on 127.0.0.1: a fast configuration and a bounded wait.

Against :class:`~rx_honeybee.testing.Relay` (or any local peer) the defaults are built for
the internet: a 10 s connect timeout, backoff from 1 s, a ping every 25 s. :data:`FAST`
shrinks them to what a loopback test can afford, and :func:`until` waits for a condition
without sleeping longer than needed nor hanging forever.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

from rx_honeybee.config import ConnectionConfig, HealthConfig, ReconnectConfig

__all__ = ["FAST", "until"]

FAST = ConnectionConfig(
    connect_timeout=1.0,
    reconnect=ReconnectConfig(initial_delay=0.02, max_delay=0.05, jitter=0, max_attempts=0),
    health=HealthConfig(ping_interval=0.5, pong_timeout=0.25),
)
"""Reconnect within tens of milliseconds, forever; notice a silent peer within a second.

Example::

    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        ...

Derive variants with ``dataclasses.replace(FAST, health=HealthConfig(enabled=False))``.
"""


def _describe(predicate: Callable[[], bool]) -> str:
    """The first source line of ``predicate`` (where the test wrote it), else its repr."""
    try:
        lines, _ = inspect.getsourcelines(predicate)
    except (OSError, TypeError):
        return repr(predicate)
    return lines[0].strip()[:200] if lines else repr(predicate)


async def until(
    predicate: Callable[[], bool], timeout: float = 5.0, *, interval: float = 0.005
) -> None:
    """Poll ``predicate`` every ``interval`` seconds until it holds.

    Why: a loopback test waits for something another task does (a frame arrives, a
    status changes); a fixed sleep is either too long or flaky, an unbounded wait hangs.

    Example::

        conn.send('["REQ","s",{}]')
        await until(lambda: len(relay.subscriptions) == 1)

    Raises:
        AssertionError: if ``predicate`` still fails after ``timeout`` seconds; the message
            quotes the predicate's source line.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s: {_describe(predicate)}")
        await asyncio.sleep(interval)
