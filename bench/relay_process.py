"""A relay in its own process for the benchmarks, so the client's CPU is the client's alone.

``start_relay("nostr-sdk" | "embedded", relay_src)`` returns the process and its url;
``stop(proc)`` ends it. The nostr-sdk LocalRelay runs in a child Python process (this
file as a script); ``embedded`` runs ``python -m rx_honeybee relay`` from ``relay_src``.
Children get SIGTERM when the parent dies (Linux prctl), and the nostr-sdk one also exits
when its stdin closes.

Run as a script: ``python bench/relay_process.py PORT [MAX_CONNECTIONS]`` (nostr-sdk).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["die_with_parent", "free_port", "start_relay", "stop"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """``preexec_fn`` of a benchmark's child: SIGTERM when the parent dies (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def serve_sdk(port: int, max_connections: int | None = None) -> None:
    """Child mode: nostr-sdk's LocalRelay on 127.0.0.1:port until stdin closes."""
    import nostr_sdk as ns  # type: ignore[import-untyped]

    async def main() -> None:
        builder = ns.LocalRelayBuilder().addr("127.0.0.1").port(port)
        if max_connections is not None:
            builder = builder.max_connections(max_connections)
        builder = builder.rate_limit(ns.RateLimit(max_reqs=1000, notes_per_minute=100_000_000))
        relay = builder.build()
        await relay.run()
        print(f"nostr-sdk LocalRelay on ws://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.to_thread(sys.stdin.read)  # EOF: the parent is gone or done
        relay.shutdown()

    asyncio.run(main())


def start_relay(
    kind: str, relay_src: Path, *, max_connections: int | None = None
) -> tuple[subprocess.Popen[Any], str]:
    """Start a ``kind`` relay on a free port and wait until it listens."""
    port = free_port()
    env = dict(os.environ)
    env.pop("PYTHONDEVMODE", None)
    if kind == "embedded":
        env["PYTHONPATH"] = str(relay_src)
        cmd = [sys.executable, "-m", "rx_honeybee", "relay", "--port", str(port)]
        cwd = relay_src
    else:
        cmd = [sys.executable, __file__, str(port)]
        if max_connections is not None:
            cmd.append(str(max_connections))
        cwd = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, preexec_fn=die_with_parent
    )
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise SystemExit(
                f"relay exited with {proc.returncode}: {' '.join(cmd)}\n"
                "(if this tree is mid-change, run the relay from a clean export: "
                "git archive HEAD | tar -x -C /tmp/src, then --relay-src /tmp/src)"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                stop(proc)
                raise SystemExit("relay not listening after 20 s") from None
            time.sleep(0.05)
    return proc, f"ws://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a relay started here (closing its stdin first: the nostr-sdk child exits on EOF)."""
    if proc.poll() is None:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


if __name__ == "__main__":
    serve_sdk(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
