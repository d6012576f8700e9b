"""with_replay over a marble Connection in virtual time: batches, expiry, give-up, order.

The harness redials 1 unit after each loss; each socket's times are relative to its dial.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from reactivex.testing import ReactiveTest

from marble_tests.support import Sink, opened
from rx_honeybee.connection import Connection
from rx_honeybee.errors import ConnectionClosed, EnvelopeTooLarge, InvalidState
from rx_honeybee.socket import Opened
from rx_honeybee.testing import MarbleHarness, RecordingLink
from rx_honeybee.write_queue import WriteQueue
from rx_mana.errors import ReplayGivenUp
from rx_mana.replay import ReplayBuffer, ReplayStats
from rx_mana.replaying import Replaying, with_replay

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_error = ReactiveTest.on_next, ReactiveTest.on_error
URL = "ws://relay"


def drop(at: int) -> Any:
    return on_error(at, ConnectionClosed(URL, 1006))


def note(name: str) -> str:
    return f'["NOTICE","{name}"]'


def event(event_id: str) -> str:
    return f'["EVENT",{{"id":"{event_id}","kind":1,"content":"x"}}]'


def ok(event_id: str, accepted: bool = True) -> str:
    return f'["OK","{event_id}",{"true" if accepted else "false"},""]'


def outage(link: RecordingLink, reopen_after: int = 2) -> list[list[Any]]:
    """Up at 1, lost at 3, redialled at 4, up again at ``4 + reopen_after``."""
    return [[opened(link), drop(3)], [on_next(reopen_after, Opened(link))]]


def given_up(sink: Sink) -> list[tuple[float, str, str, int]]:
    return [
        (at, e.envelope, e.reason, e.attempts)
        for at, e in sink.items
        if isinstance(e, ReplayGivenUp)
    ]


async def harness(
    script: Any, buffer: ReplayBuffer, **kwargs: Any
) -> tuple[MarbleHarness, Replaying, Sink]:
    h = MarbleHarness(script, **kwargs)
    errors = Sink(h.scheduler)
    errors.observe(h.conn.errors)
    replaying = with_replay(h.conn, buffer)
    await h.start()
    return h, replaying, errors


async def test_after_the_reconnect_batches_go_out_batch_delay_apart() -> None:
    buffer = ReplayBuffer(batch_size=2, batch_delay=2)
    h, replaying, _ = await harness(outage, buffer)
    await h.run_until(3.5)
    for name in "abcde":
        replaying.send(note(name))
    assert h.link.sent == [] and buffer.stats().buffered == 5
    await h.run_until(20)
    assert h.link.timeline() == [
        (6.0, ["NOTICE", "a"]),
        (6.0, ["NOTICE", "b"]),
        (8.0, ["NOTICE", "c"]),
        (8.0, ["NOTICE", "d"]),
        (10.0, ["NOTICE", "e"]),
    ]
    assert replaying.stats() == ReplayStats(0, 0, 5, 5, 0, 0, 0)
    await h.conn.close()


async def test_replay_order_is_priority_then_age_and_new_sends_wait_their_turn() -> None:
    buffer = ReplayBuffer(batch_size=1, batch_delay=1)
    h, replaying, _ = await harness(outage, buffer)
    await h.run_until(3.5)
    for name, priority in [("low1", 0), ("high1", 2), ("mid", 1), ("low2", None), ("high2", 2)]:
        replaying.send(note(name), priority)
    await h.run_until(6.5)
    replaying.send(note("urgent"), 5)  # while replaying: ordered with the rest
    replaying.send(note("later"), 0)
    await h.run_until(20)
    assert h.link.timeline() == [
        (6.0, ["NOTICE", "high1"]),
        (7.0, ["NOTICE", "urgent"]),
        (8.0, ["NOTICE", "high2"]),
        (9.0, ["NOTICE", "mid"]),
        (10.0, ["NOTICE", "low1"]),
        (11.0, ["NOTICE", "low2"]),
        (12.0, ["NOTICE", "later"]),
    ]
    replaying.send(note("live"))  # nothing waits any more: straight to the socket
    await h.run_until(21)
    assert h.link.sent_at[-1] == 20.0 and replaying.stats().replayed == 7
    await h.conn.close()


async def test_what_is_older_than_max_age_is_reported_not_sent() -> None:
    buffer = ReplayBuffer(max_age=3, batch_delay=1)
    h, replaying, errors = await harness(lambda link: outage(link, reopen_after=5), buffer)
    await h.run_until(3.5)
    replaying.send(note("old"))  # expires at 6.5, during the outage
    await h.run_until(7)
    replaying.send(note("new"))  # 2 units old at the reconnect (9)
    await h.run_until(15)
    assert h.link.timeline() == [(9.0, ["NOTICE", "new"])]
    assert given_up(errors) == [(6.5, note("old"), "expired", 0)]
    assert replaying.stats() == ReplayStats(0, 0, 1, 1, 1, 0, 0)
    await h.conn.close()


async def test_an_event_whose_socket_dies_before_its_ok_is_replayed_then_given_up() -> None:
    buffer = ReplayBuffer(max_attempts=2, batch_delay=1)
    h, replaying, errors = await harness(
        lambda link: [
            [opened(link), on_next(2, ok("e2")), drop(3)],  # e2 answered, e1 not
            [opened(link), drop(3)],  # dialled at 4: up at 5, lost at 7
            [opened(link), drop(3)],  # dialled at 8: up at 9, lost at 11
            [opened(link)],  # dialled at 12: up at 13
        ],
        buffer,
    )
    replaying.send(event("e1"))
    replaying.send(event("e2"))
    await h.run_until(20)
    assert h.link.timeline() == [
        (1.0, ["EVENT", {"id": "e1", "kind": 1, "content": "x"}]),
        (1.0, ["EVENT", {"id": "e2", "kind": 1, "content": "x"}]),
        (5.0, ["EVENT", {"id": "e1", "kind": 1, "content": "x"}]),  # replay 1
        (9.0, ["EVENT", {"id": "e1", "kind": 1, "content": "x"}]),  # replay 2
    ]
    assert given_up(errors) == [(11.0, event("e1"), "attempts", 2)]
    assert replaying.stats() == ReplayStats(0, 0, 2, 1, 0, 0, 1)
    await h.conn.close()


async def test_an_ok_confirms_and_ends_the_expiry_watch() -> None:
    buffer = ReplayBuffer(max_age=5)
    h, replaying, errors = await harness(
        lambda link: [
            [
                opened(link),
                on_next(1, ok("early")),  # nothing awaits an OK yet
                on_next(2, '["OK","e1"]'),  # malformed: not ours to judge
                on_next(3, ok("other")),  # awaited by no one
                on_next(4, ok("e1", accepted=False)),  # a refusal is an answer too
            ]
        ],
        buffer,
    )
    await h.run_until(1.5)
    replaying.send(event("e1"))
    replaying.send(event("e9"))  # never answered: expires 5 after its send
    await h.run_until(10)
    assert given_up(errors) == [(6.5, event("e9"), "expired", 0)]
    assert replaying.stats() == ReplayStats(0, 0, 0, 1, 1, 0, 0)
    await h.conn.close()


async def test_sending_while_down_never_meets_a_full_queue() -> None:
    config = replace(MarbleHarness.CONFIG, write_queue_size=2)
    buffer = ReplayBuffer(batch_size=50, batch_delay=1)
    h = MarbleHarness(lambda link: [[on_next(3, Opened(link))]], config)
    errors = Sink(h.scheduler)
    errors.observe(h.conn.errors)
    replaying = with_replay(h.conn, buffer)
    for name in "abcde":  # DISCONNECTED: nothing dialled yet; the queue holds 2
        replaying.send(note(name))
    await h.start(at=3)
    await h.run_until(10)
    # the connection's queue takes 2 per batch; the rest waits for the next batch
    assert h.link.labels() == [(3.0, "NOTICE")] * 2 + [(4.0, "NOTICE")] * 2 + [(5.0, "NOTICE")]
    assert [env[1] for _, env in h.link.timeline()] == list("abcde")
    assert errors.items == [] and replaying.stats().replayed == 5
    await h.conn.close()


async def test_a_full_queue_while_connected_keeps_the_envelope_here() -> None:
    config = replace(MarbleHarness.CONFIG, write_queue_size=2)
    buffer = ReplayBuffer(batch_delay=1)
    h, replaying, errors = await harness(lambda link: [[opened(link)]], buffer, config=config)
    h.link.gate = asyncio.Event()  # the socket is slow: writes wait
    for name in "abc":
        replaying.send(note(name))
    assert buffer.stats().buffered == 1 and buffer.stats().in_flight == 2
    await h.run_until(3)
    h.link.gate.set()
    await h.run_until(6)
    assert [env[1] for _, env in h.link.timeline()] == list("abc")
    assert errors.items == [] and buffer.stats().confirmed == 3
    await h.conn.close()


async def test_an_envelope_the_queue_still_holds_at_a_drop_is_written_once() -> None:
    buffer = ReplayBuffer(batch_delay=1)
    h, replaying, _ = await harness(outage, buffer)
    h.link.gate = asyncio.Event()  # the first socket never manages the write
    replaying.send(event("e1"))
    await h.run_until(3.5)  # lost at 3: honeybee's queue keeps it for the next socket
    h.link.gate = None
    await h.run_until(10)
    assert h.link.labels() == [(6.0, "EVENT")]
    assert replaying.stats() == ReplayStats(0, 1, 0, 0, 0, 0, 0)  # written, awaiting OK
    await h.conn.close()


async def test_the_same_envelope_object_twice_is_confirmed_twice() -> None:
    buffer = ReplayBuffer()
    h, replaying, _ = await harness(lambda link: [[opened(link)]], buffer)
    envelope = note("twice")
    replaying.send(envelope)
    replaying.send(envelope)
    await h.run_until(3)
    assert h.link.sent == [envelope, envelope]
    assert buffer.stats().confirmed == 2 and buffer.stats().in_flight == 0
    await h.conn.close()


async def test_closing_gives_up_what_waits_and_refuses_more() -> None:
    buffer = ReplayBuffer()
    h, replaying, errors = await harness(lambda link: outage(link, reopen_after=50), buffer)
    await h.run_until(3.5)
    replaying.send(note("a"))
    await h.conn.close()
    assert given_up(errors) == [(3.5, note("a"), "closed", 0)]
    assert buffer.stats().given_up == 1
    with pytest.raises(InvalidState):
        replaying.send(note("b"))
    replaying.dispose()  # after the end: nothing left to report


async def test_bad_envelopes_are_refused_at_send() -> None:
    config = replace(MarbleHarness.CONFIG, max_message_size=10)
    h, replaying, _ = await harness(lambda link: [[opened(link)]], ReplayBuffer(), config=config)
    with pytest.raises(EnvelopeTooLarge):
        replaying.send(note("far too long"))
    with pytest.raises(TypeError):
        replaying.send(b"[]")  # type: ignore[arg-type]
    assert replaying.stats().buffered == 0 and h.link.sent == []
    await h.conn.close()


async def test_dispose_stops_watching_and_keeps_unanswered_events() -> None:
    buffer = ReplayBuffer(batch_delay=1)
    h, replaying, errors = await harness(outage, buffer)
    replaying.send(event("e1"))
    await h.run_until(1.5)
    h.link.gate = asyncio.Event()
    replaying.send(note("held"))  # in the connection's queue at the dispose
    await h.run_until(2)
    replaying.dispose()
    h.link.gate.set()  # written after the dispose: the buffer no longer follows it
    replaying.dispose()  # idempotent
    with pytest.raises(InvalidState):
        replaying.send(note("b"))
    await h.run_until(10)
    # not replayed after the reconnect at 6
    assert h.link.labels() == [(1.0, "EVENT"), (2.0, "NOTICE")]
    assert buffer.order() == [event("e1")] and given_up(errors) == []
    again = with_replay(h.conn, buffer)  # another adapter picks the buffer up
    await h.run_until(11)
    assert h.link.labels()[2:] == [(10.0, "EVENT")]
    again.dispose()
    await h.conn.close()


async def test_a_socket_lost_during_a_replay_stops_it_until_the_next() -> None:
    buffer = ReplayBuffer(batch_size=1, batch_delay=1)
    h, replaying, _ = await harness(
        lambda link: [[opened(link), drop(3)], [opened(link), drop(2)], [opened(link)]], buffer
    )
    await h.run_until(3.5)
    for name in "abcd":
        replaying.send(note(name))
    await h.run_until(15)
    # up at 5 (a), lost at 6 before b's batch; dialled at 7, up at 8 (b, c, d)
    assert h.link.timeline() == [
        (5.0, ["NOTICE", "a"]),
        (8.0, ["NOTICE", "b"]),
        (9.0, ["NOTICE", "c"]),
        (10.0, ["NOTICE", "d"]),
    ]
    await h.conn.close()


async def test_giving_up_reconnecting_reports_what_waits() -> None:
    config = replace(
        MarbleHarness.CONFIG, reconnect=replace(MarbleHarness.CONFIG.reconnect, max_attempts=1)
    )
    buffer = ReplayBuffer()
    h, replaying, errors = await harness(
        lambda link: [[opened(link), drop(3)], [drop(1)], [drop(1)]], buffer, config=config
    )
    await h.run_until(3.5)
    replaying.send(note("a"))
    await h.run_until(10)
    assert [reason for _, _, reason, _ in given_up(errors)] == ["closed"]
    assert h.conn.status.name == "ERROR"
    await h.conn.close()


async def test_what_a_stricter_queue_refuses_for_good_is_given_up_not_retried() -> None:
    h = MarbleHarness(lambda link: outage(link))
    h.conn = Connection(  # a queue that takes 30 bytes at most (the connection: 1 MiB)
        URL,
        h.conn.config,
        write_queue=WriteQueue(100, 30),
        scheduler=h.scheduler,
        socket_factory=h.sockets,
    )
    errors = Sink(h.scheduler)
    errors.observe(h.conn.errors)
    replaying = with_replay(h.conn, ReplayBuffer(batch_delay=1))
    await h.start()
    replaying.send(note("a" * 30))  # live: refused at once
    await h.run_until(3.5)
    replaying.send(note("b" * 30), priority=1)  # replayed: refused, the rest goes on
    replaying.send(note("ok"))
    await h.run_until(10)
    assert [env[1] for _, env in h.link.timeline()] == ["ok"]
    refused = [(at, reason, attempts) for at, _, reason, attempts in given_up(errors)]
    assert refused == [(1.0, "refused", 0), (6.0, "refused", 1)]
    causes = [e.__cause__ for _, e in errors.items if isinstance(e, ReplayGivenUp)]
    assert [type(cause) for cause in causes] == [EnvelopeTooLarge] * 2
    assert replaying.stats() == ReplayStats(0, 0, 2, 1, 0, 0, 2)
    await h.conn.close()
