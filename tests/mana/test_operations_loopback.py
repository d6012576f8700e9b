"""Tracked operations against a real relay on 127.0.0.1.

The benefit over bare honeybee streams: code that never held the subscriptions (a
shutdown path, a watchdog) sees what is in flight and stops it through the registry,
and the relay learns it (CLOSE), instead of REQs staying open until the socket dies; a
publish's OK is the operation's result, awaited with a deadline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rx_honeybee import Connection, OkResult, publish, request
from rx_honeybee.testing import Relay
from rx_mana.operations import (
    Operation,
    OperationCancelled,
    OperationRegistry,
    OperationStatus,
    OperationTimedOut,
    OperationType,
)
from rx_mana.tracked import tracked
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

S = OperationStatus
T = OperationType


def closes(relay: Relay) -> list[str]:
    """The subscription ids of the CLOSEs the relay received, in order."""
    envelopes = (json.loads(env) for env in list(relay.received))
    return [env[1] for env in envelopes if env[0] == "CLOSE"]


def reqs(relay: Relay) -> list[str]:
    envelopes = (json.loads(env) for env in list(relay.received))
    return [env[1] for env in envelopes if env[0] == "REQ"]


async def test_cancelling_through_the_registry_closes_the_relay_subscription() -> None:
    relay = Relay()
    async with relay:
        conn = Connection(relay.url, FAST)
        await conn.connect()
        try:
            registry = OperationRegistry()
            ops: list[Operation] = []
            got: list[dict[str, Any]] = []
            errors: list[Exception] = []
            request(conn, [{"kinds": [1]}]).pipe(
                tracked(registry, T.SUBSCRIPTION, on_register=ops.append, relay=relay.url)
            ).subscribe(got.append, errors.append)
            (live,) = ops
            await until(lambda: len(relay.subscriptions) == 1)
            (sub_id,) = relay.subscriptions
            assert live.status is S.IN_PROGRESS

            # A tracked publish completes with the relay's OkResult; the request sees it.
            event = make_event(1, seed="operations-loopback")
            published: list[Operation] = []
            publish(conn, event).pipe(
                tracked(registry, T.PUBLICATION, on_register=published.append)
            ).subscribe()
            ok = await registry.wait(published[0].id, 5.0)
            assert ok == OkResult(event["id"], True, "", "")
            assert published[0].status is S.COMPLETED and published[0].result == ok
            await until(lambda: [e["id"] for e in got] == [event["id"]])

            # Someone else, holding only the registry, cancels what is in flight.
            assert [op.id for op in registry.operations(status=S.IN_PROGRESS)] == [live.id]
            assert registry.cancel(live.id) is True
            await until(lambda: closes(relay) == [sub_id])
            await until(lambda: relay.subscriptions == [])
            assert live.status is S.CANCELLED
            assert len(errors) == 1 and isinstance(errors[0], OperationCancelled)
            assert registry.cancel(live.id) is False  # once

            # Events published after the cancel no longer reach the application.
            relay.publish(make_event(2, seed="operations-loopback"))
            ok2 = await publish(conn, make_event(3, seed="operations-loopback"))
            assert ok2.accepted
            assert [e["id"] for e in got] == [event["id"]]

            stats = registry.stats()
            assert stats.by_status[S.CANCELLED] == 1 and stats.by_status[S.COMPLETED] == 1
            assert stats.mean_completion_time is not None and stats.mean_completion_time < 5
        finally:
            await conn.close()


async def test_shutdown_and_deadlines_close_every_tracked_request() -> None:
    relay = Relay()
    async with relay:
        conn = Connection(relay.url, FAST)
        await conn.connect()
        try:
            registry = OperationRegistry()
            ops: list[Operation] = []
            for kind in (1, 2, 3):
                request(conn, [{"kinds": [kind]}]).pipe(
                    tracked(registry, T.SUBSCRIPTION, on_register=ops.append)
                ).subscribe(on_error=lambda _: None)
            await until(lambda: len(relay.subscriptions) == 3)
            assert reqs(relay) == relay.subscriptions

            # A deadline on the first: it times out and its REQ is closed on the relay.
            with pytest.raises(OperationTimedOut):
                await registry.wait(ops[0].id, 0.2)
            await until(lambda: len(relay.subscriptions) == 2)
            assert ops[0].status is S.TIMED_OUT

            # Shutdown: everything still running is cancelled, and closed on the relay.
            assert registry.cancel_type(T.SUBSCRIPTION) == 2
            await until(lambda: relay.subscriptions == [])
            assert sorted(closes(relay)) == sorted(reqs(relay))
            assert [op.status for op in ops] == [S.TIMED_OUT, S.CANCELLED, S.CANCELLED]
            assert registry.cleanup(0) == 3 and len(registry) == 0
        finally:
            await conn.close()
