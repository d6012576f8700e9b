"""rxnostr against nostr-relay 1.14 (PyPI ``nostr-relay``), run as a subprocess: a smoke test.

The relay (falcon + uvicorn + sqlite through SQLAlchemy) starts on a free loopback port
with a temporary config and database, signature checks on. Known quirks of this peer:

- An event it refuses for a reason raised while storing it (bad signature, too old...)
  is answered ``["OK", "", false, "invalid: ..."]``: the event id is EMPTY, so no client
  can match the answer to its publish. It answers after sleeping a throttle that starts
  at 2 s and doubles with each refusal — and the throttle never goes down again for that
  connection: every later message on it waits as long. So the refusal has a socket of its
  own here.
- Errors end up as ``NOTICE`` (never ``CLOSED``): a REQ over ``subscription_limit`` gets
  ``["NOTICE","rejected: too many subscriptions"]``, so a client cannot tell which
  subscription was refused (such a ``request()`` just never ends: give it a timeout).
- A duplicate is ``OK false`` with ``duplicate: exists`` (NIP-01 says ``true``).
- (Not tested here, seen by hand:) it does not check that an event's ``id`` is the hash
  of its content: an event whose signature is good for its real id is stored under any
  claimed id.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rx_honeybee import Connection, PublishTimeout
from rx_honeybee.initiator import OkResult, publish, request
from rx_honeybee.pool import Pool
from rx_roots import ConnectionStatus, find_ok, get_label
from tests.support import FAST, until

from .peers import (
    child_env,
    collect,
    first,
    free_port,
    ok_of,
    secret_key,
    signed,
    stop,
    wait_for_port,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(40)]

START_TIMEOUT = 25.0  # imports + alembic migrations of a fresh sqlite file: ~2-3 s here
THROTTLE = 2.0  # nostr-relay's first sleep after a refusal


def config_yaml(port: int, database: Path) -> str:
    return f"""\
DEBUG: false
relay_name: rxnostr interop
storage:
  sqlalchemy.url: sqlite+aiosqlite:///{database}
  validators:
    - nostr_relay.validators.is_not_too_large
    - nostr_relay.validators.is_signed
    - nostr_relay.validators.is_recent
gunicorn:
  bind: 127.0.0.1:{port}
  workers: 1
  loglevel: warning
authentication:
  enabled: false
message_timeout: 60
subscription_limit: 32
max_limit: 6000
"""


@pytest.fixture(scope="module")
def nostr_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ws:// URL of a running nostr-relay 1.14; terminated (then killed) afterwards."""
    home = tmp_path_factory.mktemp("nostr-relay")
    port = free_port()
    config = home / "config.yaml"
    config.write_text(config_yaml(port, home / "relay.sqlite3"))
    log = home / "relay.log"
    command = [
        sys.executable,
        "-c",
        "import sys; from nostr_relay.cli import main; sys.exit(main())",
        "--config",
        str(config),
        "serve",
        "--use-uvicorn",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=home, env=child_env()
        )
    try:
        wait_for_port(port, proc, START_TIMEOUT, log)
        yield f"ws://127.0.0.1:{port}"
    finally:
        stop(proc)
    assert proc.returncode is not None


async def test_publish_then_read_back(nostr_relay: str) -> None:
    key = secret_key("nostr-relay")
    event = signed(0, key, content='nostr-relay smoke ☕ "quoted" back\\slash /')
    async with Connection(nostr_relay, FAST) as conn:
        accepted = await ok_of(conn, event)
        assert accepted == OkResult(event["id"], True, "", "")

        again = await ok_of(conn, event)
        assert isinstance(again, OkResult)
        assert (again.accepted, again.prefix) == (False, "duplicate")  # "duplicate: exists"

        stored = await collect(request(conn, [{"ids": [event["id"]]}], close_on_eose=True), 5)
        assert len(stored) == 1
        assert {k: stored[0][k] for k in event} == event  # its own key order; same fields

        by_author = await collect(
            request(conn, [{"authors": [event["pubkey"]], "kinds": [1]}], close_on_eose=True),
            5,
        )
        assert [e["id"] for e in by_author] == [event["id"]]
        assert conn.status is ConnectionStatus.CONNECTED

    async with Pool([nostr_relay], FAST) as pool:
        await until(lambda: pool.status(nostr_relay) is ConnectionStatus.CONNECTED)
        items = await collect(
            pool.subscribe("smoke", [{"ids": [event["id"]]}], close_on_eose=True), 5
        )
        assert [(url, e["id"]) for url, e in items] == [(pool.relays[0], event["id"])]


async def test_refusal_with_an_empty_event_id_ends_in_publish_timeout(nostr_relay: str) -> None:
    """What rxnostr does with nostr-relay's unmatchable refusal: the publish times out.

    The relay's answer does arrive (on ``messages``), with ``""`` where the id belongs;
    the session cannot attribute it (several publishes may be in flight), so it reports
    it on ``errors`` as ``UnexpectedOk`` and ``publish()`` fails with ``PublishTimeout``
    once its timeout is over.
    """
    key = secret_key("nostr-relay forged")
    forged = dict(signed(1, key), content="not what was signed")  # id and sig now wrong
    oks: list[tuple[str, bool, str]] = []
    faults: list[Exception] = []
    async with Connection(nostr_relay, FAST) as conn:

        def on_envelope(envelope: str) -> None:
            if get_label(envelope) == "OK":
                oks.append(find_ok(envelope))

        conn.messages.subscribe(on_envelope)
        conn.errors.subscribe(faults.append)
        started = time.monotonic()
        result = await first(
            # Longer than the relay's throttle, so its answer comes first.
            publish(conn, forged, timeout=THROTTLE + 1.5),
            THROTTLE + 6,
        )
        elapsed = time.monotonic() - started
        assert isinstance(result, PublishTimeout), result
        assert elapsed >= THROTTLE + 1.5 - 0.05
        assert oks == [("", False, "invalid: Bad signature")]
        assert [type(f).__name__ for f in faults] == ["UnexpectedOk"]  # seen, not swallowed
        assert "invalid: Bad signature" in str(faults[0])
