"""What the interop tests share: signed events, free ports, OKs as awaitables, processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from reactivex import Observable

from rx_honeybee import Connection
from rx_honeybee.initiator import publish
from rx_honeybee.verify import sign_event


def secret_key(name: str) -> str:
    """A fixed secp256k1 secret key (hex) per name."""
    return hashlib.sha256(f"rxnostr interop {name}".encode()).hexdigest()


def signed(n: int, key: str, *, kind: int = 1, content: str | None = None) -> dict[str, Any]:
    """Event ``n`` of ``key``, really signed (BIP-340), stamped around now: relays that
    refuse old or future events take it."""
    template = {
        "created_at": int(time.time()) - 60 + n,
        "kind": kind,
        "tags": [["t", "rxnostr-interop"]],
        "content": content if content is not None else f'interop note {n} ☕ "/\\',
    }
    return sign_event(template, key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settle(future: asyncio.Future[Any], value: Any) -> None:
    """Resolve ``future`` with ``value`` unless it is resolved already."""
    if not future.done():
        future.set_result(value)


async def first(source: Observable[Any], timeout: float) -> Any:
    """The first item of ``source`` or the error it ends with (returned, not raised)."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    disposable = source.subscribe(
        lambda value: settle(answer, value),
        lambda error: settle(answer, error),
        lambda: settle(answer, StopAsyncIteration()),
    )
    try:
        return await asyncio.wait_for(answer, timeout)
    finally:
        disposable.dispose()


async def ok_of(conn: Connection, event: dict[str, Any], timeout: float = 5.0) -> Any:
    """The OkResult of one publish, or the error it failed with."""
    return await first(publish(conn, event, timeout=timeout), timeout + 5)


async def collect(source: Observable[Any], timeout: float) -> list[Any]:
    """Every item of a finite ``source``; raises what it fails with."""
    items: list[Any] = []
    done: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
    disposable = source.subscribe(
        items.append, lambda error: settle(done, error), lambda: settle(done, None)
    )
    try:
        error = await asyncio.wait_for(done, timeout)
    finally:
        disposable.dispose()
    if error is not None:
        raise error
    return items


def child_env() -> dict[str, str]:
    """The environment for a child process: development mode off (it is noisy and slow)."""
    env = dict(os.environ)
    env.pop("PYTHONDEVMODE", None)
    return env


def wait_for_port(port: int, proc: subprocess.Popen[Any], timeout: float, log: Path) -> None:
    """Block until 127.0.0.1:``port`` accepts; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"not listening after {timeout}s:\n{tail(log)}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
