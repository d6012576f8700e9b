"""Loopback: a relay that refuses (HTTP 503) opens the breaker; dialling stops, one probe heals.

With plain backoff (``FAST``) a connection to a refusing relay dials every few tens of
milliseconds for as long as the relay is down. Through a ``CircuitBreaker`` the client
stops after ``failure_threshold`` refusals, dials nothing for ``reset_timeout``, and once
the relay accepts again a single probe connects and closes the circuit.
"""

from __future__ import annotations

import asyncio

import pytest
from reactivex import Observable

from rx_honeybee import Connection
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.socket import DialContext, SocketItem
from rx_honeybee.testing import FAST, Relay, until
from rx_honeybee.transport.client import aiohttp_socket
from rx_mana.breaker import CircuitBreaker, CircuitState
from rx_mana.failures import NETWORK, SERVER, FailureStrategy
from rx_roots import ConnectionStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

THRESHOLD = 3
RESET = 0.5  # seconds the circuit stays open
QUICK = FailureStrategy(max_attempts=0, base_delay=0.02, max_delay=0.05, factor=1.5)


class CountingSockets:
    """aiohttp sockets, counting the dials."""

    def __init__(self) -> None:
        self.dials = 0

    def __call__(
        self, url: str, config: ConnectionConfig, context: DialContext
    ) -> Observable[SocketItem]:
        self.dials += 1
        return aiohttp_socket(url, config, context)


async def test_a_refusing_relay_opens_the_breaker_and_one_probe_closes_it() -> None:
    breaker = CircuitBreaker(
        failure_threshold=THRESHOLD,
        reset_timeout=RESET,
        categories={NETWORK: QUICK, SERVER: QUICK},
        jitter=0.0,
        stable_after=0.2,
    )
    sockets = CountingSockets()
    async with Relay() as relay:
        relay.faults.refuse(503)
        conn = Connection(relay.url, FAST, reconnect=breaker.notifier, socket_factory=sockets)
        connecting = asyncio.ensure_future(conn.connect())
        try:
            await until(lambda: breaker.current is CircuitState.OPEN)
            assert sockets.dials == THRESHOLD  # the third refusal opened it
            assert breaker.stats().by_category == {SERVER: THRESHOLD}
            await asyncio.sleep(0.6 * RESET)
            assert sockets.dials == THRESHOLD  # nobody dials while it is open
            assert breaker.current is CircuitState.OPEN

            relay.faults.accept()
            await until(lambda: breaker.current is CircuitState.CLOSED, timeout=5)
            await asyncio.wait_for(connecting, 5)
            assert conn.status is ConnectionStatus.CONNECTED
            assert sockets.dials == THRESHOLD + 1  # one probe, and it stayed
            stats = breaker.stats()
            assert (stats.opened, stats.closed, stats.probes) == (1, 1, 1)
            assert stats.consecutive == 0
        finally:
            connecting.cancel()
            await conn.close()
