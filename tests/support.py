"""What the loopback tests share: a fast configuration, a bounded wait, shaped events."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

from rx_honeybee import ConnectionConfig, HealthConfig, ReconnectConfig

FAST = ConnectionConfig(
    connect_timeout=1.0,
    reconnect=ReconnectConfig(initial_delay=0.02, max_delay=0.05, jitter=0, max_attempts=0),
    health=HealthConfig(ping_interval=0.5, pong_timeout=0.25),
)
"""Reconnect within tens of milliseconds, forever; notice a silent peer within a second."""


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` every 5 ms; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def make_event(n: int, *, seed: str = "event", kind: int = 1, **fields: Any) -> dict[str, Any]:
    """Event number ``n``: well-formed (64-hex id, 128-hex sig) but not really signed."""
    return {
        "id": hashlib.sha256(f"{seed} {n}".encode()).hexdigest(),
        "pubkey": hashlib.sha256(seed.encode()).hexdigest(),
        "created_at": 1_700_000_000 + n,
        "kind": kind,
        "tags": [],
        "content": f"{seed} note {n} ☕",
        "sig": "cd" * 64,
        **fields,
    }
