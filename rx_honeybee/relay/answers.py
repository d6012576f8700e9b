"""A REQ's answer: its stored events, ``EOSE``, then what went live while they were read.

The SQLite store reads on threads, so an answer may come after other things happened:
live events for the subscription are held until its ``EOSE`` (those already among the
stored events are not sent twice), and the client's next envelopes wait in its backlog
so they are handled in the order sent (``resume``). The stored part is cut at
``max_answer_bytes`` (newest first, as a ``limit`` cuts), so one REQ cannot fill a
client's whole outgoing budget. With the memory store all of it happens at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial

from rx_honeybee.connection import Connection
from rx_honeybee.relay import responder
from rx_honeybee.relay.backend import Found, Store
from rx_honeybee.relay.clients import Client
from rx_honeybee.write_queue import encoded_size
from rx_roots import Filter, enclose_subscription_event

__all__ = ["Answers"]


class Answers:
    """Answers REQs from a store.

    Args:
        max_limit: the clamp on every filter's ``limit``.
        max_answer_bytes: the most bytes of stored events one REQ is sent.
        resume: handles what a client sent while its REQ was read (its backlog).
    """

    def __init__(
        self, max_limit: int, max_answer_bytes: int, resume: Callable[[Client], None]
    ) -> None:
        self.max_limit = max_limit
        self.max_answer_bytes = max_answer_bytes
        self._resume = resume

    def begin(self, store: Store, client: Client, sub_id: str, filters: list[Filter]) -> None:
        """Read the stored events of ``client``'s subscription ``sub_id`` (just opened)."""
        client.held[sub_id] = []  # live events wait until the stored ones are out
        client.backlog = deque()  # and so does what the client sends next
        done = partial(self._answer, client, sub_id, filters)
        failed = partial(self._unanswered, client, sub_id, filters)
        try:
            store.fetch(filters, done, max_limit=self.max_limit, failed=failed)
        except Exception as exc:  # (a closed store) never leave the backlog waiting
            failed(exc)

    def _answer(self, client: Client, sub_id: str, filters: list[Filter], events: Found) -> None:
        try:
            if client.subs.get(sub_id) is filters:  # not dropped meanwhile
                self._send(client, sub_id, events)
        finally:
            self._resume(client)

    def _send(self, client: Client, sub_id: str, events: Found) -> None:
        held = client.held.pop(sub_id, [])
        room = self.max_answer_bytes
        sent: set[str] = set()
        for event_id, event in events:
            envelope = enclose_subscription_event(sub_id, event)
            room -= encoded_size(envelope)
            if room < 0:  # the rest of the answer is cut, as a limit would cut it
                break
            client.send(Connection.send, envelope)
            sent.add(event_id)
        client.send(responder.send_eose, sub_id)
        for event_id, text in held:
            if event_id not in sent:
                client.send(Connection.send, enclose_subscription_event(sub_id, text))

    def _unanswered(
        self, client: Client, sub_id: str, filters: list[Filter], error: BaseException
    ) -> None:
        """The store could not read a REQ's events: end it with ``CLOSED error:``."""
        if client.subs.get(sub_id) is filters:
            if isinstance(error, Exception):
                client.conn.report(error)
            client.closed(sub_id, f"error: could not read stored events ({type(error).__name__})")
        self._resume(client)
