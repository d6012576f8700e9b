"""The ``rxnostr`` command: a local relay, subscribe, publish, and the demo.

Events go to stdout as JSON lines; status and counts go to stderr, so pipes stay clean.
Exit codes scripts can rely on:

====  ==========================================================================
0     everything asked for was done
1     partly: a relay refused, timed out or failed while others answered
2     usage error (bad arguments, unreadable input)
3     nothing could be done: no relay reachable
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import signal
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol, TextIO, cast

import ujson

from rx_honeybee.client.pool import Pool
from rx_honeybee.client.session import OkResult
from rx_honeybee.config import ConnectionConfig, ReconnectConfig
from rx_honeybee.interfaces import FanOut
from rx_roots import ConnectionStatus, InvalidEvent, InvalidRelayURL, normalize_relay_url

__all__ = ["EXIT_NOTHING", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_NOTHING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_RELAY = "ws://127.0.0.1:7777"

_CLI_CONFIG = ConnectionConfig(
    connect_timeout=5.0,
    reconnect=ReconnectConfig(initial_delay=0.25, max_delay=2.0, max_attempts=3),
)


def _dumps(value: Any) -> str:
    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _relays(values: Sequence[str] | None) -> list[str]:
    try:
        return list(dict.fromkeys(normalize_relay_url(v) for v in (values or [DEFAULT_RELAY])))
    except InvalidRelayURL as exc:
        raise SystemExit(_usage(str(exc))) from None


def _usage(message: str) -> int:
    _err(f"rxnostr: {message}")
    return EXIT_USAGE


def _watch_statuses(pool: Pool) -> set[str]:
    """Print each relay's status changes on stderr; return the set of relays ever CONNECTED."""
    last: dict[str, ConnectionStatus] = {}
    reached: set[str] = set()

    def show(statuses: dict[str, ConnectionStatus]) -> None:
        for url, status in statuses.items():
            if last.get(url) is not status:
                _err(f"[{url}] {status.name}")
            if status is ConnectionStatus.CONNECTED:
                reached.add(url)
        last.clear()
        last.update(statuses)

    pool.statuses.subscribe(show)
    return reached


# -- req ---------------------------------------------------------------------------------


def _filter(args: argparse.Namespace) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    if args.kind:
        wanted["kinds"] = args.kind
    if args.author:
        wanted["authors"] = args.author
    if args.limit is not None:
        wanted["limit"] = args.limit
    if args.since is not None:
        wanted["since"] = args.since
    return wanted


class StatisticsPlugin(Protocol):
    """What the ``rxnostr.statistics`` entry point builds (rx_mana's ``PoolStatistics``)."""

    def watch(self, url: str, conn: Any) -> None: ...
    def reports(self) -> list[dict[str, Any]]: ...
    def exposition(self) -> str: ...
    def dispose(self) -> None: ...


def plugged_statistics() -> StatisticsPlugin | None:
    """Per-relay statistics from an installed plugin (rx_mana's), or None.

    rx_honeybee never imports rx_mana: the distribution registers
    ``rx_mana.prometheus:PoolStatistics`` under the ``rxnostr.statistics`` entry point group.
    """
    for entry in importlib.metadata.entry_points(group="rxnostr.statistics"):
        return cast(StatisticsPlugin, entry.load()())
    return None


async def _statistics(
    args: argparse.Namespace, pool: Pool, stack: AsyncExitStack
) -> StatisticsPlugin | None:
    """Watch every relay and serve ``/metrics`` when asked; the report is printed on exit."""
    if not args.stats and args.metrics_port is None:
        return None
    monitor = plugged_statistics()
    if monitor is None:
        return None
    for url in pool.relays:
        monitor.watch(url, pool.connection(url))

    def finish() -> None:
        monitor.dispose()
        if args.stats:
            for report in monitor.reports():
                _err(_dumps(report))

    stack.callback(finish)
    if args.metrics_port is not None:
        from rx_honeybee.transport.metrics_http import MetricsServer

        server = MetricsServer(monitor.exposition, port=args.metrics_port)
        await server.start()
        stack.push_async_callback(server.close)
        _err(f"rxnostr: metrics on http://{server.host}:{server.port}/metrics")
    return monitor


