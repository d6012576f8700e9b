"""Closing websockets that hold nothing open and have said nothing for a long while.

A client with an open subscription is waiting for live events, so it is never idle; one
with none that has been silent for ``timeout`` seconds only holds a socket slot (and, on a
LAN, one of the per-address slots other tabs or tools of that machine need). One sweep
task looks at every client a few times per timeout: cheaper than a timer per client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from rx_honeybee.relay.clients import Client

__all__ = ["IdleWatch"]

_SWEEPS_PER_TIMEOUT = 4


class IdleWatch:
    """Calls ``close(client)`` for each client idle longer than ``timeout`` seconds.

    Args:
        timeout: seconds without an envelope from a client that holds no subscription.
        clients: the clients connected now.
        close: closes one (the relay's clean close, code 1000).
    """

    def __init__(
        self,
        timeout: float,
        clients: Callable[[], Iterable[Client]],
        close: Callable[[Client], None],
    ) -> None:
        self.timeout = timeout
        self._clients = clients
        self._close = close
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sweeping (idempotent); on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        """Stop sweeping (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def sweep(self, now: float) -> None:
        """Close every client idle at ``now`` (``time.monotonic()``)."""
        for client in list(self._clients()):
            if not client.dropped and not client.subs and now - client.last_seen > self.timeout:
                self._close(client)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / _SWEEPS_PER_TIMEOUT)
            self.sweep(time.monotonic())
