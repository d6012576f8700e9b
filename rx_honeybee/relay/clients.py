"""What the relay knows about one client, and how it answers it.

A client that cannot keep up (its write queue is full) is dropped: its socket is closed
without flushing, by the ``drop`` callback the relay gives (it tracks the closing task).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, QueueFull
from rx_honeybee.relay import responder
from rx_roots import Filter

__all__ = ["Client"]


class Client:
    """One connected client: its subscriptions, its NIP-42 state, its answers."""

    __slots__ = (
        "_drop",
        "_sizes",
        "backlog",
        "challenge",
        "conn",
        "dropped",
        "held",
        "last_seen",
        "pubkeys",
        "sub_bytes",
        "subs",
    )

    def __init__(self, conn: Connection, drop: Callable[[Connection], None]) -> None:
        self.conn = conn  # the responder connection
        self.subs: dict[str, list[Filter]] = {}  # sub id → filters
        self._sizes: dict[str, int] = {}  # sub id → bytes of the REQ that opened it
        self.sub_bytes = 0  # bytes of the REQs behind the open subscriptions
        self.held: dict[str, list[tuple[str, str]]] = {}  # sub id → (id, JSON) held back
        self.backlog: deque[str] | None = None  # what it sent while a REQ was being read
        self.last_seen = 0.0  # time.monotonic() of its last envelope
        self.challenge: str | None = None  # the NIP-42 challenge expected back
        self.pubkeys: set[str] = set()  # authenticated as (NIP-42)
        self.dropped = False  # its socket is being closed: ignore it from now on
        self._drop = drop  # closes its socket (the relay tracks the task)

    def subscribe(self, sub_id: str, filters: list[Filter], size: int) -> None:
        """Hold ``sub_id`` (replacing one of that id); ``size``: bytes of its REQ."""
        self.unsubscribe(sub_id)
        self.subs[sub_id] = filters
        self._sizes[sub_id] = size
        self.sub_bytes += size

    def subsize(self, sub_id: str) -> int:
        """Bytes held for ``sub_id`` (0 when it is not open)."""
        return self._sizes.get(sub_id, 0)

    def unsubscribe(self, sub_id: str) -> None:
        """Forget ``sub_id`` (nothing when it is not open)."""
        if self.subs.pop(sub_id, None) is not None:
            self.sub_bytes -= self._sizes.pop(sub_id)
            self.held.pop(sub_id, None)

    def send(self, send: Callable[..., None], *args: Any) -> None:
        """Queue an answer; a client that cannot keep up (queue full) is dropped."""
        if self.dropped:
            return
        try:
            send(self.conn, *args)
        except QueueFull:
            self._drop(self.conn)
        except HoneybeeError:
            pass  # closing: the client is on its way out

    def notice(self, message: str) -> None:
        self.send(responder.send_notice, message)

    def closed(self, sub_id: str, message: str) -> None:
        """End ``sub_id`` with ``CLOSED`` (it is forgotten first)."""
        self.unsubscribe(sub_id)
        self.send(responder.send_closed, sub_id, message)

    def ok(self, event_id: str, accepted: bool, message: str = "") -> None:
        self.send(responder.send_ok, event_id, accepted, message)
