"""Scripted misbehaviour for the test relay: drops, stalls, garbage, refusals, odd answers.

Every :class:`~rx_honeybee.testing.Relay` has one :class:`Faults` as ``relay.faults``.
Scripts take effect at once; those answering "the next" REQ or EVENT are consumed in the
order they were scripted, whichever client sends it::

    async with Relay() as relay:
        relay.faults.closed_next_req("auth-required: log in first")
        relay.faults.silence_ok(1)           # the next EVENT gets no OK at all
        relay.faults.drop_after(2)           # each client now: gone after 2 more messages
        relay.faults.stall()                 # read nothing (no pong either) until resume()
        relay.faults.reset()                 # back to normal

The relay calls the hooks at the end (:meth:`Faults.admit`, :meth:`Faults.arrived`, ...:
the :class:`~rx_honeybee.relay.hooks.RelayHooks` it overrides); users call the rest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError
from rx_honeybee.relay import responder
from rx_honeybee.relay.hooks import RelayHooks, Silence
from rx_honeybee.transport.server import Server

__all__ = ["GARBAGE", "Faults", "Silence"]

GARBAGE = "}{garbage"
"""The default frame :meth:`Faults.garbage` sends: not JSON at all."""


class Faults(RelayHooks):
    """The fault scripts of one relay.

    Args:
        server: the relay's server (stalling and refusing happen there).
        clients: the connected clients, now.
        drop: closes one client's socket (the relay does it, tracking the task).
        challenge: sends a NIP-42 challenge to one client and makes it the one expected.
        replay: handles an envelope held back by :meth:`stall`, on :meth:`resume`.
        record: called with every envelope the relay receives (the test relay's log).
    """

    def __init__(
        self,
        server: Server,
        *,
        clients: Callable[[], Iterable[Connection]],
        drop: Callable[[Connection], None],
        challenge: Callable[[Connection, str], None],
        replay: Callable[[Connection, str], None],
        record: Callable[[str], None] | None = None,
    ) -> None:
        self._server = server  # stall() and refuse() act on it
        self._clients = clients  # who is connected
        self._drop = drop  # close a client's socket
        self._challenge = challenge  # send AUTH to a client
        self._replay = replay  # handle a held envelope
        self._record = record  # log of received envelopes, if kept
        self._held: list[tuple[Connection, str]] = []  # read while stalling, handled on resume
        self.stalled = False  # stall() in effect
        self._countdown: dict[Connection, int] = {}  # messages each armed client has left
        self._drop_new: int | None = None  # countdown for clients that connect later
        self._closed: deque[str] = deque()  # CLOSED messages for the next REQs
        self._oks: deque[tuple[bool, str]] = deque()  # OK answers for the next EVENTs
        self._silent = 0  # next EVENTs to ignore

    # -- user API ------------------------------------------------------------------------

    def drop_after(self, n: int, *, new_clients: bool = False) -> None:
        """Close each client's socket once the relay has received ``n`` more messages from it.

        Messages before the ``n``-th are handled as usual; the ``n``-th is received (and
        counted in ``relay.received``) but not handled, and the socket is closed right
        away, with nothing more sent: like a relay that crashed while reading. The client
        sees a close (code 1000) and reconnects by itself. ``n == 0`` drops every client
        now. Each armed client is dropped once.

        Args:
            n: messages to receive first (>= 0).
            new_clients: also arm every client that connects later (a reconnecting one
                too), each counting from its own arrival, until :meth:`reset`.

        Raises:
            ValueError: ``n`` < 0.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._drop_new = n if new_clients else None
        for conn in list(self._clients()):
            if n == 0:
                self._drop(conn)
            else:
                self._countdown[conn] = n

    def stall(self) -> None:
        """Stop reading every client socket (no envelope, no pong) until :meth:`resume`.

        To clients the relay looks frozen; nothing they send meanwhile is handled (nor
        counted in ``relay.received``) before :meth:`resume`, and then in order.
        """
        self.stalled = True
        self._server.stall(True)

    def resume(self) -> None:
        """Read the client sockets again after :meth:`stall`."""
        self.stalled = False
        held, self._held = self._held, []
        for conn, envelope in held:
            self._replay(conn, envelope)
        self._server.stall(False)

    def garbage(self, times: int = 1, *, text: str = GARBAGE) -> int:
        """Send ``times`` frames of ``text`` (not JSON by default) to every client now.

        Returns:
            How many clients it was sent to.
        """

        def send(conn: Connection) -> None:
            for _ in range(times):
                conn.send(text)

        return self._each(send)

    def refuse(self, status: int = 503) -> None:
        """Answer new websocket upgrades with HTTP ``status``; connected clients stay."""
        self._server.refuse(status)

    def accept(self) -> None:
        """Accept new clients again after :meth:`refuse`."""
        self._server.refuse(None)

    def closed_next_req(self, message: str) -> None:
        """Answer the next REQ with ``["CLOSED", <sub_id>, message]`` instead of serving it.

        For example ``"auth-required: log in"``, ``"rate-limited: slow down"`` or
        ``"error: database down"``; the subscription is not kept.
        """
        self._closed.append(message)

    def ok_next_event(self, accepted: bool, message: str = "") -> None:
        """Answer the next EVENT with ``["OK", <id>, accepted, message]``; it is not stored."""
        self._oks.append((accepted, message))

    def silence_ok(self, n: int = 1) -> None:
        """Ignore the next ``n`` EVENTs entirely: no OK, not stored, not delivered."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._silent += n

    def notice(self, message: str) -> int:
        """Send ``["NOTICE", message]`` to every client now; return how many got it."""
        return self._each(lambda conn: responder.send_notice(conn, message))

    def auth_challenge(self, challenge: str) -> int:
        """Send ``["AUTH", challenge]`` to every client now; it is the one expected back.

        Returns:
            How many clients it was sent to.
        """
        return self._each(lambda conn: self._challenge(conn, challenge))

    def reset(self) -> None:
        """Cancel every script: no pending drop, answer or silence; resume and accept."""
        self._countdown.clear()
        self._drop_new = None
        self._closed.clear()
        self._oks.clear()
        self._silent = 0
        self.resume()
        self.accept()

    # -- relay side ----------------------------------------------------------------------

    def admit(self, conn: Connection) -> bool:
        """A client arrived; False when it must be dropped at once (``drop_after(0)``)."""
        if self._drop_new is None:
            return True
        if self._drop_new == 0:
            return False
        self._countdown[conn] = self._drop_new
        return True

    def hold(self, conn: Connection, envelope: str) -> bool:
        """True when ``envelope`` must wait for :meth:`resume` (it is kept until then).

        A reader already waiting when :meth:`stall` was called still reads one frame per
        client: it is held here, so at most one envelope per client is ever kept.
        """
        if self.stalled:
            self._held.append((conn, envelope))
        return self.stalled

    def arrived(self, conn: Connection, envelope: str) -> bool:
        """A message came from ``conn``; True when it must not be handled (drop instead)."""
        if self._record is not None:
            self._record(envelope)
        left = self._countdown.get(conn)
        if left is None:
            return False
        if left > 1:
            self._countdown[conn] = left - 1
            return False
        del self._countdown[conn]
        return True

    def left(self, conn: Connection) -> None:
        """A client went away: forget it."""
        self._countdown.pop(conn, None)
        self._held = [(c, envelope) for c, envelope in self._held if c is not conn]

    def next_req(self) -> str | None:
        """The CLOSED message scripted for this REQ, if any (consumed)."""
        return self._closed.popleft() if self._closed else None

    def next_event(self) -> tuple[bool, str] | Silence | None:
        """The scripted answer for this EVENT: silence, an OK, or None (consumed)."""
        if self._silent:
            self._silent -= 1
            return Silence.SILENT
        return self._oks.popleft() if self._oks else None

    def _each(self, action: Callable[[Connection], object]) -> int:
        reached = 0
        for conn in list(self._clients()):
            try:
                action(conn)
            except HoneybeeError:
                continue  # closing, or its queue is full: it is on its way out
            reached += 1
        return reached
