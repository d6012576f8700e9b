"""Marble-test a Connection and what you build on it, in virtual time, without a network.

A :class:`~rx_honeybee.connection.Connection` reads its socket through a socket factory
(:mod:`rx_honeybee.socket`) and keeps every timer on its scheduler. Replace the factory with
:class:`MarbleSockets` and the scheduler with a ``TestScheduler``, and a whole connection
(dials, drops, backoff, envelopes, your operators downstream) runs in virtual time:

- :class:`RecordingLink` is the write side of a marble socket: it records what was sent
  and pinged, and can be made to fail or to hold writes;
- :class:`MarbleSockets` hands out one cold marble Observable per dial and logs when;
- :func:`start_connect` starts ``connect()`` so that the first dial happens at time 0;
- :class:`MarbleHarness` puts the three together with a ``TestScheduler`` and steps
  virtual time so that the connection's writer task keeps up.

Nothing here imports aiohttp, and the runtime never imports this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from reactivex import Observable
from reactivex.observable.marbles import parse
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import messages_to_records
from reactivex.testing.recorded import Recorded

from rx_honeybee.config import ConnectionConfig, HealthConfig, ReconnectConfig
from rx_honeybee.connection import Connection
from rx_honeybee.socket import DialContext, Opened, SocketItem

__all__ = ["Attempt", "MarbleHarness", "MarbleSockets", "RecordingLink", "start_connect"]

Attempt = Sequence[Recorded[SocketItem]] | str
"""One dial's socket: ``on_next`` / ``on_error`` / ``on_completed`` records, or a marble."""


def _virtual_clock(scheduler: TestScheduler) -> Callable[[], float]:
    return lambda: float(cast(float, scheduler.clock))


class RecordingLink:
    """A :class:`~rx_honeybee.socket.Link` that records writes and pings instead of sending.

    A marble socket emits ``Opened(link)``; whatever the connection then writes lands in
    ``sent`` (with the time of each write in ``sent_at``), so a test asserts on the wire
    without a peer. ``fail_on`` / :meth:`fail_next` make a write raise, as a dying socket
    does, and ``gate`` holds every write until it is set (a slow socket). Times come from
    ``scheduler.clock`` when a scheduler is given (virtual time), else from ``clock``,
    else from ``time.monotonic``. A failed write does not end a marble socket (a real one
    would die too): script the drop in the marble as well.

    Example::

        link = RecordingLink(scheduler)
        sockets = MarbleSockets(scheduler, [[on_next(1, Opened(link))]])
        ...
        assert link.sent == ['["REQ","s",{}]'] and link.sent_at == [1.0]
    """

    def __init__(
        self,
        scheduler: TestScheduler | None = None,
        *,
        clock: Callable[[], float] | None = None,
        compressed: bool = False,
        fail_on: str | None = None,
    ) -> None:
        if clock is None and scheduler is not None:
            clock = _virtual_clock(scheduler)
        self.clock = clock or time.monotonic  # the time source of sent_at and pings
        self.sent: list[str] = []  # envelopes written, in order
        self.sent_at: list[float] = []  # the time of each write in ``sent``
        self.pings: list[float] = []  # the time of each ping
        self.ping_payloads: list[bytes] = []  # the payload of each ping
        self.compressed = compressed  # what the link reports as negotiated deflate
        self.fail_on = fail_on  # writing exactly this envelope raises ConnectionResetError
        self.gate: asyncio.Event | None = None  # when not None, every write waits for it
        self._failures: list[BaseException] = []  # raised by the next writes, in order

    def fail_next(self, error: BaseException) -> None:
        """Make the next write raise ``error`` (once; call again to queue more failures).

        Example::

            link.fail_next(ConnectionResetError("gone"))
            conn.send('["A"]')  # the writer fails, the connection redials, "A" waits
        """
        self._failures.append(error)

    async def send(self, envelope: str) -> None:
        """Record ``envelope``, after the gate opens.

        Raises:
            BaseException: the error given to :meth:`fail_next`, if one is pending.
            ConnectionResetError: if ``envelope`` equals ``fail_on``.
        """
        if self.gate is not None:
            await self.gate.wait()
        if self._failures:
            raise self._failures.pop(0)
        if envelope == self.fail_on:
            raise ConnectionResetError(f"socket died writing {envelope}")
        self.sent.append(envelope)
        self.sent_at.append(self.clock())

    def ping(self, payload: bytes) -> None:
        """Record a ping (the peer never answers; see ``Pong`` to feed one in)."""
        self.pings.append(self.clock())
        self.ping_payloads.append(payload)

    def timeline(self) -> list[tuple[float, Any]]:
        """Return ``(time, decoded JSON)`` for every write, in order."""
        return [
            (t, json.loads(envelope)) for t, envelope in zip(self.sent_at, self.sent, strict=True)
        ]

    def labels(self) -> list[tuple[float, str]]:
        """Return ``(time, label)`` for every write: ``[(1.0, "REQ"), (4.0, "CLOSE")]``."""
        return [(t, envelope[0]) for t, envelope in self.timeline()]


