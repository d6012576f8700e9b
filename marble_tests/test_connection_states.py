"""A Connection driven by marble sockets: the state sequence in virtual time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee.config import ConnectionConfig, HealthConfig, RateLimitConfig, ReconnectConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import (
    ConnectionClosed,
    InvalidState,
    MaxReconnectAttemptsExceeded,
    WriteFailed,
)
from rx_honeybee.socket import Opened
from rx_honeybee.testing import MarbleSockets, RecordingLink, start_connect
from rx_roots import ConnectionStatus as S

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_error, on_completed = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
)


def drop(code: int = 1006) -> ConnectionClosed:
    return ConnectionClosed("ws://relay", code)


CONFIG = ConnectionConfig(
    reconnect=ReconnectConfig(
        initial_delay=10, factor=2, max_delay=100, jitter=0, max_attempts=3, stable_after=1
    ),
    health=HealthConfig(enabled=False),
)


async def test_drop_backoff_reconnect_drop_give_up() -> None:
    scheduler = TestScheduler()
    link = RecordingLink()
    sockets = MarbleSockets(
        scheduler,
        [
            [on_next(1, Opened(link)), on_next(2, '["EOSE","a"]'), on_error(4, drop())],
            [on_error(1, drop())],
            [on_next(1, Opened(link)), on_error(3, drop())],
            [on_error(0, drop())],
            [on_error(0, drop())],
            [on_error(0, drop())],
        ],
    )
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    log: list[tuple[float, S]] = []
    messages: list[str] = []
    conn.state.subscribe(lambda s: log.append((scheduler.clock, s)))
    conn.messages.subscribe(messages.append)
    connecting = await start_connect(conn)
    scheduler.advance_to(1000)
    await connecting  # it connected at 1, then gave up later
    assert log == [
        (0, S.DISCONNECTED),
        (0, S.CONNECTING),
        (1, S.CONNECTED),
        (4, S.BACKOFF),  # delays restart after a socket stayed up 1: 10, 20, 40
        (14, S.CONNECTING),
        (15, S.BACKOFF),
        (35, S.CONNECTING),
        (36, S.CONNECTED),
        (38, S.BACKOFF),
        (48, S.CONNECTING),
        (48, S.BACKOFF),
        (68, S.CONNECTING),
        (68, S.BACKOFF),
        (108, S.CONNECTING),
        (108, S.ERROR),  # no BACKOFF first: the notifier gave up, no retry follows
    ]
    assert sockets.dialled == [0, 14, 35, 48, 68, 108]
    assert messages == ['["EOSE","a"]']
    assert conn.metrics.snapshot()["reconnections"] == 1
    await conn.close()
    assert conn.status is S.CLOSED


async def test_give_up_before_first_connect_fails_connect() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(scheduler, [[on_error(0, drop())]] * 4)
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    errors: list[Exception] = []
    conn.errors.subscribe(errors.append)
    connecting = await start_connect(conn)
    scheduler.advance_to(1000)
    with pytest.raises(MaxReconnectAttemptsExceeded) as info:
        await connecting
    assert isinstance(info.value.__cause__, ConnectionClosed)
    assert sockets.dialled == [0, 10, 30, 70]
    assert [type(e) for e in errors] == [ConnectionClosed] * 4 + [MaxReconnectAttemptsExceeded]
    assert conn.status is S.ERROR
    await conn.close()


async def test_peer_close_4000_completes_without_reconnecting() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(scheduler, [[on_next(1, Opened(RecordingLink())), on_completed(5)]])
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    log: list[tuple[float, S]] = []
    done: list[str] = []
    conn.state.subscribe(lambda s: log.append((scheduler.clock, s)))
    conn.messages.subscribe(on_completed=lambda: done.append("messages"))
    connecting = await start_connect(conn)
    scheduler.advance_to(1000)
    await connecting
    assert log[-2:] == [(1, S.CONNECTED), (5, S.CLOSED)]
    assert sockets.dialled == [0]
    assert done == ["messages"]
    await conn.close()


async def test_close_during_backoff_stops_dialling() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(
        scheduler, [[on_next(1, Opened(RecordingLink())), on_error(2, drop())]] * 3
    )
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(5)
    await connecting
    assert conn.status is S.BACKOFF
    await conn.close()
    scheduler.advance_to(1000)
    assert sockets.dialled == [0]
    assert conn.status is S.CLOSED


async def test_envelopes_queued_while_backing_off_go_out_in_order() -> None:
    scheduler = TestScheduler()
    first, second = RecordingLink(), RecordingLink()
    sockets = MarbleSockets(
        scheduler,
        [[on_next(1, Opened(first)), on_error(2, drop())], [on_next(1, Opened(second))]],
    )
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(5)
    await connecting
    assert conn.status is S.BACKOFF
    for n in range(3):
        conn.send(f'["N",{n}]')
    await asyncio.sleep(0)
    assert first.sent == [] and conn.pending == 3
    scheduler.advance_to(20)  # reconnected at 13
    for _ in range(5):
        await asyncio.sleep(0)
    assert second.sent == ['["N",0]', '["N",1]', '["N",2]']
    assert conn.pending == 0
    await conn.close()


async def test_rate_limited_connection_spaces_writes_in_virtual_time() -> None:
    scheduler = TestScheduler()
    link = RecordingLink()
    sockets = MarbleSockets(scheduler, [[on_next(1, Opened(link))]])
    config = ConnectionConfig(
        health=HealthConfig(enabled=False),
        rate_limit=RateLimitConfig(enabled=True, messages_per_sec=1.0, burst=2),
    )
    conn = Connection("ws://relay", config, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(1)
    await connecting
    for n in range(5):
        conn.send(f'["N",{n}]')
    written: list[tuple[float, int]] = []
    for t in range(1, 6):
        scheduler.advance_to(float(t))
        for _ in range(5):
            await asyncio.sleep(0)
        written.append((float(t), len(link.sent)))
    assert written == [(1.0, 2), (2.0, 3), (3.0, 4), (4.0, 5), (5.0, 5)]  # burst 2, then 1/s
    assert link.sent == [f'["N",{n}]' for n in range(5)]  # excess waited, none dropped
    await conn.close()


async def test_envelopes_unsent_at_close_are_reported_not_silently_dropped() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(scheduler, [[on_error(0, drop())]] * 10)
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    errors: list[Exception] = []
    conn.errors.subscribe(errors.append)
    connecting = await start_connect(conn)
    conn.send('["A"]')
    conn.send('["B"]')
    await conn.close()
    with pytest.raises(InvalidState):
        await connecting
    unsent = [e for e in errors if isinstance(e, WriteFailed)]
    assert len(unsent) == 1 and "2 queued envelopes" in str(unsent[0])


async def test_channels_route_every_spelling_and_report_unreadable_labels() -> None:
    scheduler = TestScheduler()
    canonical, spaced = '["EVENT","s",{}]', '[ "EVENT" , "s", {}]'
    sockets = MarbleSockets(
        scheduler,
        [
            [
                on_next(1, Opened(RecordingLink())),
                on_next(2, canonical),
                on_next(3, spaced),
                on_next(4, canonical.encode()),
                on_next(5, '["NOTICE","hi"]'),
                on_next(6, "}{"),
                on_next(7, '["COUNT","q",{"count":1}]'),
            ]
        ],
    )
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    channels = conn.channels(["COUNT"])
    events: list[Any] = []
    notices: list[Any] = []
    counts: list[Any] = []
    errors: list[Exception] = []
    channels["EVENT"].subscribe(events.append)
    channels["NOTICE"].subscribe(notices.append)
    channels["COUNT"].subscribe(counts.append)
    conn.errors.subscribe(errors.append)
    connecting = await start_connect(conn)
    scheduler.advance_to(10)
    await connecting
    assert events == [canonical, spaced, canonical]  # the binary frame, decoded as text
    assert notices == ['["NOTICE","hi"]'] and counts == ['["COUNT","q",{"count":1}]']
    assert [type(e).__name__ for e in errors] == ["UnknownEnvelopeType"]
    await conn.close()


@pytest.mark.parametrize("enabled", [True, False])
async def test_inbound_envelopes_are_counted_only_with_metrics_enabled(enabled: bool) -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(
        scheduler,
        [[on_next(1, Opened(RecordingLink())), on_next(2, '["EOSE","a"]'), on_next(3, "x")]],
    )
    config = ConnectionConfig(
        health=HealthConfig(enabled=False), reconnect=CONFIG.reconnect, metrics_enabled=enabled
    )
    conn = Connection("ws://relay", config, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(5)
    await connecting
    await asyncio.sleep(0)  # the deferred last-received stamp
    snap = conn.metrics.snapshot()
    expected = (2, len('["EOSE","a"]') + 1) if enabled else (0, 0)
    assert (snap["messages_received"], snap["bytes_received"]) == expected
    assert (snap["last_message_received_at"] is not None) is enabled
    await conn.close()


async def test_a_flapping_relay_uses_up_the_attempts() -> None:
    # every socket opens and drops at once: up for less than stable_after (1)
    scheduler = TestScheduler()
    link = RecordingLink()
    flap = [on_next(1, Opened(link)), on_error(1, drop())]
    sockets = MarbleSockets(scheduler, [flap] * 10)
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(1000)
    await connecting  # it did connect, at 1
    # the delays never start over: 10, 20, 40, then giving up (before: redialled for ever)
    assert sockets.dialled == [0, 11, 32, 73]
    assert conn.status is S.ERROR
    await conn.close()


async def test_a_socket_that_stays_up_starts_the_backoff_over() -> None:
    scheduler = TestScheduler()
    link = RecordingLink()
    flap = [on_next(1, Opened(link)), on_error(1, drop())]
    steady = [on_next(1, Opened(link)), on_error(5, drop())]  # up 4 ≥ stable_after
    sockets = MarbleSockets(scheduler, [flap, flap, steady, flap, flap, flap, flap])
    conn = Connection("ws://relay", CONFIG, scheduler=scheduler, socket_factory=sockets)
    connecting = await start_connect(conn)
    scheduler.advance_to(1000)
    await connecting
    # 10, 20, then the steady socket (dialled at 32, up 33-37) resets: 10, 20, 40, give up
    assert sockets.dialled == [0, 11, 32, 47, 68, 109]
    assert conn.status is S.ERROR
    await conn.close()
