"""Item 4 of issue 12: ``rxnostr relay`` verifies unless ``--no-verify``, and NIP-11 says which."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from rx_honeybee.testing import until
from rx_honeybee.transport.relay_info import fetch_relay_info

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


async def _advertised(*flags: str) -> bool:
    port = _free_port()
    cmd = [sys.executable, "-m", "rx_honeybee", "relay", "--port", str(port), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await until(lambda: proc.poll() is not None or _listening(port), 20, interval=0.05)
        assert proc.poll() is None, "rxnostr relay exited"
        doc = await fetch_relay_info(f"ws://127.0.0.1:{port}")
        return bool(doc["limitation"]["verify_signatures"])
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)


async def test_rxnostr_relay_verifies_by_default_and_says_so() -> None:
    assert await _advertised() is True


async def test_no_verify_is_advertised() -> None:
    assert await _advertised("--no-verify") is False
