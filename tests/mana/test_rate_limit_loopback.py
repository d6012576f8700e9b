"""Loopback: a relay's ``rate-limited:`` OK halves our publish rate before it has to cut us off.

The relay (``rx_honeybee.testing.Relay``) answers one EVENT with ``OK false
"rate-limited: slow down"`` and from then on tolerates at most 30 EVENTs per second from
the client: faster, and it drops the connection. The client publishes through a
``LimitedSender`` at 40 events per second; the answer halves that to 20, so the relay
sees the rate fall by half and never needs to disconnect us.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from rx_honeybee import Connection
from rx_honeybee.testing import FAST, Relay, until
from rx_mana import CategoryRateLimiter, limit_connection
from rx_mana.categories import CONTROL, EVENT, SUBSCRIPTION, CategoryLimit
from rx_roots import enclose_event, find_ok, get_label
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

RATE = 40.0  # events per second before the warning
PER_PHASE = 24  # events the relay receives before the warning, and after it
TOLERATED = 30.0  # events per second the relay accepts once it warned (mean of 5 gaps)


def per_second(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


async def test_a_rate_limited_answer_halves_the_publish_rate_before_the_relay_cuts_us_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = [make_event(i, seed="rate-limited") for i in range(2 * PER_PHASE)]
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        arrivals: list[float] = []  # relay clock of each EVENT received
        warned_at: list[int] = []  # how many EVENTs had arrived when the relay warned
        cut_off: list[float] = []  # the rate at which the relay would have dropped us
        arrived = relay.faults.arrived

        def police(client: Any, envelope: str) -> bool:
            if get_label(envelope) == "EVENT":
                arrivals.append(time.monotonic())
                if len(arrivals) == PER_PHASE:  # this one is answered "rate-limited:"
                    relay.faults.ok_next_event(False, "rate-limited: slow down")
                    warned_at.append(len(arrivals))
                elif warned_at and len(arrivals) - warned_at[0] >= 6:
                    recent = per_second(arrivals[-6:])
                    if recent > TOLERATED:
                        cut_off.append(recent)
                        return True  # the relay drops the client
            return bool(arrived(client, envelope))

        monkeypatch.setattr(relay.faults, "arrived", police)

        oks: list[tuple[str, bool, str]] = []
        conn.messages.subscribe(
            lambda env: oks.append(find_ok(env)) if get_label(env) == "OK" else None
        )
        limiter = CategoryRateLimiter(
            {
                CONTROL: CategoryLimit(50, 100, 10),
                EVENT: CategoryLimit(RATE, 1, 5),
                SUBSCRIPTION: CategoryLimit(2, 10, 3),
            },
            adaptive=False,
        )
        sender = limit_connection(conn, limiter)
        for event in events:
            sender.send(enclose_event(event))

        await until(lambda: len(oks) == len(events) or bool(cut_off), timeout=15)

        assert not cut_off, f"the relay had to drop us at {cut_off[0]:.1f} events/s"
        assert conn.generation == 1  # never reconnected
        before = per_second(arrivals[:PER_PHASE])
        after = per_second(arrivals[PER_PHASE + 2 :])  # the answer takes a round trip
        print(f"relay saw {before:.1f} EVENT/s, then {after:.1f} EVENT/s")
        assert 0.35 < after / before < 0.65, f"{before:.1f}/s then {after:.1f}/s"
        assert limiter.rate(EVENT) == RATE / 2
        assert sender.rate_limited == 1
        refused = [(ok, msg) for _, ok, msg in oks if not ok]
        assert refused == [(False, "rate-limited: slow down")]
        assert sender.pending == 0
        sender.dispose()
