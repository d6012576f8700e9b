"""A JavaScript client no one here wrote — nostr-tools under Node — against ``rxnostr relay``.

``js/client.mjs`` (nostr-tools + ws, versions pinned in ``js/package-lock.json``) connects
to ``rxnostr relay --port P --no-verify`` started as a subprocess, publishes events signed
by nostr-tools' ``finalizeEvent``, reads them back until EOSE, and waits for one more
event to arrive live; it prints JSON lines this test asserts on. Both directions of
signing are checked across implementations: nostr-tools verifies (noble-curves) the event
rxnostr signed (coincurve) before the run, and rxnostr verifies the events nostr-tools
signed when it reads them back with ``request()``.

Node and the npm packages are requirements, not options: without them this test FAILS
(``./scripts/bootstrap`` runs ``npm ci --prefix tests/interop/js``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rx_honeybee import Connection
from rx_honeybee.initiator import OkResult, request
from rx_honeybee.verify import verify_event
from tests.support import FAST

from .peers import (
    child_env,
    collect,
    free_port,
    ok_of,
    secret_key,
    signed,
    stop,
    wait_for_port,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(40)]

JS = Path(__file__).parent / "js"
CLIENT = JS / "client.mjs"


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not installed: the nostr-tools interop test needs Node.js >= 20.19")
    for package in ("nostr-tools", "ws"):
        if not (JS / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"{package} is not installed in {JS}: run ./scripts/bootstrap "
                "(or npm ci --prefix tests/interop/js)"
            )
    return path


@pytest.fixture
def rxnostr_relay(tmp_path: Path) -> Iterator[str]:
    """``rxnostr relay --no-verify`` on a free loopback port, in its own process."""
    port = free_port()
    log = tmp_path / "relay.log"
    command = [sys.executable, "-m", "rx_honeybee", "relay", "--port", str(port), "--no-verify"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=child_env())
    try:
        wait_for_port(port, proc, 15, log)
        yield f"ws://127.0.0.1:{port}"
    finally:
        stop(proc)


async def run_client(node_path: str, url: str, *ids: str) -> list[dict[str, Any]]:
    """Run client.mjs to its end (in a thread: our connection's pings go on meanwhile)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [node_path, str(CLIENT), url, *ids],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=JS,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert lines and lines[-1] == {"type": "done"}, lines
    return lines


async def test_nostr_tools_publishes_and_reads_back_through_rxnostr_relay(
    rxnostr_relay: str,
) -> None:
    node_path = node()
    ours = signed(0, secret_key("for nostr-tools"), content="signed by rxnostr (coincurve) ✓")
    async with Connection(rxnostr_relay, FAST) as conn:
        assert await ok_of(conn, ours) == OkResult(ours["id"], True, "", "")

        lines = await run_client(node_path, rxnostr_relay, ours["id"])
        by_type: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            by_type.setdefault(line["type"], []).append(line)
        assert "error" not in by_type and "invalid" not in by_type, lines
        assert "notice" not in by_type, lines
        pubkey = by_type["hello"][0]["pubkey"]

        oks = {(ok["step"], ok["id"]): ok for ok in by_type["ok"]}
        published = [ok["id"] for ok in by_type["ok"] if ok["step"] == "publish"]
        assert len(published) == 3
        assert all(oks["publish", i]["accepted"] for i in published)
        assert oks["publish", published[0]]["reason"] == ""
        duplicate = oks["duplicate", published[0]]  # NIP-01: accepted, "duplicate:" prefix
        assert duplicate["accepted"] is True
        assert duplicate["reason"].startswith("duplicate:")

        # Read back until EOSE: its three events (newest first) and ours, each once, and
        # every one passed nostr-tools' own filter match and signature check.
        stored = [line["event"] for line in by_type["event"]]
        assert sorted(e["id"] for e in stored) == sorted([*published, ours["id"]])
        theirs = [e for e in stored if e["pubkey"] == pubkey]
        assert [e["id"] for e in theirs] == published[::-1]
        assert next(e for e in stored if e["id"] == ours["id"]) == ours
        assert theirs[0]["content"].startswith('note 2 from nostr-tools: "quoted" \\ back/')
        assert "\n" in theirs[0]["content"] and "🎉" in theirs[0]["content"]
        assert [line["type"] for line in lines].index("eose") > max(
            i for i, line in enumerate(lines) if line["type"] == "event"
        )

        # After EOSE: published, then delivered live on the still-open subscription.
        [live] = by_type["live"]
        assert oks["live", live["id"]]["accepted"] is True

        # rxnostr reads what nostr-tools wrote: byte-for-byte the same events, and their
        # signatures verify with coincurve.
        back = await collect(request(conn, [{"authors": [pubkey]}], close_on_eose=True), 5)
        assert sorted(e["id"] for e in back) == sorted([*published, live["id"]])
        assert all(verify_event(e) for e in back)
        assert {e["id"]: e for e in back if e["id"] in published} == {e["id"]: e for e in theirs}
