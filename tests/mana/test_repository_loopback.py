"""Loopback: 20 subscriptions on a relay that holds 5 per client, none lost, none refused.

``rx_honeybee.testing.Relay(max_subscriptions=5)`` answers the sixth concurrent REQ with
``CLOSED "rate-limited: too many subscriptions (max 5)"``. With the default registry (and
no ``rate-limited:`` retries, which only delay the failure) 15 of 20 subscriptions fail;
with a :class:`SubscriptionRepository` (the limit set, or learned from those answers) the
extra REQs wait and go out as others close: every subscription gets its event and the
application never sees a CLOSED."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee import Connection, ConnectionFailed, Session, SessionConfig, SubscriptionClosed
from rx_honeybee.initiator import request
from rx_honeybee.testing import FAST, Relay, until
from rx_mana.repository import SubscriptionRepository, learn_limit_from_relay
from rx_roots import get_label
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(40)]

COUNT = 20
LIMIT = 5
WAIT = 10.0  # seconds, at most, for what the relay answers


class Outcome:
    """What the application got, per subscription."""

    def __init__(self) -> None:
        self.events: dict[str, list[str]] = {}
        self.errors: list[Exception] = []
        self.completed: list[str] = []

    def subscribe(self, conn: Connection, n: int, close_on_eose: bool) -> Any:
        sub_id = f"s{n}"
        self.events[sub_id] = []
        return request(
            conn, [{"kinds": [1000 + n]}], sub_id=sub_id, close_on_eose=close_on_eose
        ).subscribe(
            lambda e: self.events[sub_id].append(e["id"]),
            self.errors.append,
            lambda: self.completed.append(sub_id),
        )


def stored(relay: Relay) -> list[str]:
    ids = []
    for n in range(COUNT):
        event = make_event(n, seed="repository", kind=1000 + n)
        relay.publish(event)
        ids.append(event["id"])
    return ids


def closed_answers(conn: Connection) -> list[str]:
    got: list[str] = []
    conn.messages.subscribe(lambda env: got.append(env) if get_label(env) == "CLOSED" else None)
    return got


async def test_without_the_repository_the_relay_refuses_fifteen() -> None:
    async with Relay(max_subscriptions=LIMIT) as relay, Connection(relay.url, FAST) as conn:
        stored(relay)
        Session(conn, SessionConfig(max_retries=0))  # no rate-limited retries: fail at once
        answers = closed_answers(conn)
        out = Outcome()
        for n in range(COUNT):
            out.subscribe(conn, n, close_on_eose=True)
        await until(lambda: len(out.completed) + len(out.errors) == COUNT, WAIT)
        assert len(out.errors) == len(answers) == COUNT - LIMIT
        assert all(isinstance(e, SubscriptionClosed) for e in out.errors)


async def test_a_configured_limit_sends_them_all_as_others_close_none_refused() -> None:
    async with Relay(max_subscriptions=LIMIT) as relay, Connection(relay.url, FAST) as conn:
        ids = stored(relay)
        repo = SubscriptionRepository(max_subscriptions=LIMIT)
        Session(conn, registry=repo)
        answers = closed_answers(conn)
        out = Outcome()
        for n in range(COUNT):
            out.subscribe(conn, n, close_on_eose=True)
        assert repo.stats().waiting == COUNT - LIMIT
        await until(lambda: len(out.completed) + len(out.errors) == COUNT, WAIT)
        assert out.errors == [] and answers == []  # the relay refused none
        assert out.events == {f"s{n}": [ids[n]] for n in range(COUNT)}
        assert repo.stats().delayed == COUNT - LIMIT and repo.stats().tracked == 0


async def test_a_learned_limit_holds_the_rest_back_until_subscriptions_close() -> None:
    async with Relay(max_subscriptions=LIMIT) as relay, Connection(relay.url, FAST) as conn:
        ids = stored(relay)
        repo = SubscriptionRepository()
        Session(conn, registry=repo)
        answers = closed_answers(conn)
        out = Outcome()
        subs = {f"s{n}": out.subscribe(conn, n, close_on_eose=False) for n in range(COUNT)}
        await until(lambda: repo.stats().refusals_taken == COUNT - LIMIT, WAIT)
        assert repo.max_subscriptions == LIMIT and len(answers) == COUNT - LIMIT
        # the application closes each live subscription once it has its event
        while subs:
            await until(lambda: any(out.events[sub_id] for sub_id in subs), WAIT)
            for sub_id in [sub_id for sub_id in subs if out.events[sub_id]]:
                subs.pop(sub_id).dispose()
        assert out.errors == []  # the refusals never reached the application
        assert out.events == {f"s{n}": [ids[n]] for n in range(COUNT)}
        assert len(answers) == COUNT - LIMIT  # and none came after the limit was learned


async def test_a_limit_learned_from_nip11_sends_them_all_none_refused() -> None:
    async with Relay(max_subscriptions=LIMIT) as relay, Connection(relay.url, FAST) as conn:
        ids = stored(relay)
        repo = SubscriptionRepository()
        assert await learn_limit_from_relay(repo, relay.url) == LIMIT  # its NIP-11 document
        assert repo.max_subscriptions == LIMIT
        Session(conn, registry=repo)
        answers = closed_answers(conn)
        out = Outcome()
        for n in range(COUNT):
            out.subscribe(conn, n, close_on_eose=True)
        await until(lambda: len(out.completed) + len(out.errors) == COUNT, WAIT)
        assert out.errors == [] and answers == []
        assert out.events == {f"s{n}": [ids[n]] for n in range(COUNT)}


async def test_nip11_without_a_limit_or_unreachable() -> None:
    repo = SubscriptionRepository()
    async with Relay(info={"name": "no limits said"}) as relay:
        assert await learn_limit_from_relay(repo, relay.url) is None
        assert repo.max_subscriptions is None
        url = relay.url
    with pytest.raises(ConnectionFailed) as failed:
        await learn_limit_from_relay(repo, url)  # the relay is gone
    assert failed.value.category == "nip-11"
