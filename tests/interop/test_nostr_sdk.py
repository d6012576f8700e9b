"""rxnostr against rust-nostr's relay: nostr-sdk's in-process ``LocalRelay`` on 127.0.0.1.

The LocalRelay keeps events in memory only: in nostr-sdk 0.45.1 a ``NostrLmdb`` given to
``LocalRelayBuilder.database`` is wrapped as a Python callback object, and the relay's
tokio threads then fail calling it ("no running event loop"), so no store survives a
restart from Python. A restart is therefore a new, empty relay on the same port. The
scenario turns that into a check: what was delivered before the restart is published
again during the outage, so after the restore the relay really sends those events a
second time — and they must not be delivered twice — while the events published during
the outage must be delivered once.

Its caps (500 events per filter, 20 filters per REQ, per-minute rate limits, 75k events)
are far above what these tests send.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import nostr_sdk  # type: ignore[import-untyped]
import pytest
import pytest_asyncio

from rx_honeybee import Connection
from rx_honeybee.initiator import OkResult, request
from rx_honeybee.pool import Pool
from rx_roots import ConnectionStatus, find_req, find_subscription_event, get_label
from tests.support import FAST, until

from .peers import collect, first, free_port, ok_of, secret_key, signed

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


class SdkRelay:
    """A nostr-sdk LocalRelay on a fixed loopback port, stopped and started at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"ws://127.0.0.1:{port}"
        self._relay: nostr_sdk.LocalRelay | None = None
        self.starts = 0

    async def start(self) -> None:
        assert self._relay is None, "already running"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            relay = nostr_sdk.LocalRelayBuilder().addr("127.0.0.1").port(self.port).build()
            try:
                await relay.run()
                break
            except nostr_sdk.NostrSdkError:  # the port may take a moment to be released
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)
        self._relay = relay
        self.starts += 1

    def stop(self) -> None:
        """Shut down: every client socket drops (abortively: close code 1006)."""
        if self._relay is not None:
            self._relay.shutdown()
            self._relay = None


@pytest_asyncio.fixture
async def sdk_relay() -> AsyncIterator[SdkRelay]:
    relay = SdkRelay(free_port())
    await relay.start()
    try:
        yield relay
    finally:
        relay.stop()


async def wait_ok(tasks: list[asyncio.Task[Any]]) -> list[OkResult]:
    results = await asyncio.gather(*tasks)
    for result in results:
        assert isinstance(result, OkResult), result
    return results


async def test_request_and_publish_survive_a_local_relay_restart(sdk_relay: SdkRelay) -> None:
    key = secret_key("sdk connection")
    before = [signed(i, key) for i in range(5)]
    during = [signed(10 + i, key) for i in range(3)]
    delivered: list[dict[str, Any]] = []
    faults: list[Exception] = []
    wire: Counter[str] = Counter()  # EVENT envelopes for our subscription, repeats included
    reqs: list[list[dict[str, Any]]] = []  # the filters of each REQ a socket took
    statuses: list[ConnectionStatus] = []

    def on_envelope(envelope: str) -> None:
        if get_label(envelope) == "EVENT":
            sub_id, event = find_subscription_event(envelope)
            if sub_id == "live":
                wire[event["id"]] += 1

    def on_written(envelope: str) -> None:
        if get_label(envelope) == "REQ":
            sub_id, filters = find_req(envelope)
            if sub_id == "live":
                reqs.append(filters)

    async with Connection(sdk_relay.url, FAST) as conn:
        conn.messages.subscribe(on_envelope)
        conn.written.subscribe(on_written)
        conn.state.subscribe(statuses.append)
        live = request(conn, [{"kinds": [1], "authors": [before[0]["pubkey"]]}], sub_id="live")
        subscription = live.subscribe(delivered.append, faults.append)

        oks = await wait_ok([asyncio.create_task(ok_of(conn, e)) for e in before])
        assert [(r.event_id, r.accepted, r.prefix) for r in oks] == [
            (e["id"], True, "") for e in before
        ]
        await until(lambda: len(delivered) >= len(before))
        assert sorted(e["id"] for e in delivered) == sorted(e["id"] for e in before)

        stopped = int(time.time())
        sdk_relay.stop()
        await until(lambda: conn.status is not ConnectionStatus.CONNECTED)
        lost = int(time.time())
        # During the outage: three new events, and the five delivered ones again (the new
        # relay will have lost them). Each publish waits in the write queue.
        outage = [asyncio.create_task(ok_of(conn, e, timeout=10)) for e in during + before]
        await asyncio.sleep(0.2)  # a few refused redials
        assert conn.status is not ConnectionStatus.CONNECTED
        assert not any(task.done() for task in outage)

        await sdk_relay.start()
        oks = await wait_ok(outage)
        assert [(r.event_id, r.accepted) for r in oks] == [(e["id"], True) for e in during + before]
        everything = {e["id"] for e in before + during}
        await until(lambda: len(delivered) >= len(everything))
        # The restored relay sends the first five again (stored, or live as they arrive):
        await until(lambda: all(wire[e["id"]] >= 2 for e in before))
        await asyncio.sleep(0.2)  # room for a late repeat to show up

        ids = [e["id"] for e in delivered]
        assert sorted(ids) == sorted(everything), "each event exactly once"
        assert faults == []
        assert len(reqs) == 2, reqs  # the original REQ and one resumed after the restart
        # Resumed after its EOSE: from the loss on, minus the overlap (SessionConfig's 60 s)
        assert stopped - 60 <= reqs[1][0]["since"] <= lost - 60
        assert statuses.count(ConnectionStatus.CONNECTED) == 2
        assert conn.metrics.snapshot()["reconnections"] == 1

        # The relay's own view after the restore: all eight, through a one-shot request.
        stored = await collect(
            request(conn, [{"authors": [before[0]["pubkey"]]}], close_on_eose=True), 5
        )
        assert sorted(e["id"] for e in stored) == sorted(everything)
        subscription.dispose()


