"""The initiator's functions: what they queue, and what they refuse before sending anything."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.testing import ReactiveTest

from rx_honeybee import Connection, InvalidState, SubscriptionDuplicate
from rx_honeybee.initiator import (
    publish,
    publish_event,
    request,
    send_auth_response,
    send_close,
    send_req,
)
from rx_honeybee.socket import Opened
from rx_honeybee.testing import FAST, MarbleHarness
from rx_roots import InvalidEvent, WrongFieldType

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]

EVENT = {"id": "e" * 64, "pubkey": "a" * 64, "created_at": 1, "kind": 1, "tags": [],
         "content": "hi", "sig": "b" * 128}  # fmt: skip


class Outcome:
    """What one subscription got."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.errors: list[Exception] = []
        self.completed = False

    def observe(self, source: Any) -> Any:
        return source.subscribe(self.items.append, self.errors.append, self._done)

    def _done(self) -> None:
        self.completed = True


async def test_the_plain_functions_queue_one_envelope_each() -> None:
    h = MarbleHarness(lambda link: [[ReactiveTest.on_next(1, Opened(link))]])
    await h.start()
    publish_event(h.conn, EVENT)
    send_req(h.conn, "s", [{"kinds": [1]}])
    send_close(h.conn, "s")
    send_auth_response(h.conn, {"kind": 22242, "tags": [["challenge", "c"]]})
    await h.run_until(2)
    assert [message for _, message in h.link.timeline()] == [
        ["EVENT", EVENT],
        ["REQ", "s", {"kinds": [1]}],
        ["CLOSE", "s"],
        ["AUTH", {"kind": 22242, "tags": [["challenge", "c"]]}],
    ]
    await h.conn.close()


@pytest.mark.parametrize("sub_id", ["", "x" * 65, 7])
async def test_a_subscription_id_must_be_1_to_64_characters(sub_id: Any) -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)
    with pytest.raises(WrongFieldType):
        request(conn, [{}], sub_id=sub_id)
    with pytest.raises(WrongFieldType):
        send_close(conn, sub_id)
    assert conn.pending == 0 and conn.session is None


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
async def test_publish_needs_a_positive_timeout(timeout: float) -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        publish(conn, EVENT, timeout=timeout)


async def test_a_second_request_with_a_live_id_fails_and_leaves_the_first() -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)  # never connected: REQs wait in the queue
    first, second = Outcome(), Outcome()
    first.observe(request(conn, [{"kinds": [1]}], sub_id="s"))
    second.observe(request(conn, [{"kinds": [2]}], sub_id="s"))
    assert len(second.errors) == 1 and isinstance(second.errors[0], SubscriptionDuplicate)
    assert first.errors == [] and conn.pending == 1
    assert conn.session is not None and list(conn.session.subscriptions.live) == ["s"]
    await conn.close()
    assert first.completed


async def test_request_and_publish_on_a_closed_connection_fail_on_subscribe() -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)
    await conn.close()
    req, pub = Outcome(), Outcome()
    req.observe(request(conn, [{}], sub_id="s"))
    pub.observe(publish(conn, EVENT))
    assert [type(e) for e in req.errors + pub.errors] == [InvalidState, InvalidState]
    assert conn.session is not None
    assert conn.session.subscriptions.live == {} and conn.session.publishes.pending == {}


@pytest.mark.parametrize("event_id", [None, "", 5])
async def test_publishing_an_event_without_a_string_id_fails_on_subscribe(
    event_id: Any,
) -> None:
    conn = Connection("ws://127.0.0.1:9", FAST)
    outcome = Outcome()
    outcome.observe(publish(conn, {**EVENT, "id": event_id}))
    # checked locally first: nothing is sent, nothing is left behind
    assert len(outcome.errors) == 1 and isinstance(outcome.errors[0], InvalidEvent)
    assert isinstance(outcome.errors[0].__cause__, WrongFieldType)
    assert conn.pending == 0
    await conn.close()
