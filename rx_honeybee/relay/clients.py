"""What the relay knows about one client, and how it answers it.

A client that cannot keep up (its write queue is full) is dropped: its socket is closed
without flushing, by the ``drop`` callback the relay gives (it tracks the closing task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, QueueFull
from rx_honeybee.relay import responder
from rx_roots import Filter

__all__ = ["Client"]


class Client:
    """One connected client: its subscriptions, its NIP-42 state, its answers."""

    __slots__ = ("_drop", "challenge", "conn", "dropped", "pubkeys", "subs")

    def __init__(self, conn: Connection, drop: Callable[[Connection], None]) -> None:
        self.conn = conn  # the responder connection
        self.subs: dict[str, list[Filter]] = {}  # sub id → filters
        self.challenge: str | None = None  # the NIP-42 challenge expected back
        self.pubkeys: set[str] = set()  # authenticated as (NIP-42)
        self.dropped = False  # its socket is being closed: ignore it from now on
        self._drop = drop  # closes its socket (the relay tracks the task)

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
        self.subs.pop(sub_id, None)
        self.send(responder.send_closed, sub_id, message)

    def ok(self, event_id: str, accepted: bool, message: str = "") -> None:
        self.send(responder.send_ok, event_id, accepted, message)
