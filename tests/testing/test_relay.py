"""The in-memory relay over real loopback sockets, with rx_honeybee Connections as clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from rx_honeybee import Connection, ConnectionConfig, SubscriptionClosed
from rx_honeybee.initiator import OkResult, publish, request, use_auth
from rx_honeybee.testing import Relay
from rx_roots import ConnectionStatus as S
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)

from .helpers import ALICE, BOB, FAST, Peer, fake_verify, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


@asynccontextmanager
async def peer_of(relay: Relay) -> AsyncIterator[Peer]:
    async with Connection(relay.url, FAST) as conn:
        yield Peer(conn)


async def ok_of(conn: Connection, event: dict[str, Any]) -> OkResult:
    answer: asyncio.Future[OkResult] = asyncio.get_running_loop().create_future()
    publish(conn, event, timeout=2.0).subscribe(answer.set_result, answer.set_exception)
    return await answer


async def test_publish_is_answered_ok_and_stored() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        event = make_event()
        result = await ok_of(peer.conn, event)
        assert result == OkResult(event["id"], True, "", "")
        assert relay.events == [event]
        again = await ok_of(peer.conn, dict(event))
        assert again == OkResult(
            event["id"], True, "duplicate: already have this event", "duplicate"
        )
        assert relay.clients == 1 and relay.received_count == 2
        assert relay.received[0].startswith('["EVENT",')


async def test_req_gets_stored_events_newest_first_then_eose() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        old, new = make_event(created_at=1), make_event(created_at=2)
        profile = make_event(kind=0, created_at=3)
        for event in (old, new, profile):
            assert relay.publish(event) == (True, "")
        peer.send("REQ", "s", {"kinds": [1]})
        assert await peer.take(3) == [["EVENT", "s", new], ["EVENT", "s", old], ["EOSE", "s"]]
        peer.send("REQ", "lim", {"kinds": [1], "limit": 1}, {"kinds": [0]})
        assert await peer.take(3) == [
            ["EVENT", "lim", profile],
            ["EVENT", "lim", new],
            ["EOSE", "lim"],
        ]
        peer.send("REQ", "none", {"kinds": [7]})
        assert await peer.one() == ["EOSE", "none"]


async def test_max_limit_clamps_stored_results() -> None:
    async with Relay(max_limit=2) as relay, peer_of(relay) as peer:
        events = [make_event(created_at=t) for t in range(4)]
        for event in events:
            relay.publish(event)
        peer.send("REQ", "s", {})
        got = await peer.take(3)
        assert got == [["EVENT", "s", events[3]], ["EVENT", "s", events[2]], ["EOSE", "s"]]


async def test_a_large_answer_fits_the_default_write_queue() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        for t in range(1500):  # more than ConnectionConfig's default write queue (1000)
            relay.publish(make_event(created_at=t))
        peer.send("REQ", "all", {})
        got = await peer.take(1501)
        assert got[-1] == ["EOSE", "all"] and got[0][2]["created_at"] == 1499
        assert peer.conn.generation == 1


async def test_a_client_that_cannot_keep_up_is_disconnected() -> None:
    async with Relay(config=ConnectionConfig(write_queue_size=5)) as relay:
        # 54 MB in all: more than the kernel buffers hold (Linux may autotune a loopback
        # receive buffer up to tcp_rmem's maximum, 32 MB on the development machine)
        for t in range(60):
            relay.publish(make_event(created_at=t, content=f"{t} " + "x" * 900_000))
        async with peer_of(relay) as peer:
            peer.conn.hold_reading(peer)  # the client stops reading: TCP fills up
            peer.send("REQ", "all", {})
            await asyncio.sleep(0.5)
            peer.conn.release_reading(peer)
            await until(lambda: peer.conn.generation == 2 and peer.conn.status is S.CONNECTED)
            assert len(peer.inbox) < 60 and ["EOSE", "all"] not in peer.inbox


async def test_live_events_after_eose_go_to_matching_subscriptions_once() -> None:
    async with Relay() as relay, peer_of(relay) as alice, peer_of(relay) as bob:
        alice.send("REQ", "both", {"kinds": [1]}, {"authors": [ALICE]})
        alice.send("REQ", "profiles", {"kinds": [0]})
        assert await alice.take(2) == [["EOSE", "both"], ["EOSE", "profiles"]]
        note = make_event(kind=1, pubkey=ALICE)
        assert (await ok_of(bob.conn, note)).accepted
        assert await alice.one() == ["EVENT", "both", note]  # two filters match: sent once
        await alice.quiet()
        profile = make_event(kind=0, pubkey=BOB)
        bob.send("EVENT", profile)
        assert await alice.one() == ["EVENT", "profiles", profile]


async def test_close_ends_a_subscription() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]
        assert relay.subscriptions == ["s"]
        peer.send("CLOSE", "s")
        peer.send("CLOSE", "never-opened")  # ignored
        await until(lambda: relay.subscriptions == [])
        relay.publish(make_event())
        await peer.quiet()


async def test_a_reused_sub_id_replaces_the_subscription() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        peer.send("REQ", "s", {"kinds": [1]})
        peer.send("REQ", "s", {"kinds": [2]})
        assert await peer.take(2) == [["EOSE", "s"], ["EOSE", "s"]]
        assert relay.subscriptions == ["s"]
        relay.publish(make_event(kind=1))
        kind2 = make_event(kind=2)
        relay.publish(kind2)
        assert await peer.one() == ["EVENT", "s", kind2]
        await peer.quiet()


async def test_sub_ids_must_be_1_to_64_characters() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        for sub_id in ("", "x" * 65):
            peer.send("REQ", sub_id, {})
            label, got_id, message = await peer.one()
            assert (label, got_id) == ("CLOSED", sub_id) and message.startswith("invalid: ")
        peer.send("REQ", "x" * 64, {})
        assert await peer.one() == ["EOSE", "x" * 64]


async def test_too_many_subscriptions_are_refused_rate_limited() -> None:
    async with Relay(max_subscriptions=2) as relay, peer_of(relay) as peer:
        peer.send("REQ", "a", {})
        peer.send("REQ", "b", {})
        peer.send("REQ", "c", {})
        peer.send("REQ", "a", {"kinds": [1]})  # replacing at the cap is fine
        got = await peer.take(4)
        assert got[:2] == [["EOSE", "a"], ["EOSE", "b"]]
        assert got[2][:2] == ["CLOSED", "c"] and got[2][2].startswith("rate-limited: ")
        assert got[3] == ["EOSE", "a"]
        assert relay.subscriptions == ["a", "b"]


async def test_too_many_or_bad_filters_are_invalid() -> None:
    async with Relay(max_filters=2) as relay, peer_of(relay) as peer:
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]
        peer.send("REQ", "s", {}, {}, {})  # refusing a reused id ends the old one too
        assert await peer.one() == ["CLOSED", "s", "invalid: too many filters (max 2)"]
        peer.send("REQ", "t", {"kinds": "1"})
        assert await peer.one() == ["CLOSED", "t", "invalid: kinds must be a list of integers"]
        peer.send("REQ", "u")  # no filter at all: nothing stored matches
        assert await peer.one() == ["EOSE", "u"]
        assert relay.subscriptions == ["u"]


async def test_malformed_input_gets_a_notice_and_the_connection_goes_on() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        peer.conn.send("not json")
        peer.conn.send('{"an": "object"}')
        peer.send("COUNT", "c", {})
        peer.send("REQ", 5, {})
        peer.send("REQ", "s", "not a filter")
        peer.send("CLOSE")
        answers = await peer.take(6)  # a REQ with an id but no parsable filter: CLOSED
        assert [n[0] for n in answers] == ["NOTICE"] * 4 + ["CLOSED", "NOTICE"]
        assert [n[-1].split(":")[0] for n in answers] == ["invalid"] * 2 + ["unsupported"] + [
            "invalid"
        ] * 3
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]
        assert peer.conn.status is S.CONNECTED and relay.clients == 1


async def test_malformed_events_are_answered_invalid() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        bad = {**make_event(), "kind": "1"}
        peer.send("EVENT", bad)
        assert await peer.one() == [
            "OK",
            bad["id"],
            False,
            "invalid: wrong field type for event kind: expected integer, got string",
        ]
        peer.send("EVENT", {"content": "no id"})
        label, message = await peer.one()
        assert label == "NOTICE" and message == "invalid: missing field: event id (element 0)"
        peer.send("EVENT", "not an object")
        assert (await peer.one())[0] == "NOTICE"
        assert relay.events == []


async def test_verify_rejects_bad_signatures() -> None:
    calls: list[str] = []

    def verify(event: Any) -> bool:
        calls.append(event["id"])
        if event["content"] == "boom":
            raise RuntimeError("broken verifier")
        return fake_verify(event)

    async with Relay(verify=verify) as relay, peer_of(relay) as peer:
        good = make_event()
        forged = {**make_event(), "content": "changed"}
        boom = make_event(content="boom")
        assert (await ok_of(peer.conn, good)).accepted
        result = await ok_of(peer.conn, forged)
        assert (result.accepted, result.prefix) == (False, "invalid")
        assert not (await ok_of(peer.conn, boom)).accepted
        assert relay.events == [good] and len(calls) == 3
        assert relay.publish(forged) == (False, "invalid: bad event id or signature")
        assert relay.publish({"id": 1})[0] is False


async def test_replaceable_addressable_and_ephemeral_kinds() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        newer = make_event(kind=0, created_at=20)
        older = make_event(kind=0, created_at=10)
        assert (await ok_of(peer.conn, newer)).message == ""
        result = await ok_of(peer.conn, older)
        assert not result.accepted and result.message.startswith("replaced:")
        post1 = make_event(kind=30023, created_at=1, tags=[["d", "post"]])
        post2 = make_event(kind=30023, created_at=2, tags=[["d", "post"]])
        await ok_of(peer.conn, post1)
        await ok_of(peer.conn, post2)
        assert relay.events == [newer, post2]
        peer.inbox.clear()  # the OKs, seen through publish()
        peer.send("REQ", "eph", {"kinds": [20000]})
        assert await peer.one() == ["EOSE", "eph"]
        typing = make_event(kind=20000)
        peer.send("EVENT", typing)
        got = await peer.take(2)
        assert ["OK", typing["id"], True, ""] in got and ["EVENT", "eph", typing] in got
        assert typing not in relay.events


async def test_nip11_document_over_http() -> None:
    async with Relay(max_subscriptions=7, auth=True) as relay, aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{relay.port}/"
        async with http.get(url, headers={"Accept": "application/nostr+json"}) as response:
            assert response.status == 200
            assert response.content_type == "application/nostr+json"
            doc = await response.json(content_type=None)
        assert doc["supported_nips"] == [1, 11, 42] and doc["software"] == "rxnostr"
        assert doc["limitation"]["max_subscriptions"] == 7
        assert doc["limitation"]["auth_required"] is True
        assert doc == relay.info
        async with http.get(url) as response:
            assert response.status == 426  # not asking for the document
    custom = {"name": "mine"}
    async with Relay(info=custom) as relay, aiohttp.ClientSession() as http:
        headers = {"Accept": "application/nostr+json"}
        async with http.get(f"http://127.0.0.1:{relay.port}/", headers=headers) as response:
            assert await response.json(content_type=None) == custom


def auth_event(challenge: str, relay_url: str, **changes: Any) -> dict[str, Any]:
    tags = [["relay", relay_url], ["challenge", challenge]]
    fields: dict[str, Any] = {"kind": 22242, "created_at": int(time.time()), "tags": tags}
    fields.update(changes)
    return make_event(**fields)


async def test_nip42_auth_is_required_and_accepted() -> None:
    async with Relay(auth=True, verify=fake_verify) as relay, peer_of(relay) as peer:
        label, challenge = await peer.one()
        assert label == "AUTH" and len(challenge) >= 16
        peer.send("REQ", "s", {})
        label, sub_id, message = await peer.one()
        assert (label, sub_id) == ("CLOSED", "s") and message.startswith("auth-required: ")
        event = make_event()
        peer.send("EVENT", event)
        ok = await peer.one()
        assert ok[:3] == ["OK", event["id"], False] and ok[3].startswith("auth-required: ")
        refused = [
            auth_event("wrong", relay.url),
            auth_event(challenge, "ws://elsewhere:1"),
            auth_event(challenge, "http://not a relay"),
            auth_event(challenge, relay.url, kind=1),
            auth_event(challenge, relay.url, created_at=1),
            {**auth_event(challenge, relay.url), "sig": "0" * 128},
        ]
        for bad in refused:
            peer.send("AUTH", bad)
            answer = await peer.one()
            assert answer[:3] == ["OK", bad["id"], False] and answer[3].startswith("invalid: ")
        malformed = {**auth_event(challenge, relay.url), "tags": "no"}
        peer.send("AUTH", malformed)
        assert (await peer.one())[:3] == ["OK", malformed["id"], False]
        good = auth_event(challenge, f"ws://localhost:{relay.port}/")  # loopback alias
        peer.send("AUTH", good)
        assert await peer.one() == ["OK", good["id"], True, ""]
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]
        assert (await ok_of(peer.conn, event)).accepted


async def test_nip42_with_the_initiator_auth_hook() -> None:
    async with Relay(auth=True) as relay:
        relay.publish(make_event(created_at=5))
        async with Connection(relay.url, FAST) as conn:
            use_auth(conn, lambda challenge, url: auth_event(challenge, url))
            got: list[dict[str, Any]] = []
            errors: list[Exception] = []
            # (the relay's test events carry fake signatures: a trusted relay here)
            request(conn, [{"kinds": [1]}], verify=False).subscribe(got.append, errors.append)
            await until(lambda: len(got) == 1)
            assert errors == [] and got[0]["created_at"] == 5


async def test_without_auth_hook_the_request_fails_auth_required() -> None:
    async with Relay(auth=True) as relay, Connection(relay.url, FAST) as conn:
        errors: list[Exception] = []
        request(conn, [{}]).subscribe(on_error=errors.append)
        await until(lambda: len(errors) == 1)
        assert isinstance(errors[0], SubscriptionClosed)
        assert errors[0].prefix == "auth-required"


async def test_auth_without_a_challenge_is_refused() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        event = auth_event("anything", relay.url)
        peer.send("AUTH", event)
        answer = await peer.one()
        assert answer[:3] == ["OK", event["id"], False]
        peer.send("AUTH", "a string")  # a challenge is the relay's to send
        assert (await peer.one())[0] == "NOTICE"


async def test_restart_keeps_events_and_clients_reconnect_and_resume() -> None:
    relay = Relay()
    async with relay, Connection(relay.url, FAST) as conn:
        port = relay.port
        first = make_event(created_at=int(time.time()))
        assert (await ok_of(conn, first)).accepted
        got: list[dict[str, Any]] = []
        request(conn, [{"kinds": [1]}], verify=False).subscribe(got.append)  # fake signatures
        await until(lambda: got == [first] and relay.subscriptions != [])
        await relay.stop()
        await until(lambda: conn.status is not S.CONNECTED)
        assert relay.clients == 0
        await relay.start()
        assert relay.port == port and relay.events == [first]
        await until(lambda: conn.status is S.CONNECTED and relay.subscriptions != [])
        assert conn.generation == 2
        second = make_event(created_at=int(time.time()) + 1)
        assert (await ok_of(conn, second)).accepted
        await until(lambda: len(got) == 2)
        assert got == [first, second]  # the first one is not delivered again
    assert relay.clients == 0


async def test_constructor_checks_limits() -> None:
    for name in ("max_subscriptions", "max_filters", "max_limit", "max_received"):
        with pytest.raises(ValueError, match=name):
            Relay(**{name: 0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_events"):
        Relay(max_events=0)
