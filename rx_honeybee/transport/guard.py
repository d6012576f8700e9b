"""What keeps one hostile LAN client from starving the server's other clients.

Caps on connections (per address and in all), a deadline for a TCP socket to become a
websocket, aborting a socket whose write buffer never empties (a client that stopped
reading: ``transport.close()`` would wait for it forever), and at most one line per
interval from the loggers a socket flood fills (asyncio's, aiohttp's).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from rx_honeybee.tasks import Periodic

__all__ = ["ConnectionLimits", "SocketWatch", "throttle_logs"]

_LOG = logging.getLogger("rx_honeybee.transport")
_FLOODED = ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.websocket")


@dataclass(frozen=True)
class ConnectionLimits:
    """The server's defences; each answer a client gets is said in the field's comment."""

    max_per_ip: int = 256  # websockets per client address; beyond: HTTP 503 with the reason
    max_total: int = 1024  # websockets in all; beyond: HTTP 503 with the reason
    handshake_timeout: float = 10.0  # TCP accept → websocket upgrade (and idle HTTP): abort
    stall_timeout: float = 30.0  # a websocket's write buffer never empty this long: abort
    log_interval: float = 10.0  # one line per logger per interval, then a count of the rest

    def __post_init__(self) -> None:
        for name in ("max_per_ip", "max_total"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for name in ("handshake_timeout", "stall_timeout", "log_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")


class SocketWatch:
    """Aborts sockets that never upgrade in time and websockets that stopped reading.

    One sweep task looks at every accepted socket a few times per timeout: cheaper than a
    timer per socket, and precise enough for deadlines of seconds.
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        # aiohttp's protocols take no weak reference: the sweep forgets closed ones.
        self._accepted: dict[asyncio.BaseProtocol, float] = {}  # → accepted at, until upgraded
        self._upgraded: dict[asyncio.BaseProtocol, float] = {}  # → write buffer last empty at
        interval = min(limits.handshake_timeout, limits.stall_timeout) / 4
        self._sweeps = Periodic(interval, self._sweep)  # a few sweeps per timeout
        self.aborted = 0  # sockets aborted so far (tests, metrics)

    def accepted(self, protocol: asyncio.BaseProtocol) -> None:
        """A TCP socket came in; beyond ``max_total`` waiting for their upgrade, the oldest
        waiting one is aborted (an honest client upgrades within milliseconds, a flood of
        silent sockets then cannot lock it out)."""
        accepted = self._accepted
        while len(accepted) >= self.limits.max_total:
            oldest = next(iter(accepted))
            del accepted[oldest]
            self._abort(oldest)
        accepted[protocol] = asyncio.get_running_loop().time()

    def upgraded(self, protocol: asyncio.BaseProtocol) -> None:
        self._accepted.pop(protocol, None)
        self._upgraded[protocol] = asyncio.get_running_loop().time()

    def start(self) -> None:
        self._sweeps.start()

    async def stop(self) -> None:
        await self._sweeps.stop()
        self._accepted.clear()
        self._upgraded.clear()

    def _sweep(self) -> None:
        limits, interval = self.limits, self._sweeps.interval
        now = asyncio.get_running_loop().time()
        for protocol, since in list(self._accepted.items()):
            if _transport(protocol) is None and now - since > interval:  # it left
                del self._accepted[protocol]
            elif now - since > limits.handshake_timeout:
                del self._accepted[protocol]
                self._abort(protocol)
        for protocol, empty_at in list(self._upgraded.items()):
            transport = _transport(protocol)
            if transport is None or transport.is_closing() and not _buffered(transport):
                del self._upgraded[protocol]
            elif not _buffered(transport):
                self._upgraded[protocol] = now
            elif now - empty_at > limits.stall_timeout:
                del self._upgraded[protocol]
                self._abort(protocol)

    def _abort(self, protocol: asyncio.BaseProtocol) -> None:
        transport = _transport(protocol)
        if transport is not None:
            self.aborted += 1
            transport.abort()


def abort_if_stuck(transport: asyncio.BaseTransport | None) -> bool:
    """Abort ``transport`` when bytes are still waiting to be written (the peer stopped
    reading): a plain close would wait for them forever. True when it aborted."""
    if isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size():
        transport.abort()
        return True
    return False


def _transport(protocol: asyncio.BaseProtocol) -> asyncio.WriteTransport | None:
    transport = getattr(protocol, "transport", None)
    return transport if isinstance(transport, asyncio.WriteTransport) else None


def _buffered(transport: asyncio.WriteTransport) -> int:
    return transport.get_write_buffer_size()


class _Throttle(logging.Filter):
    """Lets one record per logger through per interval; the next one says how many were
    dropped meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.interval = 10.0  # seconds; the smallest one asked for
        self._next: dict[str, float] = {}  # logger → when a record may pass again
        self._dropped: dict[str, int] = {}  # logger → records dropped since

    def filter(self, record: logging.LogRecord) -> bool:
        now = record.created
        if now < self._next.get(record.name, 0.0):
            self._dropped[record.name] = self._dropped.get(record.name, 0) + 1
            return False
        self._next[record.name] = now + self.interval
        dropped = self._dropped.pop(record.name, 0)
        if dropped:
            record.msg = f"{record.msg} [{dropped} more lines like it dropped]"
        return True

    def flush(self) -> None:
        for name, dropped in self._dropped.items():
            _LOG.warning("%d lines of the %s logger were dropped (rate limit)", dropped, name)
        self._dropped.clear()
        self._next.clear()


_THROTTLE = _Throttle()
_users = 0  # servers started that asked for the throttle


def throttle_logs(interval: float, on: bool = True) -> None:
    """Install (``on``) or release the log throttle; it stays while any server runs."""
    global _users
    if on:
        _users += 1
        _THROTTLE.interval = interval if _users == 1 else min(_THROTTLE.interval, interval)
        if _users == 1:
            for name in _FLOODED:
                logging.getLogger(name).addFilter(_THROTTLE)
        return
    _users = max(0, _users - 1)
    if _users == 0:
        for name in _FLOODED:
            logging.getLogger(name).removeFilter(_THROTTLE)
        _THROTTLE.flush()
