"""The legal status transitions of a connection, as data, and the one place that applies them."""

from __future__ import annotations

from collections.abc import Callable

from rx_honeybee.errors import InvalidState
from rx_honeybee.hot import HotStream
from rx_roots import ConnectionStatus as S

__all__ = ["TRANSITIONS", "StateMachine"]

TRANSITIONS: dict[S, frozenset[S]] = {
    S.DISCONNECTED: frozenset({S.CONNECTING, S.CONNECTED, S.CLOSED}),
    S.CONNECTING: frozenset({S.CONNECTED, S.BACKOFF, S.ERROR, S.CLOSING, S.CLOSED}),
    S.CONNECTED: frozenset({S.BACKOFF, S.ERROR, S.CLOSING, S.CLOSED}),
    S.BACKOFF: frozenset({S.CONNECTING, S.ERROR, S.CLOSING}),
    S.CLOSING: frozenset({S.CLOSED}),
    S.ERROR: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.AWAITING: frozenset({S.CONNECTING, S.CLOSING, S.CLOSED}),
    S.UPGRADING: frozenset({S.CONNECTED, S.BACKOFF, S.ERROR, S.CLOSING}),
}
"""For each status, the statuses it may move to. DISCONNECTED→CONNECTED is the responder
side (a socket accepted already open); CONNECTED→CLOSED is a peer's close code 4000."""


class StateMachine:
    """Holds the current status and publishes every change on a replaying ``HotStream``."""

    def __init__(self, on_fault: Callable[[Exception], None] | None = None) -> None:
        self.status = S.DISCONNECTED  # current status
        self.stream: HotStream[S] = HotStream(on_fault, replay_last=True, initial=self.status)

    def advance(self, new: S) -> None:
        """Move to ``new`` and publish it.

        Raises:
            InvalidState: the table does not allow ``status → new``.
        """
        if new not in TRANSITIONS[self.status]:
            raise InvalidState(f"illegal transition {self.status.name} -> {new.name}")
        self.status = new
        self.stream.on_next(new)
        if new is S.CLOSED:
            self.stream.on_completed()

    def can(self, new: S) -> bool:
        """Tell whether ``status → new`` is legal."""
        return new in TRANSITIONS[self.status]
