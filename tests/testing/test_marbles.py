"""The shipped test kit itself: RecordingLink, MarbleSockets, start_connect, MarbleHarness,
FAST and until."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

import rx_honeybee.testing as kit
from rx_honeybee import Connection
from rx_honeybee.errors import ConnectionClosed, WriteFailed
from rx_honeybee.socket import Opened
from rx_honeybee.testing import (
    FAST,
    MarbleHarness,
    MarbleSockets,
    RecordingLink,
    Relay,
    start_connect,
    until,
)
from rx_roots import ConnectionStatus as S

on_next, on_error, on_completed = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
)


def drop() -> ConnectionClosed:
    return ConnectionClosed("ws://relay", 1006)


def test_the_kit_is_exported() -> None:
    names = {"FAST", "MarbleHarness", "MarbleSockets", "RecordingLink", "start_connect", "until"}
    assert names <= set(kit.__all__)
    assert all(hasattr(kit, name) for name in kit.__all__)


# --- RecordingLink ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_recording_link_records_writes_and_pings_in_virtual_time() -> None:
    scheduler = TestScheduler()
    link = RecordingLink(scheduler, compressed=True)
    scheduler.advance_to(3)
    await link.send('["REQ","s",{}]')
    link.ping(b"p1")
    scheduler.advance_to(7)
    await link.send('["CLOSE","s"]')
    assert link.compressed is True
    assert link.sent == ['["REQ","s",{}]', '["CLOSE","s"]']
    assert link.sent_at == [3.0, 7.0]
    assert (link.pings, link.ping_payloads) == ([3.0], [b"p1"])
    assert link.timeline() == [(3.0, ["REQ", "s", {}]), (7.0, ["CLOSE", "s"])]
    assert link.labels() == [(3.0, "REQ"), (7.0, "CLOSE")]


@pytest.mark.asyncio
async def test_fail_next_raises_once_per_call_and_records_nothing() -> None:
    link = RecordingLink()
    link.fail_next(ConnectionResetError("gone"))
    link.fail_next(TimeoutError("slow"))
    with pytest.raises(ConnectionResetError, match="gone"):
        await link.send("a")
    with pytest.raises(TimeoutError):
        await link.send("b")
    await link.send("c")
    assert link.sent == ["c"]


@pytest.mark.asyncio
async def test_fail_on_fails_that_envelope_every_time() -> None:
    link = RecordingLink(fail_on="b")
    await link.send("a")
    for _ in range(2):
        with pytest.raises(ConnectionResetError, match="socket died writing b"):
            await link.send("b")
    assert link.sent == ["a"]


@pytest.mark.asyncio
async def test_the_gate_holds_writes_until_set() -> None:
    link = RecordingLink()
    link.gate = asyncio.Event()
    writing = asyncio.ensure_future(link.send("a"))
    await asyncio.sleep(0)
    assert link.sent == [] and not writing.done()
    link.gate.set()
    await writing
    assert link.sent == ["a"]


# --- MarbleSockets ------------------------------------------------------------------------


def test_marble_sockets_hand_out_attempts_in_order_and_log_dial_times() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(scheduler, [[on_next(1, "first")], [on_next(2, "second")]])
    got: list[tuple[float, Any]] = []
    sockets("ws://a", FAST, None).subscribe(lambda x: got.append((scheduler.clock, x)))  # type: ignore[arg-type]
    scheduler.advance_to(10)
    sockets("ws://b", FAST, None).subscribe(lambda x: got.append((scheduler.clock, x)))  # type: ignore[arg-type]
    scheduler.advance_to(20)
    assert got == [(1, "first"), (12, "second")]  # times are relative to each dial
    assert sockets.dialled == [0.0, 10.0]
    assert sockets.urls == ["ws://a", "ws://b"]


def test_marble_strings_use_lookup_and_error() -> None:
    scheduler = TestScheduler()
    boom = drop()
    sockets = MarbleSockets(scheduler, ["-o-a-#"], lookup={"o": "opened", "a": "A"}, error=boom)
    observer = scheduler.create_observer()
    sockets("ws://a", FAST, None).subscribe(observer)  # type: ignore[arg-type]
    scheduler.advance_to(10)
    assert observer.messages == [on_next(1, "opened"), on_next(3, "A"), on_error(5, boom)]


def test_a_dial_past_the_script_fails_that_socket_with_a_clear_error() -> None:
    scheduler = TestScheduler()
    sockets = MarbleSockets(scheduler, [[on_completed(1)]])
    sockets("ws://a", FAST, None).subscribe()  # type: ignore[arg-type]
    errors: list[Exception] = []
    sockets("ws://a", FAST, None).subscribe(on_error=errors.append)  # type: ignore[arg-type]
    scheduler.advance_to(5)
    assert [str(e) for e in errors] == ["dial 2: no marble socket left"]
    assert isinstance(errors[0], AssertionError)


# --- a Connection driven through the kit --------------------------------------------------


@pytest.mark.asyncio
async def test_a_connection_reaches_connected_in_virtual_time() -> None:
    scheduler = TestScheduler()
    link = RecordingLink(scheduler)
    sockets = MarbleSockets(scheduler, [[on_next(3, Opened(link))]])
    conn = Connection(
        "ws://relay", MarbleHarness.CONFIG, scheduler=scheduler, socket_factory=sockets
    )
    log: list[tuple[float, S]] = []
    conn.state.subscribe(lambda s: log.append((scheduler.clock, s)))
    connecting = await start_connect(conn)
    assert sockets.dialled == [0.0] and conn.status is S.CONNECTING
    scheduler.advance_to(3)
    await connecting
    assert log == [(0, S.DISCONNECTED), (0, S.CONNECTING), (3, S.CONNECTED)]
    await conn.close()


@pytest.mark.asyncio
async def test_the_harness_times_writes_and_redials_after_a_drop() -> None:
    h = MarbleHarness(
        lambda link: ["-o-#", [on_next(1, Opened(link)), on_next(2, '["NOTICE","back"]')]],
        error=drop(),
    )
    notices = h.scheduler.create_observer()
    h.conn.messages.subscribe(notices)
    await h.start()
    h.conn.send('["REQ","s",{}]')
    await h.run_until(2)
    await h.run_until(10)  # dropped at 3, redialled at 4 (MarbleHarness.CONFIG), open at 5
    h.conn.send('["CLOSE","s"]')
    await h.run_until(11)
    assert h.sockets.dialled == [0.0, 4.0]
    assert h.link.labels() == [(1.0, "REQ"), (10.0, "CLOSE")]
    assert notices.messages == [on_next(6, '["NOTICE","back"]')]
    assert h.conn.generation == 2
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_failed_write_is_reported_and_resent_on_the_next_socket() -> None:
    # the write fails at 1; as a real socket would, the marble then drops (at 4)
    h = MarbleHarness(lambda link: ["-o--#", "-o"], error=drop())
    await h.start()
    h.link.fail_next(ConnectionResetError("socket died"))
    errors: list[Exception] = []
    h.conn.errors.subscribe(errors.append)
    h.conn.send('["EVENT",{}]')
    await h.run_until(10)
    assert h.sockets.dialled == [0.0, 5.0] and h.conn.status is S.CONNECTED
    assert h.link.timeline() == [(6.0, ["EVENT", {}])]  # kept, then written once reconnected
    failed = [e for e in errors if isinstance(e, WriteFailed)]
    assert len(failed) == 1 and isinstance(failed[0].__cause__, ConnectionResetError)
    await h.conn.close()


# --- until and FAST -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_until_returns_once_the_predicate_holds() -> None:
    flag: list[bool] = []
    asyncio.get_running_loop().call_later(0.02, flag.append, True)
    await until(lambda: bool(flag), timeout=1.0)
    assert flag == [True]


@pytest.mark.asyncio
async def test_until_fails_with_the_predicate_in_the_message() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AssertionError, match=r"within 0\.05 s: .*1 \+ 1 == 3") as info:
        await until(lambda: 1 + 1 == 3, timeout=0.05)
    assert 0.05 <= loop.time() - started < 1.0
    assert "condition not met" in str(info.value)


@pytest.mark.asyncio
async def test_fast_connects_to_a_local_relay_and_redials_quickly() -> None:
    relay = Relay()
    async with relay, Connection(relay.url, FAST) as conn:
        await until(lambda: relay.clients == 1, timeout=1.0)
        relay.faults.drop_after(0)  # drops every client now
        await until(lambda: conn.generation == 2 and conn.status is S.CONNECTED, timeout=1.0)
