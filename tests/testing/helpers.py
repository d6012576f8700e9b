"""Events, fake signatures and a recording client for the test relay's tests.

``FAST`` and ``until`` come from the kit (:mod:`rx_honeybee.testing`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rx_honeybee import Connection
from rx_honeybee.testing import FAST, until
from tests.roots.samples import ALICE, BOB, fake_verify, make_event

__all__ = ["ALICE", "BOB", "FAST", "Peer", "fake_verify", "make_event", "until"]


class Peer:
    """A client Connection that records every envelope it receives, decoded."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn  # the connection
        self.inbox: list[Any] = []  # decoded envelopes not taken yet (raw text if not JSON)
        conn.messages.subscribe(self._on_message)

    def _on_message(self, envelope: str) -> None:
        try:
            self.inbox.append(json.loads(envelope))
        except ValueError:
            self.inbox.append(envelope)

    def send(self, *items: Any) -> None:
        """Send ``items`` as one JSON array."""
        self.conn.send(json.dumps(list(items)))

    async def take(self, count: int = 1, timeout: float = 3.0) -> list[Any]:
        """Wait for ``count`` envelopes and take them out of the inbox, oldest first."""
        await until(lambda: len(self.inbox) >= count, timeout)
        taken = self.inbox[:count]
        del self.inbox[:count]
        return taken

    async def one(self, timeout: float = 3.0) -> Any:
        """Wait for the next envelope and take it."""
        return (await self.take(1, timeout))[0]

    async def quiet(self, seconds: float = 0.05) -> None:
        """Assert that nothing (more) arrives for ``seconds``."""
        await asyncio.sleep(seconds)
        assert self.inbox == []