class MarbleSockets:
    """A :data:`~rx_honeybee.socket.SocketFactory` of cold marble sockets, one per dial.

    Why: a real socket needs a peer and wall-clock time; a cold Observable of
    ``Opened(link)``, envelopes and an error or completion is the same socket as the
    connection sees it, and runs in virtual time. Dial *n* gets the *n*-th attempt, with
    times relative to the dial; ``dialled`` logs the virtual time of each dial, which is
    how backoff is asserted. An attempt is a list of ``ReactiveTest`` records or a marble
    string (one character = one time unit, ``#`` = ``error``, ``|`` = completion) whose
    characters ``lookup`` maps to items. A dial past the last attempt fails the socket
    with an ``AssertionError`` naming the dial.

    Example::

        link = RecordingLink(scheduler)
        sockets = MarbleSockets(
            scheduler,
            ["-o-e-#", "-o"],  # open, one envelope, drop; then open again
            lookup={"o": Opened(link), "e": '["EOSE","s"]'},
            error=ConnectionClosed("ws://relay", 1006),
        )
        conn = Connection("ws://relay", config, scheduler=scheduler, socket_factory=sockets)
        ...
        assert sockets.dialled == [0.0, 6.0]  # dropped at 5, redialled after 1 unit
    """

    def __init__(
        self,
        scheduler: TestScheduler,
        attempts: Iterable[Attempt],
        *,
        lookup: Mapping[str | float, Any] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.scheduler = scheduler  # whose virtual time the sockets run on
        self.dialled: list[float] = []  # virtual time of each dial
        self.urls: list[str] = []  # the URL of each dial
        self._attempts: Iterator[Attempt] = iter(attempts)  # sockets not handed out yet
        self._lookup = lookup  # marble character -> item
        self._error = error  # what ``#`` raises in a marble string

    def __call__(
        self, url: str, config: ConnectionConfig, context: DialContext
    ) -> Observable[SocketItem]:
        self.dialled.append(_virtual_clock(self.scheduler)())
        self.urls.append(url)
        attempt = next(self._attempts, None)
        if attempt is None:
            missing = AssertionError(f"dial {len(self.dialled)}: no marble socket left")
            return self.scheduler.create_cold_observable(ReactiveTest.on_error(0, missing))
        if isinstance(attempt, str):
            records = messages_to_records(
                parse(attempt, timespan=1.0, lookup=self._lookup, error=self._error)
            )
            return self.scheduler.create_cold_observable(records)
        return self.scheduler.create_cold_observable(list(attempt))


async def start_connect(conn: Connection) -> asyncio.Future[None]:
    """Start ``conn.connect()`` as a task and let it subscribe the socket; return the task.

    Why: ``connect()`` only returns once CONNECTED, which in virtual time happens when the
    test advances the scheduler, and the test cannot advance it while awaiting. Start it,
    advance, then await the returned future.

    Example::

        connecting = await start_connect(conn)  # dial 1 at virtual time 0
        scheduler.advance_to(5)
        await connecting  # CONNECTED (or raises why not)
    """
    connecting = asyncio.ensure_future(conn.connect())
    await asyncio.sleep(0)
    return connecting


class MarbleHarness:
    """A Connection over marble sockets in virtual time, with a recording link.

    Why: the connection's writer is an asyncio task, so advancing a ``TestScheduler`` in one
    jump would skip writes that are due in between. :meth:`run_until` advances in small
    steps and lets the loop run at each, so ``link.sent_at`` shows the virtual time of each
    write. ``script`` builds the attempts (see :class:`MarbleSockets`) for the harness's
    ``link``; in marble strings ``o`` stands for ``Opened(link)`` unless ``lookup`` says
    otherwise. ``config`` defaults to :attr:`CONFIG`.

    Example::

        h = MarbleHarness(lambda link: ["-o-a"], lookup={"a": '["NOTICE","hi"]'})
        notices = h.scheduler.create_observer()
        h.conn.messages.subscribe(notices)
        await h.start()  # CONNECTED at 1
        h.conn.send('["REQ","s",{}]')
        await h.run_until(5)
        assert notices.messages == [on_next(3, '["NOTICE","hi"]')]
        assert h.link.labels() == [(1.0, "REQ")]
        await h.conn.close()
    """

    CONFIG = ConnectionConfig(
        reconnect=ReconnectConfig(initial_delay=1, factor=1, max_delay=1, jitter=0, max_attempts=0),
        health=HealthConfig(enabled=False),
    )
    """Redial 1 time unit after each loss, forever; no pings (a marble peer never pongs)."""

    def __init__(
        self,
        script: Callable[[RecordingLink], Iterable[Attempt]],
        config: ConnectionConfig | None = None,
        *,
        url: str = "ws://relay",
        lookup: Mapping[str | float, Any] | None = None,
        error: Exception | None = None,
    ) -> None:
        self.scheduler = TestScheduler()  # virtual time for the connection and the sockets
        self.link = RecordingLink(self.scheduler)  # the write side of every marble socket
        self.sockets = MarbleSockets(  # the socket factory; ``dialled`` logs dial times
            self.scheduler,
            script(self.link),
            lookup={"o": Opened(self.link), **(lookup or {})},
            error=error,
        )
        self.conn = Connection(  # the connection under test
            url,
            config if config is not None else self.CONFIG,
            scheduler=self.scheduler,
            socket_factory=self.sockets,
        )

    async def start(self, at: float = 1) -> None:
        """Connect: dial at 0, run to ``at`` and return once CONNECTED.

        Raises:
            HoneybeeError: whatever ``connect()`` raises (the script never opened, say).
        """
        connecting = await start_connect(self.conn)
        await self.run_until(at)
        await connecting

    async def run_until(self, t: float, step: float = 0.5) -> None:
        """Advance virtual time to ``t`` by ``step``, letting the writer task run at each."""
        now = float(cast(float, self.scheduler.clock))
        while True:
            for _ in range(4):  # the writer task runs at the current virtual time
                await asyncio.sleep(0)
            if now >= t:
                return
            now = min(t, now + step)
            self.scheduler.advance_to(now)
