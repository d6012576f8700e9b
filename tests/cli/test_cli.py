"""The rxnostr command through subprocesses: relay + publish + req, exit codes, --help."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import make_event as signed_event

pytestmark = pytest.mark.timeout(60)

RXNOSTR = [sys.executable, "-m", "rx_honeybee"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDEVMODE": "0"}
    return subprocess.run(
        [*RXNOSTR, *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env
    )


def make_event(n: int, kind: int = 1) -> dict[str, Any]:
    return signed_event(n, seed="cli", kind=kind, content=f"cli note {n} ✓")


@contextmanager
def running_relay(*options: str) -> Iterator[str]:
    """``rxnostr relay --no-verify *options`` on a free port; its URL once it listens."""
    port = free_port()
    proc = subprocess.Popen(
        [*RXNOSTR, "relay", "--port", str(port), "--no-verify", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "relay did not start"
                time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.kill()  # no clean shutdown: what a relay answered OK to must be on disk
        try:
            proc.wait(timeout=10)
        finally:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def relay_url() -> Iterator[str]:
    with running_relay() as url:
        yield url


def test_publish_then_req_round_trip(relay_url: str) -> None:
    events = [make_event(n) for n in range(3)] + [make_event(9, kind=7)]
    lines = "".join(json.dumps(e) + "\n" for e in events)
    published = run("publish", "--relay", relay_url, stdin=lines)
    assert published.returncode == 0, published.stderr
    oks = [json.loads(line) for line in published.stdout.splitlines()]
    assert [(o["id"], o["accepted"]) for o in oks] == [(e["id"], True) for e in events]
    assert "4 accepted" in published.stderr

    got = run("req", "--relay", relay_url, "-k", "1")
    assert got.returncode == 0, got.stderr
    printed = [json.loads(line) for line in got.stdout.splitlines()]
    assert sorted(e["id"] for e in printed) == sorted(e["id"] for e in events[:3])
    assert "3 events from 1/1 relays" in got.stderr

    author = events[3]["pubkey"]
    limited = run("req", "--relay", relay_url, "--limit", "1", "-a", author)
    assert [json.loads(line)["id"] for line in limited.stdout.splitlines()] == [events[3]["id"]]


def test_relay_with_db_keeps_events_across_a_killed_process(tmp_path: Path) -> None:
    db = str(tmp_path / "relay.db")
    events = [make_event(n) for n in range(5)]
    with running_relay("--db", db) as url:
        lines = "".join(json.dumps(e) + "\n" for e in events)
        assert run("publish", "--relay", url, stdin=lines).returncode == 0
    with running_relay("--db", db) as url:  # a new process on the same file
        got = run("req", "--relay", url, "-k", "1")
        assert got.returncode == 0, got.stderr
        assert sorted(json.loads(line)["id"] for line in got.stdout.splitlines()) == sorted(
            e["id"] for e in events
        )
    with running_relay() as url:  # without --db: nothing kept
        assert run("req", "--relay", url, "-k", "1").stdout == ""


def test_relay_with_a_db_it_cannot_use_exits_2(tmp_path: Path) -> None:
    got = run("relay", "--port", str(free_port()), "--db", str(tmp_path / "no" / "such.db"))
    assert got.returncode == 2
    assert "rxnostr relay: cannot keep events in" in got.stderr and "Traceback" not in got.stderr


def test_req_drops_and_reports_forged_events_unless_told_not_to_verify(relay_url: str) -> None:
    genuine = make_event(1)
    forged = {**make_event(2), "content": "not what was signed"}  # a relay's forgery
    lines = "".join(json.dumps(e) + "\n" for e in (genuine, forged))
    assert run("publish", "--relay", relay_url, stdin=lines).returncode == 0  # --no-verify relay

    got = run("req", "--relay", relay_url, "-k", "1")
    assert got.returncode == 0, got.stderr  # a forged event is no failed relay
    assert [json.loads(line)["id"] for line in got.stdout.splitlines()] == [genuine["id"]]
    assert "id mismatch" in got.stderr and f"(from {relay_url}" in got.stderr

    trusting = run("req", "--relay", relay_url, "-k", "1", "--no-verify")
    assert len(trusting.stdout.splitlines()) == 2 and "mismatch" not in trusting.stderr


def test_rejected_events_exit_1(relay_url: str) -> None:
    bad = {**make_event(5), "sig": "not hex"}
    published = run("publish", "--relay", relay_url, stdin=json.dumps(bad) + "\n")
    assert published.returncode == 1
    (line,) = [json.loads(x) for x in published.stdout.splitlines()]
    assert line["accepted"] is False and line["prefix"] == "invalid"


def test_unreachable_relay_exits_3() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    got = run("req", "--relay", url, "--timeout", "20")
    assert got.returncode == 3, got.stderr
    assert "no relay reachable" in got.stderr
    published = run("publish", "--relay", url, "--timeout", "1", stdin=json.dumps(make_event(1)))
    assert published.returncode == 3, published.stderr


def test_usage_errors_exit_2() -> None:
    assert run("publish", stdin="{not json\n").returncode == 2
    assert run("publish", stdin='{"no": "id"}\n').returncode == 2
    assert run("req", "--relay", "http://nope").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2


@pytest.mark.parametrize("command", [[], ["relay"], ["req"], ["publish"], ["demo"]])
def test_help(command: list[str]) -> None:
    shown = run(*command, "--help")
    assert shown.returncode == 0
    assert "usage: rxnostr" in shown.stdout


def test_demo_runs_in_seconds_and_loses_and_repeats_nothing() -> None:
    started = time.monotonic()
    shown = run("demo", timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert time.monotonic() - started < 30
    out = shown.stdout
    assert "signatures verified by relay and client" in out
    assert "restarting the relay on the same port" in out
    assert "207 published, 207 accepted, 207 streamed back, 0 repeats, 0 missing" in out
    assert "reconnections              1" in out
    states = [line.split(": ")[-1] for line in out.splitlines() if line.startswith("● ws://")]
    assert states[:3] == ["DISCONNECTED", "CONNECTING", "CONNECTED"]
    assert "BACKOFF" in states and states[-1] == "CLOSED"


def test_req_stream_prints_live_events_until_interrupted(relay_url: str) -> None:
    import signal

    proc = subprocess.Popen(
        [*RXNOSTR, "req", "--relay", relay_url, "--stream", "-k", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # subscribed by now (EOSE of an empty relay)
        event = make_event(42)
        published = run("publish", "--relay", relay_url, stdin=json.dumps(event) + "\n")
        assert published.returncode == 0, published.stderr
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert json.loads(line)["id"] == event["id"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert "1 events from 1/1 relays" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
