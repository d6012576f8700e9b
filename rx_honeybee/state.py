"""A connection's life as data: what happens to it (events), the table, one place applying it.

As h11 does for HTTP, the legal moves are a table keyed by *event*, not by target status,
and :meth:`StateMachine.apply` is the only code that changes a status. Everything else
(whether a connection was ever up, whether it may still send) is derived from the status
and the socket generation, never kept in flags beside it.

::

    initiator:  DISCONNECTED -DIALLED-> CONNECTING -OPENED-> CONNECTED
                CONNECTING/CONNECTED -DROPPED-> BACKOFF -DIALLED-> CONNECTING ...
                CONNECTING/CONNECTED/BACKOFF -GAVE_UP-> ERROR           (no retry will follow)
    responder:  DISCONNECTED -ACCEPTED-> UPGRADING -OPENED-> CONNECTED  (an accepted socket)
    both:       any live status -CLOSE_REQUESTED-> CLOSING -CLOSE_DONE-> CLOSED
                CONNECTED -PEER_CLOSED-> CLOSED    (close code 4000, or the client left)

AWAITING is unused by design: a Nostr connection has nothing to wait for between dialling
and opening that CONNECTING does not already say; the status exists because
``ConnectionStatus`` mirrors the seed's enum.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from rx_honeybee.errors import InvalidState
from rx_honeybee.hot import HotStream
from rx_roots import ConnectionStatus as S

__all__ = ["LIVE", "TERMINAL", "TRANSITIONS", "Event", "StateMachine"]


class Event(enum.Enum):
    """What can happen to a connection."""

    DIALLED = "dialled"  # connect() started dialling, or a backoff delay ended
    ACCEPTED = "accepted"  # responder: a client's socket was accepted
    OPENED = "opened"  # a socket came up
    DROPPED = "dropped"  # a socket was lost (or a dial failed) and a retry will follow
    GAVE_UP = "gave up"  # a socket was lost and no retry will follow
    PEER_CLOSED = "peer closed"  # the peer ended the connection for good
    CLOSE_REQUESTED = "close requested"  # close() was called
    CLOSE_DONE = "close done"  # close() finished: tasks drained, streams ending


TRANSITIONS: dict[tuple[S, Event], S] = {
    (S.DISCONNECTED, Event.DIALLED): S.CONNECTING,
    (S.DISCONNECTED, Event.ACCEPTED): S.UPGRADING,
    (S.DISCONNECTED, Event.CLOSE_DONE): S.CLOSED,  # closed before it was ever used
    (S.CONNECTING, Event.OPENED): S.CONNECTED,
    (S.CONNECTING, Event.DROPPED): S.BACKOFF,
    (S.CONNECTING, Event.GAVE_UP): S.ERROR,
    (S.CONNECTING, Event.PEER_CLOSED): S.CLOSED,
    (S.CONNECTING, Event.CLOSE_REQUESTED): S.CLOSING,
    (S.UPGRADING, Event.OPENED): S.CONNECTED,
    (S.UPGRADING, Event.GAVE_UP): S.ERROR,
    (S.UPGRADING, Event.PEER_CLOSED): S.CLOSED,
    (S.UPGRADING, Event.CLOSE_REQUESTED): S.CLOSING,
    (S.CONNECTED, Event.DROPPED): S.BACKOFF,
    (S.CONNECTED, Event.GAVE_UP): S.ERROR,
    (S.CONNECTED, Event.PEER_CLOSED): S.CLOSED,
    (S.CONNECTED, Event.CLOSE_REQUESTED): S.CLOSING,
    (S.BACKOFF, Event.DIALLED): S.CONNECTING,
    (S.BACKOFF, Event.GAVE_UP): S.ERROR,
    (S.BACKOFF, Event.CLOSE_REQUESTED): S.CLOSING,
    (S.CLOSING, Event.CLOSE_DONE): S.CLOSED,
    (S.ERROR, Event.CLOSE_DONE): S.CLOSED,  # close() after giving up releases the rest
}
"""``(status, event) → new status``; a pair that is missing is illegal."""

TERMINAL = frozenset({S.ERROR, S.CLOSED})
"""Statuses after which no socket is dialled or read again."""

LIVE = frozenset({S.CONNECTING, S.UPGRADING, S.CONNECTED, S.BACKOFF})
"""Statuses in which a connection accepts envelopes to send."""


class StateMachine:
    """Holds the current status and publishes every change on a replaying ``HotStream``."""

    __slots__ = ("status", "stream")

    def __init__(self, on_fault: Callable[[Exception], None] | None = None) -> None:
        self.status = S.DISCONNECTED  # current status
        self.stream: HotStream[S] = HotStream(on_fault, replay_last=True, initial=self.status)

    def apply(self, event: Event) -> S:
        """Apply ``event``: move to the status the table gives, publish it, return it.

        Raises:
            InvalidState: the table has no move for ``event`` in the current status.
        """
        new = TRANSITIONS.get((self.status, event))
        if new is None:
            raise InvalidState(f"illegal transition: {event.value} while {self.status.name}")
        self.status = new
        self.stream.on_next(new)
        if new is S.CLOSED:
            self.stream.on_completed()
        return new

    def can(self, event: Event) -> bool:
        """Tell whether ``event`` is legal in the current status."""
        return (self.status, event) in TRANSITIONS
