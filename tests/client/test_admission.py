"""A registry that is an AdmissionControl decides when each REQ goes out (SPEC §4a, §5.3).

The session asks it before the first REQ and before each restore, lets it take back a
relay's refusal, and queues a CLOSE before telling it a subscription ended. A registry
without these methods is not asked (the rest of the suite covers that default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from reactivex.testing import ReactiveTest

from rx_honeybee.client.session import Session
from rx_honeybee.errors import ConnectionClosed, InvalidState
from rx_honeybee.initiator import request
from rx_honeybee.interfaces import AdmissionControl
from rx_honeybee.socket import Opened
from rx_honeybee.testing import MarbleHarness

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

on_next, on_error = ReactiveTest.on_next, ReactiveTest.on_error


class Gate:
    """Holds every REQ until the test lets it out; takes back ``too many`` refusals."""

    def __init__(self, hold: bool = True) -> None:
        self.hold = hold
        self.held: dict[str, Callable[[], None]] = {}
        self.admits: list[tuple[str, bool]] = []
        self.removed: list[str] = []
        self.refusals: list[tuple[str, str]] = []
        self.on_remove: Callable[[str], None] | None = None

    def add(self, sub_id: str, filters: Sequence[Mapping[str, Any]], priority: int = 0) -> None:
        pass

    def remove(self, sub_id: str) -> None:
        self.removed.append(sub_id)
        self.held.pop(sub_id, None)
        if self.on_remove is not None:
            self.on_remove(sub_id)

    def record_activity(
        self, sub_id: str, events: int = 1, response_time: float | None = None
    ) -> None:
        pass

    def restore_order(self) -> list[str]:
        return []

    def admit(self, sub_id: str, send: Callable[[], None], restore: bool) -> None:
        self.admits.append((sub_id, restore))
        if self.hold:
            self.held[sub_id] = send
        else:
            send()

    def refused(self, sub_id: str, message: str) -> bool:
        self.refusals.append((sub_id, message))
        return "too many" in message

    def release(self, sub_id: str) -> None:
        self.held.pop(sub_id)()


def reqs(h: MarbleHarness) -> list[tuple[float, str]]:
    return [(at, msg[1]) for at, msg in h.link.timeline() if msg[0] == "REQ"]


def sent(h: MarbleHarness) -> list[list[Any]]:
    return [msg[:2] for _, msg in h.link.timeline()]


Script = Callable[[Any], list[list[Any]]]

DROP_AT_3: Script = lambda link: [  # noqa: E731  (a marble script: lost at 3, open again)
    [on_next(1, Opened(link)), on_error(3, ConnectionClosed("ws://relay", 1006))],
    [on_next(1, Opened(link))],
]


async def gated(script: Script, *, hold: bool = True) -> tuple[MarbleHarness, Gate]:
    """A started connection over ``script`` whose Session admits through a ``Gate``."""
    h = MarbleHarness(script)
    gate = Gate(hold=hold)
    Session(h.conn, registry=gate)
    await h.start()
    return h, gate


async def test_the_gate_is_an_admission_control() -> None:
    assert isinstance(Gate(), AdmissionControl)


async def test_the_first_req_waits_until_the_registry_lets_it_out() -> None:
    h, gate = await gated(lambda link: [[on_next(1, Opened(link))]])
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe()
    await h.run_until(3)
    assert reqs(h) == [] and gate.admits == [("a", False)]
    gate.release("a")
    await h.run_until(4)
    assert reqs(h) == [(3.0, "a")]
    await h.conn.close()


async def test_a_restore_is_admitted_as_such_and_sent_when_let_out() -> None:
    h, gate = await gated(DROP_AT_3, hold=False)
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe()
    await h.run_until(4)
    gate.hold = True
    await h.run_until(6)  # redialled at 4, open at 5
    assert gate.admits == [("a", False), ("a", True)]
    assert reqs(h) == [(1.0, "a")]
    gate.release("a")
    await h.run_until(7)
    assert reqs(h) == [(1.0, "a"), (6.0, "a")]
    await h.conn.close()


async def test_a_refusal_taken_back_is_not_seen_and_the_req_goes_out_again() -> None:
    closed = '["CLOSED","a","rate-limited: too many subscriptions"]'
    h, gate = await gated(lambda link: [[on_next(1, Opened(link)), on_next(3, closed)]], hold=False)
    errors: list[Exception] = []
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe(on_error=errors.append)
    await h.run_until(4)
    assert errors == [] and gate.refusals == [("a", "rate-limited: too many subscriptions")]
    assert gate.admits == [("a", False), ("a", False)]  # admitted again: sent at once here
    assert reqs(h) == [(1.0, "a"), (3.0, "a")]
    await h.conn.close()


async def test_a_refusal_the_registry_does_not_take_goes_to_the_subscriber() -> None:
    closed = '["CLOSED","a","blocked: no"]'
    h, gate = await gated(lambda link: [[on_next(1, Opened(link)), on_next(3, closed)]], hold=False)
    errors: list[Exception] = []
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe(on_error=errors.append)
    await h.run_until(4)
    assert [type(e).__name__ for e in errors] == ["SubscriptionClosed"]
    assert gate.removed == ["a"]
    await h.conn.close()


async def test_close_is_queued_before_the_registry_hears_of_the_end() -> None:
    h, gate = await gated(lambda link: [[on_next(1, Opened(link)), on_next(3, '["EOSE","b"]')]])
    sub = request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe()
    request(h.conn, [{"kinds": [2]}], sub_id="b", close_on_eose=True).subscribe()
    request(h.conn, [{"kinds": [3]}], sub_id="c").subscribe()
    gate.release("a")
    gate.release("b")
    gate.on_remove = lambda _: gate.release("c") if "c" in gate.held else None
    await h.run_until(4)  # b's EOSE at 3: CLOSE b, then c takes its place
    assert sent(h)[-2:] == [["CLOSE", "b"], ["REQ", "c"]]
    gate.on_remove = lambda _: None
    request(h.conn, [{"kinds": [4]}], sub_id="d").subscribe()
    gate.on_remove = lambda _: gate.release("d") if "d" in gate.held else None
    sub.dispose()
    await h.run_until(5)
    assert sent(h)[-2:] == [["CLOSE", "a"], ["REQ", "d"]]
    await h.conn.close()


async def test_a_send_let_out_while_the_connection_ends_is_skipped() -> None:
    h, gate = await gated(lambda link: [[on_next(1, Opened(link))]])
    done: list[str] = []
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe(on_completed=lambda: done.append("a"))
    request(h.conn, [{"kinds": [2]}], sub_id="b").subscribe(on_completed=lambda: done.append("b"))
    gate.release("a")
    gate.on_remove = lambda _: gate.release("b") if "b" in gate.held else None
    await h.conn.close()
    assert sorted(done) == ["a", "b"]  # completed, not failed by the late send
    assert reqs(h) == [(1.0, "a")]


async def test_a_request_on_a_closed_connection_fails_as_before() -> None:
    h, gate = await gated(lambda link: [[on_next(1, Opened(link))]])
    await h.conn.close()
    errors: list[Exception] = []
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe(on_error=errors.append)
    assert [type(e) for e in errors] == [InvalidState] and gate.admits == []
    assert gate.removed == ["a"]


async def test_a_req_still_held_at_a_reconnect_is_not_restored_but_sent_once_let_out() -> None:
    h, gate = await gated(DROP_AT_3)
    request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe()
    await h.run_until(6)  # lost at 3, open again at 5: nothing to restore
    assert gate.admits == [("a", False)] and reqs(h) == []
    gate.release("a")
    await h.run_until(7)
    assert reqs(h) == [(6.0, "a")]
    await h.conn.close()


async def test_a_send_called_again_or_after_the_end_sends_nothing_more() -> None:
    h, gate = await gated(DROP_AT_3, hold=False)
    sub = request(h.conn, [{"kinds": [1]}], sub_id="a").subscribe()
    await h.run_until(4)
    gate.hold = True
    await h.run_until(6)
    restore = gate.held["a"]
    restore()
    await h.run_until(7)
    restore()  # written on this socket already: not stale any more
    await h.run_until(8)
    assert reqs(h) == [(1.0, "a"), (6.0, "a")]
    sub.dispose()
    restore()  # ended
    await h.run_until(9)
    assert reqs(h) == [(1.0, "a"), (6.0, "a")]
    await h.conn.close()
