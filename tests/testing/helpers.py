"""Events, fake signatures and a recording client for the test relay's tests.

``FAST`` and ``until`` come from the kit (:mod:`rx_honeybee.testing`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rx_honeybee import Connection
from rx_honeybee.testing import FAST, until

ALICE = "a1" * 32
BOB = "b2" * 32

__all__ = ["ALICE", "BOB", "FAST", "Peer", "fake_verify", "make_event", "until"]

_serial = itertools.count()


def _serialize(pubkey: str, created_at: int, kind: int, tags: Any, content: str) -> bytes:
    text = json.dumps(
        [0, pubkey, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False
    )
    return text.encode()


def make_event(
    kind: int = 1,
    created_at: int = 1000,
    *,
    pubkey: str = ALICE,
    tags: Sequence[Sequence[str]] = (),
    content: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A well-formed event whose id is its NIP-01 hash and whose "sig" is a SHA-512 of it.

    ``event_id`` forces an id (the fake signature then no longer verifies).
    """
    text = content if content is not None else f"note {next(_serial)}"
    tag_list = [list(tag) for tag in tags]
    serial = _serialize(pubkey, created_at, kind, tag_list, text)
    return {
        "id": event_id or hashlib.sha256(serial).hexdigest(),
        "pubkey": pubkey,
        "created_at": created_at,
        "kind": kind,
        "tags": tag_list,
        "content": text,
        "sig": hashlib.sha512(serial).hexdigest(),
    }


def fake_verify(event: Mapping[str, Any]) -> bool:
    """Check the id hash and the fake signature of ``make_event``."""
    serial = _serialize(
        event["pubkey"], event["created_at"], event["kind"], event["tags"], event["content"]
    )
    return bool(
        event["id"] == hashlib.sha256(serial).hexdigest()
        and event["sig"] == hashlib.sha512(serial).hexdigest()
    )


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