async def _req(args: argparse.Namespace, out: TextIO) -> int:
    relays = _relays(args.relay)
    if (args.stats or args.metrics_port is not None) and plugged_statistics() is None:
        return _usage("--stats and --metrics-port need the statistics plugin (rx_mana)")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        return _usage(f"--metrics-port {args.metrics_port}: not a TCP port (0..65535)")
    count = 0
    failed: set[str] = set()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    async with Pool(relays, _CLI_CONFIG) as pool, AsyncExitStack() as stack:
        try:
            await _statistics(args, pool, stack)
        except OSError as exc:
            return _usage(f"--metrics-port {args.metrics_port}: {exc}")
        reached = _watch_statuses(pool)

        def on_fault(fault: tuple[str, Exception]) -> None:
            if not isinstance(fault[1], InvalidEvent):  # a forged event is dropped, not fatal
                failed.add(fault[0])
            _err(f"[{fault[0]}] {fault[1]}")

        pool.errors.subscribe(on_fault)

        def on_event(item: tuple[str, dict[str, Any]]) -> None:
            nonlocal count
            count += 1
            out.write(_dumps(item[1]) + "\n")
            out.flush()

        def finished(_: object = None) -> None:
            if not done.done():
                done.set_result(None)

        pool.subscribe(
            "rxnostr-req", [_filter(args)], close_on_eose=not args.stream, verify=not args.no_verify
        ).subscribe(on_event, finished, finished)
        try:
            if args.stream:
                await _until_interrupted(done)
            else:
                await asyncio.wait_for(asyncio.shield(done), args.timeout)
        except TimeoutError:
            _err(f"rxnostr: no EOSE from every relay within {args.timeout}s")
            failed.update(
                url for url in pool.relays if pool.status(url) is not ConnectionStatus.CONNECTED
            )
            return _finish_req(count, relays, failed, partial=True)
    if not reached:
        _err("rxnostr: no relay reachable")
        return EXIT_NOTHING
    return _finish_req(count, relays, failed, partial=False)


def _finish_req(count: int, relays: list[str], failed: set[str], *, partial: bool) -> int:
    _err(f"rxnostr: {count} events from {len(relays) - len(failed)}/{len(relays)} relays")
    return EXIT_PARTIAL if partial or failed else EXIT_OK