async def test_pool_over_two_local_relays_one_restarted(sdk_relay: SdkRelay) -> None:
    steady = SdkRelay(free_port())
    await steady.start()
    key = secret_key("sdk pool")
    before = [signed(i, key) for i in range(3)]
    during = [signed(10 + i, key) for i in range(3)]
    delivered: list[tuple[str, dict[str, Any]]] = []
    faults: list[tuple[str, Exception]] = []
    try:
        async with Pool([sdk_relay.url, steady.url], FAST) as pool:
            pool.errors.subscribe(faults.append)
            await until(
                lambda: all(s is ConnectionStatus.CONNECTED for s in pool_statuses(pool)),
            )
            live = pool.subscribe("pool-live", [{"authors": [before[0]["pubkey"]]}])
            subscription = live.subscribe(delivered.append)

            for event in before:
                results = await collect(pool.publish(event, timeout=5), 10)
                assert [(r.event_id, r.accepted) for r in results] == [(event["id"], True)] * 2
            await until(lambda: len(delivered) >= len(before))
            assert sorted(e["id"] for _, e in delivered) == sorted(e["id"] for e in before)

            sdk_relay.stop()
            await until(lambda: pool.status(sdk_relay.url) is not ConnectionStatus.CONNECTED)
            # The steady relay answers at once; the restarted one after its restore.
            answers = [
                asyncio.create_task(first(pool.publish_to(sdk_relay.url, e, timeout=10), 15))
                for e in during
            ]
            for event in during:
                result = await first(pool.publish_to(steady.url, event, timeout=5), 10)
                assert (result.event_id, result.accepted) == (event["id"], True)
            await sdk_relay.start()
            for event, answer in zip(during, await asyncio.gather(*answers), strict=True):
                assert isinstance(answer, OkResult), answer
                assert (answer.event_id, answer.accepted) == (event["id"], True)

            await until(lambda: len(delivered) >= len(before + during))
            await asyncio.sleep(0.2)  # room for a late repeat from the other relay
            ids = [event["id"] for _, event in delivered]
            assert sorted(ids) == sorted(e["id"] for e in before + during)
            assert {url for url, _ in delivered} <= {sdk_relay.url, steady.url}
            assert pool.status(sdk_relay.url) is ConnectionStatus.CONNECTED
            # Only the restarted relay's socket dropped (reported on errors, then redialled).
            assert {url for url, _ in faults} == {sdk_relay.url}
            subscription.dispose()
    finally:
        steady.stop()


def pool_statuses(pool: Pool) -> list[ConnectionStatus]:
    return [pool.status(url) for url in pool.relays]
