"""`rxnostr req --stats / --metrics-port`: statistics through the rxnostr.statistics plugin."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import signal
import subprocess
import time
import urllib.request
from typing import Any

import pytest

from tests.cli.test_cli import RXNOSTR, free_port, make_event, relay_url, run
from tests.mana.test_prometheus import parse, value

__all__ = ["relay_url"]  # the fixture, shared with test_cli

pytestmark = pytest.mark.timeout(60)

cli = importlib.import_module("rx_honeybee.cli.main")  # the module, not main()


def reports(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_stats_prints_a_json_report_per_relay_on_exit(relay_url: str) -> None:
    lines = "".join(json.dumps(make_event(n)) + "\n" for n in range(2))
    assert run("publish", "--relay", relay_url, stdin=lines).returncode == 0
    done = run("req", "--relay", relay_url, "-k", "1", "--stats", "--timeout", "10")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    (report,) = reports(done.stderr)
    assert report["url"] == relay_url
    by_label = report["messages"]["by_label"]
    assert (by_label["REQ"], by_label["EVENT"], by_label["EOSE"]) == (1, 2, 1)
    # the REQ, and the CLOSE the EOSE asked for once a socket took it
    assert report["messages"]["sent"] == 1 + by_label.get("CLOSE", 0)
    assert report["bytes"]["received"] > 0 and report["reconnections"] == 0
    assert 0 < report["quality"]["score"] <= 1


def test_metrics_port_serves_text_a_parser_accepts_while_streaming(relay_url: str) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONDEVMODE": "0"}
    args = ["req", "--relay", relay_url, "--stream", "--stats", "--metrics-port", str(port)]
    proc = subprocess.Popen(
        [*RXNOSTR, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 15
        text = ""
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
                    content_type = r.headers["Content-Type"]
                    text = r.read().decode()
                if 'rxnostr_messages_by_label_total{relay="' in text and "EOSE" in text:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no metrics with an EOSE: {text!r}"
            time.sleep(0.1)
        assert content_type.startswith("text/plain; version=0.0.4")
        types, samples = parse(text)
        assert types["rxnostr_messages_total"] == "counter"
        sent = value(samples, "rxnostr_messages_total", relay=relay_url, direction="sent")
        assert sent == 1
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
        assert proc.returncode == 0, stderr
        assert f"metrics on http://127.0.0.1:{port}/metrics" in stderr
        assert [r["url"] for r in reports(stderr)] == [relay_url]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_without_the_plugin_the_flags_say_so_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def none(**_: Any) -> list[Any]:
        return []

    monkeypatch.setattr(importlib.metadata, "entry_points", none)
    assert cli.plugged_statistics() is None
    for flags in (["--stats"], ["--metrics-port", "9"]):
        assert cli.main(["req", "--relay", "ws://127.0.0.1:9", *flags]) == 2
        assert "statistics plugin" in capsys.readouterr().err


def test_an_impossible_metrics_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["req", "--relay", "ws://127.0.0.1:9", "--metrics-port", "70000"]) == 2
    assert "not a TCP port" in capsys.readouterr().err


def test_the_installed_plugin_is_rx_mana_s_pool_statistics() -> None:
    plugin = cli.plugged_statistics()
    assert type(plugin).__module__ == "rx_mana.prometheus"


def test_a_taken_metrics_port_is_a_usage_error(relay_url: str) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("req", "--relay", relay_url, "--metrics-port", str(port), "--timeout", "5")
    assert done.returncode == 2, done.stderr
    assert f"--metrics-port {port}" in done.stderr
