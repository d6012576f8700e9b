"""publish()/request() against the embedded relay over loopback: the issue's scenarios."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from rx_honeybee import (
    Connection,
    PublishTimeout,
    SubscriptionClosed,
    UnexpectedOk,
    UnknownEnvelopeType,
)
from rx_honeybee.initiator import (
    OkResult,
    SessionConfig,
    configure_session,
    publish,
    request,
    use_auth,
)
from rx_honeybee.testing import Relay
from rx_roots import ConnectionStatus as S
from tests.support import FAST, until
from tests.support import make_event as support_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def make_event(n: int, created_at: int = 1_700_000_000, kind: int = 1) -> dict[str, Any]:
    """A well-formed (unsigned) event; the relay checks shapes, not signatures, by default."""
    return support_event(n, kind=kind, created_at=created_at + n, tags=[["t", "rxnostr"]])


async def ok_of(conn: Connection, event: dict[str, Any], timeout: float = 5.0) -> Any:
    """The OkResult (or the error) of one publish."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    publish(conn, event, timeout=timeout).subscribe(
        lambda r: answer.done() or answer.set_result(r),
        lambda e: answer.done() or answer.set_result(e),
    )
    return await answer


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[Relay]:
    async with Relay() as running:
        yield running


class Feed:
    """Collects what a request() delivers."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.completed = False

    def attach(self, source: Any) -> Any:
        return source.subscribe(self.events.append, self._error, self._done)

    def _error(self, error: Exception) -> None:
        self.error = error

    def _done(self) -> None:
        self.completed = True

    @property
    def ids(self) -> list[str]:
        return [e["id"] for e in self.events]


async def test_publish_then_request_round_trip(relay: Relay) -> None:
    async with Connection(relay.url, FAST) as conn:
        results = [await ok_of(conn, make_event(n)) for n in range(3)]
        assert [r.accepted for r in results] == [True] * 3
        assert results[0] == OkResult(make_event(0)["id"], True, "", "")
        again = await ok_of(conn, make_event(0))
        assert again.accepted and again.prefix == "duplicate"
        feed = Feed()
        feed.attach(request(conn, [{"kinds": [1]}], close_on_eose=True))
        await until(lambda: feed.completed)
        assert sorted(feed.ids) == sorted(make_event(n)["id"] for n in range(3))
        await until(lambda: relay.subscriptions == [])  # CLOSE was sent at EOSE


async def test_restart_during_a_live_request_delivers_every_event_exactly_once(
    relay: Relay,
) -> None:
    async with Connection(relay.url, FAST) as conn:
        states: list[S] = []
        conn.state.subscribe(states.append)
        feed = Feed()
        feed.attach(request(conn, [{"kinds": [1]}]))
        events = [make_event(n, created_at=int(time.time())) for n in range(12)]  # live ones
        for n in range(5):
            assert (await ok_of(conn, events[n])).accepted
        await until(lambda: len(feed.events) == 5)

        await relay.stop()  # the relay goes away; the request stays live
        await until(lambda: conn.status is not S.CONNECTED)
        outage = [asyncio.ensure_future(ok_of(conn, events[n], 10)) for n in range(5, 10)]
        await asyncio.sleep(0.1)
        assert not any(f.done() for f in outage)  # pending, not failed
        await relay.start()

        results = await asyncio.gather(*outage)
        assert all(isinstance(r, OkResult) and r.accepted for r in results)
        for n in range(10, 12):  # published by the relay itself after the restart
            relay.publish(events[n])
        await until(lambda: len(feed.events) >= 12)
        await asyncio.sleep(0.2)  # a repeat would show up by now
        assert sorted(feed.ids) == sorted(e["id"] for e in events)
        assert len(feed.ids) == len(set(feed.ids)) == 12
        assert feed.error is None
        assert states.count(S.CONNECTED) >= 2


@pytest.mark.parametrize(
    "message",
    [
        "blocked: you are banned",
        "invalid: bad tags",
        "pow: difficulty 30 needed",
        "duplicate: already have it",
        "restricted: members only",
        "mute: no",
        "error: disk full",
        "unsupported: kind",
        "no prefix at all",
    ],
)
async def test_ok_false_carries_the_prefix(relay: Relay, message: str) -> None:
    relay.faults.ok_next_event(False, message)
    async with Connection(relay.url, FAST) as conn:
        result = await ok_of(conn, make_event(1))
    prefix = message.split(":")[0] if ":" in message else ""
    assert result == OkResult(make_event(1)["id"], False, message, prefix)


async def test_a_relay_that_never_answers_times_out(relay: Relay) -> None:
    relay.faults.silence_ok(1)
    async with Connection(relay.url, FAST) as conn:
        result = await ok_of(conn, make_event(1), timeout=0.2)
    assert isinstance(result, PublishTimeout)
    assert result.event_id == make_event(1)["id"]


async def test_auth_required_calls_the_hook_and_retries_once() -> None:
    async with Relay(auth=True) as relay:
        relay.publish(make_event(1))
        async with Connection(relay.url, FAST) as conn:
            calls: list[tuple[str, str]] = []

            def hook(challenge: str, url: str) -> dict[str, Any]:
                calls.append((challenge, url))
                return {
                    **make_event(99, kind=22242),
                    "content": "",
                    "created_at": int(time.time()),
                    "tags": [["challenge", challenge], ["relay", url]],
                }

            use_auth(conn, hook)
            await until(lambda: conn.status is S.CONNECTED)
            await asyncio.sleep(0.05)  # the challenge arrives on connect
            feed = Feed()
            feed.attach(request(conn, [{"kinds": [1]}], close_on_eose=True))
            await until(lambda: feed.completed or feed.error is not None)
            assert feed.error is None
            assert feed.ids == [make_event(1)["id"]]
            assert len(calls) == 1 and calls[0][1] == relay.url


async def test_auth_required_without_a_good_hook_fails_after_one_retry() -> None:
    async with Relay(auth=True) as relay, Connection(relay.url, FAST) as conn:
        calls: list[str] = []

        def bad_hook(challenge: str, url: str) -> dict[str, Any]:
            calls.append(challenge)
            return {**make_event(98, kind=22242), "tags": [["challenge", "wrong"]]}

        use_auth(conn, bad_hook)
        faults: list[Exception] = []
        conn.errors.subscribe(faults.append)
        await asyncio.sleep(0.05)
        feed = Feed()
        feed.attach(request(conn, [{"kinds": [1]}]))
        await until(lambda: feed.error is not None)
        assert isinstance(feed.error, SubscriptionClosed)
        assert feed.error.prefix == "auth-required"
        assert len(calls) == 1
        await until(lambda: any("refused our AUTH" in str(f) for f in faults))
        assert not any(isinstance(f, UnexpectedOk) for f in faults)


async def test_closed_rate_limited_is_retried_later(relay: Relay) -> None:
    relay.publish(make_event(1))
    relay.faults.closed_next_req("rate-limited: slow down")
    async with Connection(relay.url, FAST) as conn:
        configure_session(conn, SessionConfig(rate_limit_delay=0.05))
        feed = Feed()
        feed.attach(request(conn, [{"kinds": [1]}], close_on_eose=True))
        await until(lambda: feed.completed or feed.error is not None)
        assert feed.error is None and feed.ids == [make_event(1)["id"]]
        reqs = [env for env in relay.received if env.startswith('["REQ"')]
        assert len(reqs) == 2


async def test_garbage_frames_are_reported_and_the_request_goes_on(relay: Relay) -> None:
    async with Connection(relay.url, FAST) as conn:
        errors: list[Exception] = []
        conn.errors.subscribe(errors.append)
        feed = Feed()
        feed.attach(request(conn, [{"kinds": [1]}]))
        await until(lambda: relay.subscriptions != [])
        relay.faults.garbage(times=3)
        relay.publish(make_event(7))
        await until(lambda: len(feed.events) == 1)
        assert sum(isinstance(e, UnknownEnvelopeType) for e in errors) == 3
        assert conn.status is S.CONNECTED and feed.error is None


async def test_the_relay_survives_a_malicious_client_and_serves_the_others(relay: Relay) -> None:
    async with Connection(relay.url, FAST) as good:
        feed = Feed()
        feed.attach(request(good, [{"kinds": [1]}]))
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(relay.url) as bad:
                await bad.send_str("}{ not json")
                await bad.send_str('["EVENT", 1, 2, 3]')
                for n in range(1000):
                    await bad.send_str(f'["REQ","s{n}",{{"kinds":[1]}}]')
                answers: list[str] = []
                while len(answers) < 50:
                    msg = await bad.receive(timeout=5)
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    answers.append(msg.data)
                assert any(a.startswith('["NOTICE"') for a in answers)
                async with session.ws_connect(relay.url, max_msg_size=0) as huge:
                    await huge.send_str('["EVENT",{"content":"' + "x" * (2 << 20) + '"}]')
                    closing = await huge.receive(timeout=5)
                    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert (await ok_of(good, make_event(3))).accepted
        await until(lambda: feed.ids == [make_event(3)["id"]])