async def _until_interrupted(done: asyncio.Future[None]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        waiter: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


# -- publish -----------------------------------------------------------------------------


async def _publish(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    relays = _relays(args.relay)
    events: list[dict[str, Any]] = []
    for number, text in enumerate(stdin, 1):
        if not text.strip():
            continue
        try:
            event = ujson.loads(text)
        except ValueError as exc:
            return _usage(f"line {number}: not JSON ({exc})")
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            return _usage(f"line {number}: not an event object with an id")
        events.append(event)
    accepted = rejected = local = 0
    async with Pool(relays, _CLI_CONFIG) as pool:
        reached = _watch_statuses(pool)
        answers = [
            _one_ok(pool, url, event, args.timeout) for event in events for url in pool.relays
        ]
        for url, event, result in await asyncio.gather(*answers):
            report: dict[str, Any] = {"relay": url, "id": event["id"]}
            if isinstance(result, OkResult):
                accepted += result.accepted
                rejected += not result.accepted
                report["accepted"] = result.accepted
                report["message"] = result.message
                report["prefix"] = result.prefix
            elif isinstance(result, InvalidEvent):  # refused here, never sent
                rejected += 1
                local += 1
                report.update(accepted=False, message=f"invalid: {result}", prefix="invalid")
            else:
                rejected += 1
                report["accepted"] = False
                report["error"] = str(result)
            out.write(_dumps(report) + "\n")
            out.flush()
    _err(f"rxnostr: {accepted} accepted, {rejected} refused or unanswered")
    if events and not reached and local < len(events) * len(relays):
        return EXIT_NOTHING
    return EXIT_OK if rejected == 0 else EXIT_PARTIAL


async def _one_ok(
    pool: Pool, url: str, event: dict[str, Any], timeout: float
) -> tuple[str, dict[str, Any], OkResult | Exception]:
    answer: asyncio.Future[OkResult | Exception] = asyncio.get_running_loop().create_future()

    def settle(value: OkResult | Exception) -> None:
        if not answer.done():
            answer.set_result(value)

    pool.publish_to(url, event, timeout=timeout).subscribe(settle, settle)
    return url, event, await answer


# -- relay and demo ----------------------------------------------------------------------


async def _relay(args: argparse.Namespace) -> int:
    from rx_honeybee.checked import EventChecker
    from rx_honeybee.relay import Relay, SqliteStore

    verify = None if args.no_verify else EventChecker().accepts
    fan_out, plugin = plugged_fan_out()
    store = None
    if args.db is not None:
        try:
            store = SqliteStore(args.db)
        except (ValueError, sqlite3.Error) as exc:
            _err(f"rxnostr relay: cannot keep events in {args.db}: {exc}")
            return EXIT_USAGE
    kept = f"in {args.db}" if args.db is not None else "in memory"
    try:
        relay = Relay(args.host, args.port, verify=verify, fan_out=fan_out, store=store)
        async with relay:
            _err(
                f"rxnostr relay: listening on {relay.url} (Ctrl-C to stop; events {kept},"
                f" {len(relay.store)} stored; fan-out: {plugin})"
            )
            never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            await _until_interrupted(never)
    finally:  # also when the port is taken: the file is let go of
        if store is not None:
            store.close()
    _err("rxnostr relay: stopped")
    return EXIT_OK


def plugged_fan_out() -> tuple[FanOut | None, str]:
    """The fan-out an installed plugin offers, and its name (``"each"``: the default).

    rx_honeybee never imports rx_mana; the distribution registers rx_mana's
    ``cached_fan_out`` (each live event encoded and deflated once for all subscribers)
    under the ``rxnostr.fan_out`` entry point group, and the command picks it up here.
    """
    for entry in importlib.metadata.entry_points(group="rxnostr.fan_out"):
        return cast(FanOut, entry.load()()), entry.value
    return None, "each"


async def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from rx_honeybee.cli.demo import run_demo

    try:
        return await run_demo(out, events=args.events)
    except TimeoutError as exc:
        _err(f"rxnostr demo: {exc}")
        return EXIT_PARTIAL


# -- entry point -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="rxnostr",
        description="Reactive Nostr transport: a local relay, subscribe, publish, demo.",
        epilog="exit codes: 0 done, 1 partly, 2 usage, 3 no relay reachable, 130 interrupted",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    relay = commands.add_parser("relay", help="run an in-memory NIP-01 relay")
    relay.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    relay.add_argument("--port", type=int, default=7777, help="port (default 7777)")
    relay.add_argument("--no-verify", action="store_true", help="accept unsigned events")
    relay.add_argument(
        "--db", metavar="PATH", help="keep events in this SQLite file (default: in memory)"
    )

    req = commands.add_parser("req", help="subscribe and print events as JSON lines")
    relay_help = f"relay URL, repeatable (default {DEFAULT_RELAY})"
    req.add_argument("--relay", action="append", help=relay_help)
    req.add_argument("-k", "--kind", type=int, action="append", help="event kind (repeatable)")
    req.add_argument("-a", "--author", action="append", help="author pubkey hex (repeatable)")
    req.add_argument("--limit", type=int, help="at most N stored events per relay")
    req.add_argument("--since", type=int, help="only events at or after this unix time")
    req.add_argument("--stream", action="store_true", help="keep streaming live events")
    req.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for EOSE")
    req.add_argument(
        "--no-verify",
        action="store_true",
        help="trust the relays: skip id and signature checks (shapes are still checked)",
    )
    req.add_argument(
        "--stats", action="store_true", help="print each relay's statistics (JSON) on exit"
    )
    req.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics at http://127.0.0.1:N/metrics while running",
    )

    publish = commands.add_parser("publish", help="publish events (JSON lines on stdin)")
    publish.add_argument(
        "--relay", action="append", help=f"relay URL (repeatable; {DEFAULT_RELAY})"
    )
    publish.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for OK")

    demo = commands.add_parser("demo", help="the tour: embedded relay, pool, restart, metrics")
    demo.add_argument("--events", type=int, default=0, help="publish only the first N events")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "relay":
            return asyncio.run(_relay(args))
        if args.command == "req":
            return asyncio.run(_req(args, sys.stdout))
        if args.command == "publish":
            return asyncio.run(_publish(args, sys.stdin, sys.stdout))
        return asyncio.run(_demo(args, sys.stdout))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover - python -m rx_honeybee.cli
    sys.exit(main())
