"""The boundary between a Connection and its transport: a socket is a cold Observable.

Subscribing to a socket dials and reads; disposing it closes the socket. It emits:

- :class:`Opened` once, when the socket is up, carrying the :class:`Link` to write to;
- each inbound envelope as ``str`` (or ``bytes`` for a binary frame), unless the dialler
  gave a ``deliver`` callback in the :class:`DialContext`: then envelopes go straight to
  it, so the per-envelope path skips the operator chain (reconnection, health) that only
  needs the socket's life events;
- :class:`Pong` for each pong frame (the health monitor's food).

It completes when the peer closes with code 4000 ("do not reconnect") and errors on any
other loss (``ConnectionFailed`` / ``ConnectionClosed``), which the reconnection pipeline
retries. Tests replace the aiohttp socket with marbles of these items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple, Protocol

from reactivex import Observable

from rx_honeybee.config import ConnectionConfig
from rx_honeybee.tasks import TaskSet

__all__ = [
    "DO_NOT_RECONNECT",
    "DialContext",
    "EncodedText",
    "Gate",
    "Link",
    "Opened",
    "Pong",
    "SocketFactory",
    "SocketItem",
]

DO_NOT_RECONNECT = 4000
"""Close code by which a peer asks not to be dialled again."""


class Link(Protocol):
    """The writable side of one open socket.

    A link may also offer ``try_send(envelope) -> bool``: write now, synchronously, or
    return False (the write queue then writes it from its task); the aiohttp link does.
    It may offer ``async close(code, reason)``: ``Connection.close(code=...)`` then says
    that close code to the peer; it must return within a second or so and not raise (a
    peer that stopped reading never answers a close frame).
    A link may write an :class:`EncodedText` envelope's ready bytes instead of encoding
    (and compressing) the text again; any other link just sends it as the ``str`` it is.
    """

    async def send(self, envelope: str) -> None:
        """Write one text frame; raises if the socket cannot take it."""

    def ping(self, payload: bytes) -> None:
        """Send a ping frame without waiting (fire and forget)."""

    @property
    def compressed(self) -> bool:
        """Whether permessage-deflate was negotiated."""


class EncodedText(str):
    """A text envelope encoded once, to be written to many sockets as it is.

    Why: a relay fanning one event out to 500 clients, or a pool to every relay, would
    otherwise encode (and, with permessage-deflate, compress) the same text once per
    socket. It is a plain ``str`` to everything else (queues, ``written``, ``on_written``,
    metrics), so it travels through any write queue in order; a link that knows it (the
    aiohttp link) writes ``data``, or ``deflated`` where deflate was negotiated.

    Args:
        text: the envelope.
        data: ``text`` in UTF-8.
        deflate: makes ``deflated`` on first use (so nothing is compressed unless a
            socket needs it); None: always sent uncompressed.
    """

    data: bytes  # the UTF-8 bytes of the text
    _deflate: Callable[[], bytes | None] | None  # makes ``deflated``, until first used
    _deflated: bytes | None  # made by ``_deflate``

    def __new__(
        cls, text: str, data: bytes, deflate: Callable[[], bytes | None] | None = None
    ) -> EncodedText:
        self = super().__new__(cls, text)
        self.data = data
        self._deflate = deflate
        self._deflated = None
        return self

    @property
    def deflated(self) -> bytes | None:
        """The message as a permessage-deflate payload, or None to send it uncompressed.

        RFC 7692 section 7.2.1 output of a fresh raw-DEFLATE compressor (no reference to
        earlier messages), sync-flushed, its ``00 00 ff ff`` tail removed.
        """
        deflate = self._deflate
        if deflate is not None:
            self._deflate = None
            self._deflated = deflate()
        return self._deflated


class Opened(NamedTuple):
    """The socket is up; write through ``link``."""

    link: Link


class Pong(NamedTuple):
    """A pong frame arrived with ``payload``."""

    payload: bytes


SocketItem = str | bytes | Opened | Pong


class Gate:
    """Open or shut: a reader waits while it is shut before reading the next frame.

    A connection shuts its gate while a bounded consumer (``Connection.inbox``) is full, so
    the socket is not read and TCP pushes back on the peer. Cheap when never shut: two
    slots, no event loop object until someone waits.
    """

    __slots__ = ("_waiters", "is_open")

    def __init__(self) -> None:
        self.is_open = True  # frames may be read
        self._waiters: list[asyncio.Future[None]] | None = None  # readers waiting, if any

    def shut(self) -> None:
        """Stop readers before their next frame."""
        self.is_open = False

    def open(self) -> None:
        """Let waiting readers go on."""
        self.is_open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def opened(self) -> None:
        """Return once the gate is open."""
        while not self.is_open:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            await waiter


class DialContext(NamedTuple):
    """What a socket factory gets from its connection besides the URL and config."""

    tasks: TaskSet  # spawn tasks here, so closing the connection can wait for them
    deliver: Callable[[str | bytes], None] | None = None  # envelope sink, if not on_next
    gate: Gate | None = None  # while shut, read nothing (the consumer is full)


SocketFactory = Callable[[str, ConnectionConfig, DialContext], Observable[SocketItem]]
"""``factory(url, config, context)`` returns the cold socket Observable."""
