"""Soak: scripted faults, thousands of reconnections and an inbound flood; nothing lost.

Three phases, each printing one labelled figure per line, then PASS/FAIL per target
(exit 1 when a target fails):

1. faults (``--faults``, 1,000): the embedded test relay (``rx_honeybee.testing.Relay``,
   in this process, verifying signatures when coincurve is there) and three clients:

   - subscriber A: ``request(conn, filters)`` on a ``Connection``;
   - subscriber B: ``Pool([url]).subscribe(...)``;
   - a publisher: ``--publishers`` tasks on a third ``Connection``, each signing a fresh
     event (``created_at`` = now, fixed secret keys) and awaiting its OK with
     ``publish()``, every ``--pub-interval`` seconds.

   Every connection has a ``Session`` with a NIP-42 hook signing kind-22242 events. The
   faults go round-robin: drop (``drop_after(0)``), stall (alternately short and longer
   than the health check's patience), garbage frames, refuse (HTTP 503 to redials while
   every client is dropped), close code 4000 ("do not reconnect": the relay's end of one
   client's socket, A, B and the publisher in turn), ``CLOSED rate-limited:`` on the next
   REQ (forced out by a drop), auth-required (the relay demands NIP-42 from every new
   client: CLOSED for REQs, OK false for EVENTs) and a restart (``relay.stop()`` then
   ``relay.start()`` on the same port, events kept). After each fault the script waits
   (bounded) until every subscription is live on the relay again and two more publishes
   were acknowledged.

   The client does the rest by itself except after close 4000, which by design ends a
   connection for good: there, like an application, the script makes new connections
   (A re-subscribes from the moment its old subscription stopped being caught up, minus
   60 s, the library's own resume rule; the pool gets the relay removed and added back;
   the publisher retries its failed publishes on the new connection). The script also
   restarts a subscription the library ended with an error (counted and shown: an
   "extra check", not one of the issue's targets).

   Expected = events the relay acknowledged (and stored) matching the filters;
   delivered = distinct ids a subscriber received; duplicated = an id delivered twice by
   one library subscription; re-delivered = an id delivered again by the new subscription
   an application made after close 4000 or an error (deliveries - distinct = both);
   lost = expected - delivered after a bounded wait for stragglers.

2. cycles (``--cycles``, 10,000): a fresh embedded relay, subscriber A (seen_cap 100 and
   a verifying ``EventChecker(cache_size=100)``: the bounded caches are full within the
   warm-up, so what is measured is the cost of a cycle) and an idle pool subscription;
   each cycle drops every client, waits until both are back with their subscriptions,
   publishes one ephemeral event and waits for it. RSS and tracemalloc's heap (traced
   from the interpreter's start) are taken after the warm-up (10 % of the cycles; at
   least 200, at most half) and at the end.

3. flood (``--flood``, 1,000,000): a relay in its own process (this file, raw aiohttp:
   the client's peak is the client's alone) sends N small signed events to one REQ as
   fast as TCP lets it; a fresh client process reads them through ``conn.inbox(["EVENT"],
   max_buffer=--inbox-bound)`` with a slow consumer (sleeps ``--slow-sleep`` every
   ``--slow-every`` events). Prints the peak RSS over the baseline taken just before the
   REQ; then, for contrast (``--no-contrast`` to skip), the same with an unbounded
   ``observe_on``-style buffer (a deque fed by ``channels()["EVENT"]``).

Also printed per phase: RSS and tracemalloc at start and end, asyncio tasks at start and
end, max event-loop lag (a task sleeping 10 ms, measuring the overshoot; the phase-1 and
phase-2 relays run in this loop, so their work counts too).

Run: .venv/bin/python bench/soak.py [--quick] [--faults 1000] [--cycles 10000]
     [--flood 1000000] [--only faults,cycles,flood]

Not a test: never collected by pytest. Private attributes are touched in one place only:
closing the relay's end of a client's socket with code 4000 (no public API does that).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter, deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from relay_process import die_with_parent, free_port, stop

from rx_honeybee import (
    Connection,
    ConnectionConfig,
    HealthConfig,
    InvalidState,
    OkResult,
    Pool,
    ReconnectConfig,
    RelayNotFound,
    Session,
    SessionConfig,
    SubscriptionClosed,
    publish,
    request,
)
from rx_honeybee.checked import EventChecker
from rx_honeybee.initiator import send_req
from rx_honeybee.testing import Relay
from rx_honeybee.verify import sign_event, verifier
from rx_roots import (
    ConnectionStatus,
    RootsError,
    classify_reason,
    find_closed,
    find_eose,
    find_ok,
    find_subscription_event,
)

REPO = Path(__file__).resolve().parent.parent
S = ConnectionStatus
DEAD = (S.CLOSED, S.ERROR)

# Fixed secret keys (hex): authors of the notes, of the AUTH events, of the flood.
AUTHOR_KEYS = [hashlib.sha256(f"soak author {i}".encode()).hexdigest() for i in range(4)]
AUTH_KEY = hashlib.sha256(b"soak auth").hexdigest()
FLOOD_KEY = hashlib.sha256(b"soak flood").hexdigest()

FILTERS = [{"kinds": [1], "#t": ["soak"]}]  # what both phase-1 subscribers ask for
EPHEMERAL_KIND = 20001  # phase 2: delivered, never stored (the relay does not grow)

# Phase 1: redial within 10-100 ms; a frozen peer is noticed within ~0.75 s.
FAULT_CONFIG = ConnectionConfig(
    connect_timeout=2.0,
    write_queue_size=10_000,
    reconnect=ReconnectConfig(
        initial_delay=0.01, max_delay=0.1, jitter=0, max_attempts=0, stable_after=1.0
    ),
    health=HealthConfig(ping_interval=0.3, pong_timeout=0.15, failure_threshold=3),
)
SHORT_STALL = 0.05  # the client does not notice
LONG_STALL = 1.2  # > ping_interval + failure_threshold * pong_timeout: the client redials
SESSION = SessionConfig(rate_limit_delay=0.02, max_rate_limit_delay=0.2)  # default overlap

# Phase 2: redial at once, every time (no backoff growth between the cycles' drops).
CYCLE_CONFIG = ConnectionConfig(
    connect_timeout=2.0,
    reconnect=ReconnectConfig(
        initial_delay=0.001, max_delay=0.002, jitter=0, max_attempts=0, stable_after=0
    ),
    health=HealthConfig(ping_interval=2.0, pong_timeout=1.0),
)
CYCLE_SESSION = SessionConfig(seen_cap=100)  # full (steady) within the warm-up

OK_TIMEOUT = 10.0  # publish(..., timeout=)
RECOVERY_TIMEOUT = 20.0  # per fault
CYCLE_TIMEOUT = 10.0  # per reconnect cycle
STRAGGLERS = 15.0  # bounded wait for the last deliveries
APP_RETRIES = 5  # a publish failed by a closed connection is retried on the next one
FLOOD_AUTHORED = 1000  # distinct signed events the flood relay cycles through


# -- measuring ------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def hwm_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def heap_bytes() -> int:
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def pct(before: float, after: float) -> float:
    return 100.0 * (after - before) / before if before else 0.0


def say(phase: str, label: str, value: object) -> None:
    print(f"[{phase}] {label}: {value}", flush=True)


class LoopLag:
    """A task sleeping ``period`` over and over; the worst overshoot is the loop's lag."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.worst = 0.0
        self.task: asyncio.Task[None] | None = None
        self._skip = False  # the script blocked the loop itself (gc, heap snapshot)
        self.label = ""  # what is going on now (a fault's name): the worst lag per label
        self.by_label: dict[str, float] = {}

    def start(self) -> LoopLag:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(self.period)
            if self._skip:
                self._skip = False
                continue
            late = time.perf_counter() - t0 - self.period
            self.worst = max(self.worst, late)
            if self.label and late > self.by_label.get(self.label, 0.0):
                self.by_label[self.label] = late

    def skip(self) -> None:
        """Do not count the sample running now: the script itself blocks the loop."""
        self._skip = True

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


class PeakRss:
    """A thread sampling RSS every ``period`` seconds (the kernel's VmHWM backs it up)."""

    def __init__(self, period: float = 0.002) -> None:
        self.period = period
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.peak = max(self.peak, rss_bytes())

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_bytes())
        return self.peak


def other_tasks(*mine: asyncio.Task[Any] | None) -> int:
    """asyncio tasks alive now, not counting the caller's and ``mine``."""
    skip = {asyncio.current_task(), *mine}
    return sum(1 for task in asyncio.all_tasks() if task not in skip)


# -- events ---------------------------------------------------------------------------------


def note(n: int, tag: str = "soak", kind: int = 1) -> dict[str, Any]:
    """A signed event, stamped now, by one of the fixed authors."""
    template = {
        "created_at": int(time.time()),
        "kind": kind,
        "tags": [["t", tag]],
        "content": f"{tag} note {n}",
    }
    return sign_event(template, AUTHOR_KEYS[n % len(AUTHOR_KEYS)])


def auth_hook(challenge: str, relay_url: str) -> dict[str, Any]:
    """NIP-42: a signed kind-22242 event naming the challenge and the relay."""
    template = {
        "created_at": int(time.time()),
        "kind": 22242,
        "tags": [["relay", relay_url], ["challenge", challenge]],
        "content": "",
    }
    return sign_event(template, AUTH_KEY)


async def publish_once(conn: Connection, event: dict[str, Any]) -> OkResult | Exception:
    """The OkResult of one ``publish()``, or what it failed with (bounded)."""
    answer: asyncio.Future[OkResult | Exception] = asyncio.get_running_loop().create_future()

    def settle(value: OkResult | Exception) -> None:
        if not answer.done():
            answer.set_result(value)

    call = publish(conn, event, timeout=OK_TIMEOUT).subscribe(settle, settle)
    try:
        return await asyncio.wait_for(answer, OK_TIMEOUT + 5)
    except TimeoutError:
        call.dispose()
        return TimeoutError("publish() neither answered nor timed out")


async def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


# -- what a subscriber got ------------------------------------------------------------------


class Tally:
    """Deliveries of one subscriber, across the library subscriptions it was made of."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.by: dict[str, int] = {}  # event id -> the subscription instance that last sent it
        self.deliveries = 0
        self.duplicated = 0  # the same instance delivered it again: the library's repeat
        self.redelivered = 0  # a later instance (made by the app) delivered it again

    def add(self, instance: int, event_id: str) -> None:
        self.deliveries += 1
        previous = self.by.get(event_id)
        if previous == instance:
            self.duplicated += 1
        elif previous is not None:
            self.redelivered += 1
        self.by[event_id] = instance

    def has(self, ids: set[str]) -> bool:
        return ids.issubset(self.by.keys())


class SubA:
    """One ``request()`` subscription of subscriber A, and whether it is caught up."""

    def __init__(self, app: FaultSoak, k: int, conn: Connection, since: int | None) -> None:
        self.app, self.k, self.conn = app, k, conn
        self.sub_id = f"soak-a{k}"
        self.eosed = False  # had an EOSE on the current socket
        self.caught_until: float | None = None  # lost a caught-up socket at this time
        self.ended: str | None = None  # why it ended, once it did
        self.ended_at = 0.0
        filters = [dict(f) for f in FILTERS]
        if since is not None:
            filters = [{**f, "since": since} for f in filters]
        self.disposable = request(conn, filters, sub_id=self.sub_id).subscribe(
            self.on_event, self.on_error, self.on_completed
        )

    def on_event(self, event: dict[str, Any]) -> None:
        self.app.tally_a.add(self.k, event["id"])

    def on_error(self, error: Exception) -> None:
        prefix = f" {error.prefix}" if isinstance(error, SubscriptionClosed) else ""
        self.end(f"{type(error).__name__}{prefix}")

    def on_completed(self) -> None:
        self.end(f"completed (connection {self.conn.status.name})")

    def end(self, why: str) -> None:
        if self.ended is None:
            self.ended, self.ended_at = why, time.time()
            self.app.ends_a[why] += 1

    def resume_from(self) -> float | None:
        """Where a successor must start: when this one stopped being caught up."""
        if self.eosed:
            return self.ended_at
        return self.caught_until


# -- phase 1: faults ------------------------------------------------------------------------


class FaultSoak:
    KINDS = (
        "drop",
        "stall",
        "garbage",
        "refuse",
        "close 4000",
        "CLOSED rate-limited",
        "auth-required",
        "restart",
    )

    def __init__(self, faults: int, publishers: int, pub_interval: float) -> None:
        self.faults = faults
        self.publishers = publishers
        self.pub_interval = pub_interval
        self.relay = Relay(verify=verifier(), max_events=2_000_000, max_received=1)
        self.url = ""
        self.tally_a = Tally("A")
        self.tally_b = Tally("B")
        self.ends_a: Counter[str] = Counter()  # why A's subscriptions ended
        self.ends_b: Counter[str] = Counter()  # why B's per-relay request ended
        self.errors: Counter[str] = Counter()  # faults reported on the clients' errors
        self.injected: Counter[str] = Counter()
        self.replaced: Counter[str] = Counter()  # connections the app replaced
        self.a_instances = 0
        self.a_resume: float | None = None  # where A's next subscription must start
        self.acked: set[str] = set()  # ids the relay accepted
        self.published = 0
        self.unacked: list[str] = []
        self.refused: Counter[str] = Counter()
        self.pub_failures: Counter[str] = Counter()  # failed attempts, by error
        self.app_retries = 0  # publishes retried by the app on a new connection
        self.retired_reconnections = 0  # of the connections the app replaced
        self.retired_rejected = 0
        self.recovery_timeouts: list[str] = []
        self.stopping = False
        self.b_readd = False  # the pool's request ended with an error: add the relay again
        self.stall_count = 0
        self.closes = 0  # close 4000 faults so far (their target rotates)
        self.hook_calls = 0  # NIP-42 AUTH events signed
        self.event_envelopes = 0  # EVENT envelopes the clients read (repeats included)
        self.refusals: Counter[str] = Counter()  # CLOSED and OK false the clients received

    # -- clients -------------------------------------------------------------------------

    def new_conn(self, url: str, config: ConnectionConfig, *, scheduler: Any = None) -> Connection:
        conn = Connection(url, config, scheduler=scheduler)
        Session(conn, SESSION, auth=self.auth)
        conn.errors.subscribe(lambda e: self.errors.update([type(e).__name__]))
        channels = conn.channels()
        channels["EVENT"].subscribe(self.count_envelope)
        channels["CLOSED"].subscribe(lambda env: self.count_refusal("CLOSED", find_closed, env))
        channels["OK"].subscribe(lambda env: self.count_refusal("OK false", find_ok, env))
        return conn

    def count_envelope(self, _: str) -> None:
        self.event_envelopes += 1

    def auth(self, challenge: str, relay_url: str) -> dict[str, Any]:
        self.hook_calls += 1
        return auth_hook(challenge, relay_url)

    def count_refusal(self, label: str, find: Callable[[str], Any], envelope: str) -> None:
        try:
            fields = find(envelope)  # (sub_id, message) or (event_id, accepted, message)
        except RootsError:
            return
        if len(fields) == 2 or fields[1] is False:
            message = fields[-1]
            self.refusals[f"{label} {classify_reason(message)[0] or message[:30]}"] += 1

    def connect_a(self) -> None:
        conn = self.new_conn(self.url, FAULT_CONFIG)
        self.a_conn = conn

        def on_eose(envelope: str) -> None:
            inst = getattr(self, "a_sub", None)
            try:
                if inst is not None and inst.conn is conn and find_eose(envelope) == inst.sub_id:
                    inst.eosed = True
            except RootsError:
                pass

        def on_state(status: ConnectionStatus) -> None:
            inst = getattr(self, "a_sub", None)
            if inst is not None and inst.conn is conn and status is not S.CONNECTED:
                if inst.eosed:
                    inst.eosed, inst.caught_until = False, time.time()

        conn.channels()["EOSE"].subscribe(on_eose)
        conn.state.subscribe(on_state)
        self.spawn(self.dial(conn))

    def subscribe_a(self) -> None:
        since = None if self.a_resume is None else int(self.a_resume) - SESSION.resume_overlap
        self.a_instances += 1
        self.a_sub = SubA(self, self.a_instances, self.a_conn, since)

    async def dial(self, conn: Connection) -> None:
        try:
            await asyncio.wait_for(conn.connect(), 30)
        except Exception as exc:
            self.errors.update([f"connect: {type(exc).__name__}"])

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def on_pool_error(self, pair: tuple[str, Exception]) -> None:
        error = pair[1]
        self.errors.update([f"pool: {type(error).__name__}"])
        if isinstance(error, SubscriptionClosed):
            self.ends_b[f"SubscriptionClosed {error.prefix}"] += 1
            self.b_readd = True

    def on_b(self, item: tuple[str, dict[str, Any]]) -> None:
        self.tally_b.add(0, item[1]["id"])

    async def heal(self) -> None:
        """What an application does that the library leaves to it (close 4000, errors)."""
        if self.a_conn.status in DEAD:
            old = self.a_conn
            self.a_sub.end(f"completed (connection {old.status.name})")
            self.retire(old)
            await old.close()
            self.replaced["A"] += 1
            self.connect_a()
        if self.a_sub.ended is not None:
            resume = self.a_sub.resume_from()
            if resume is not None:
                self.a_resume = resume
            self.subscribe_a()
        pool_conn = self.pool_conn()
        if pool_conn is None:
            await self.pool.add_relay(self.url)
        elif pool_conn.status in DEAD or self.b_readd:
            if pool_conn.status in DEAD:
                self.ends_b[f"connection {pool_conn.status.name}"] += 1
                self.replaced["B"] += 1
            else:
                self.replaced["B (after an error)"] += 1
            self.b_readd = False
            self.retire(pool_conn)
            await self.pool.remove_relay(self.url)
            await self.pool.add_relay(self.url)
        if self.pub_conn.status in DEAD:
            old = self.pub_conn
            self.retire(old)
            await old.close()
            self.replaced["publisher"] += 1
            self.pub_conn = self.new_conn(self.url, FAULT_CONFIG)
            self.spawn(self.dial(self.pub_conn))

    async def supervise(self) -> None:
        while True:
            try:
                await self.heal()
            except Exception as exc:  # counted, and tried again: the phase must go on
                self.errors.update([f"app heal: {type(exc).__name__}: {exc}"[:80]])
            await asyncio.sleep(0.005)

    def pool_conn(self) -> Connection | None:
        """The pool's connection (None while the app removes and adds the relay again)."""
        try:
            return self.pool.connection(self.url)
        except RelayNotFound:
            return None

    def conns(self) -> list[Connection]:
        pool_conn = self.pool_conn()
        return [c for c in (self.a_conn, pool_conn, self.pub_conn) if c is not None]

    def live(self) -> bool:
        """Every client connected and both subscriptions open on the relay."""
        conns = self.conns()
        if len(conns) < 3 or any(conn.status is not S.CONNECTED for conn in conns):
            return False
        if self.a_sub.ended is not None or self.b_readd:
            return False
        subs = self.relay.subscriptions
        return self.a_sub.sub_id in subs and "soak-b" in subs

    def retire(self, conn: Connection) -> None:
        """Keep the figures of a connection the app replaces."""
        snapshot = conn.metrics.snapshot()
        self.retired_reconnections += int(snapshot["reconnections"])
        self.retired_rejected += int(snapshot.get("events_rejected", 0))

    def rejected(self) -> int:
        """Events the clients' verification dropped (0: every event here is signed)."""
        counts = [c.metrics.snapshot().get("events_rejected", 0) for c in self.conns()]
        return self.retired_rejected + sum(int(n) for n in counts)

    def reconnections(self) -> int:
        current = sum(int(c.metrics.snapshot()["reconnections"]) for c in self.conns())
        return self.retired_reconnections + current

    # -- publishing ----------------------------------------------------------------------

    async def publisher(self, w: int) -> None:
        n = w
        while not self.stopping:
            event = note(n)
            n += self.publishers
            self.published += 1
            await self.publish_until_answered(event)
            await asyncio.sleep(self.pub_interval)

    async def publish_until_answered(self, event: dict[str, Any]) -> None:
        for _ in range(APP_RETRIES):
            conn = self.pub_conn
            result = await publish_once(conn, event)
            if isinstance(result, OkResult):
                if result.accepted:
                    self.acked.add(event["id"])
                    return
                self.refused[result.prefix or result.message[:40]] += 1
                break
            self.pub_failures[type(result).__name__] += 1
            if not (isinstance(result, InvalidState) and conn.status in DEAD):
                break  # a timeout or anything else: the library's to handle, not retried
            self.app_retries += 1  # the connection ended (close 4000): the next one
            await wait_for(lambda c=conn: self.pub_conn is not c, 30)
        self.unacked.append(event["id"])

    # -- faults --------------------------------------------------------------------------

    async def inject(self, kind: str) -> None:
        faults = self.relay.faults
        if kind == "drop":
            faults.drop_after(0)
        elif kind == "stall":
            self.stall_count += 1
            faults.stall()
            await asyncio.sleep(LONG_STALL if self.stall_count % 2 == 0 else SHORT_STALL)
            faults.resume()
        elif kind == "garbage":
            faults.garbage(3)
        elif kind == "refuse":
            faults.refuse(503)
            faults.drop_after(0)
            await asyncio.sleep(0.15)
            faults.accept()
        elif kind == "close 4000":  # one client at a time: A, B, the publisher, A...
            target = ("A", "B", "publisher")[self.closes % 3]
            self.closes += 1
            kind = f"close 4000 ({target})"
            await close_4000(self.relay, target, self.a_sub.sub_id)
        elif kind == "CLOSED rate-limited":
            faults.closed_next_req("rate-limited: soak says slow down")
            faults.drop_after(0)
        elif kind == "auth-required":
            self.relay.auth = True  # every new client: challenge, then CLOSED / OK false
            faults.drop_after(0)
        elif kind == "restart":
            await self.relay.stop()
            await asyncio.sleep(0.05)
            await self.relay.start()
        self.injected[kind] += 1

    async def recover(self, kind: str, i: int) -> None:
        acked = len(self.acked)
        ok = await wait_for(
            lambda: self.live() and len(self.acked) >= acked + 2, RECOVERY_TIMEOUT, 0.005
        )
        self.relay.auth = False
        if not ok:
            state = ", ".join(c.status.name for c in self.conns())
            self.recovery_timeouts.append(
                f"#{i} {kind}: {state}; relay subs {self.relay.subscriptions}; "
                f"A {self.a_sub.sub_id} ended={self.a_sub.ended}"
            )
            self.relay.faults.reset()

    # -- the phase -----------------------------------------------------------------------

    async def run(self) -> dict[str, bool]:
        phase = "faults"
        gc.collect()
        lag = LoopLag().start()
        tasks_start = other_tasks(lag.task)
        rss0, heap0 = rss_bytes(), heap_bytes()
        started = time.perf_counter()
        self.tasks: set[asyncio.Task[Any]] = set()
        await self.relay.start()
        self.url = self.relay.url
        self.connect_a()
        self.subscribe_a()
        self.pool = Pool([self.url], FAULT_CONFIG, connection_factory=self.new_conn)
        await self.pool.__aenter__()
        self.pool.errors.subscribe(self.on_pool_error)
        self.pool.subscribe("soak-b", FILTERS).subscribe(
            self.on_b, lambda e: self.ends_b.update([f"pool sub {type(e).__name__}"])
        )
        self.pub_conn = self.new_conn(self.url, FAULT_CONFIG)
        self.spawn(self.dial(self.pub_conn))
        supervisor = asyncio.get_running_loop().create_task(self.supervise())
        if not await wait_for(self.live, 10):
            raise SystemExit("phase 1: the clients did not come up")
        lag.label = "setup"
        workers = [
            asyncio.get_running_loop().create_task(self.publisher(w))
            for w in range(self.publishers)
        ]
        for i in range(self.faults):
            kind = self.KINDS[i % len(self.KINDS)]
            lag.label = kind
            await self.inject(kind)
            await self.recover(kind, i)
            lag.label = "between faults"
            if (i + 1) % max(1, self.faults // 10) == 0:
                print(
                    f"  ... {i + 1}/{self.faults} faults, {len(self.acked)} acked, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        lag.label = "wind-down (publishers stop, stragglers)"
        self.relay.faults.reset()
        self.stopping = True
        done, pending = await asyncio.wait(workers, timeout=OK_TIMEOUT * APP_RETRIES + 30)
        for task in pending:
            task.cancel()
        expected_ids = self.acked | {
            e["id"] for e in self.relay.events if ["t", "soak"] in e["tags"]
        }
        await wait_for(
            lambda: self.tally_a.has(expected_ids) and self.tally_b.has(expected_ids),
            STRAGGLERS,
            0.05,
        )
        await asyncio.sleep(0.2)  # a repeat, if any, shows up
        elapsed = time.perf_counter() - started
        reconnections = self.reconnections()
        stored = {e["id"] for e in self.relay.events if ["t", "soak"] in e["tags"]}
        lag.skip()
        gc.collect()
        rss1, heap1 = rss_bytes(), heap_bytes()
        # teardown
        supervisor.cancel()
        await asyncio.gather(supervisor, return_exceptions=True)
        self.a_sub.disposable.dispose()
        await self.a_conn.close()
        await self.pub_conn.close()
        await self.pool.close()
        await self.relay.__aexit__(None, None, None)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.sleep(0.1)
        tasks_end = other_tasks(lag.task)
        await lag.stop()

        total = sum(self.injected.values())
        kinds = ", ".join(f"{k} {n}" for k, n in self.injected.items())
        say(phase, "faults injected", f"{total} ({kinds})")
        say(phase, "duration", f"{elapsed:.1f} s")
        say(phase, "events published", self.published)
        say(phase, "publishes acknowledged", len(self.acked))
        say(phase, "publishes lost (never acknowledged)", len(self.unacked))
        say(phase, "publishes refused (OK false)", dict(self.refused) or 0)
        say(phase, "publish attempts failed", dict(self.pub_failures) or 0)
        say(phase, "publishes retried by the app after close 4000", self.app_retries)
        say(phase, "events stored by the relay", len(stored))
        say(phase, "acknowledged but not stored", len(self.acked - stored))
        say(phase, "stored but not acknowledged", len(stored - self.acked))
        say(phase, "events expected", len(expected_ids))
        lost_total = dup_total = 0
        for tally, how in ((self.tally_a, "request()"), (self.tally_b, "Pool.subscribe")):
            got = set(tally.by)
            lost = len(expected_ids - got)
            extra = len(got - expected_ids)
            lost_total += lost
            dup_total += tally.duplicated
            name = f"subscriber {tally.name} ({how})"
            say(phase, f"{name} events delivered (distinct)", len(got & expected_ids))
            say(phase, f"{name} deliveries", tally.deliveries)
            say(phase, f"{name} duplicated (same subscription)", tally.duplicated)
            say(phase, f"{name} re-delivered by an app re-subscription", tally.redelivered)
            say(phase, f"{name} lost", lost)
            say(phase, f"{name} delivered but not expected", extra)
        say(
            phase,
            "EVENT envelopes read by the subscribers' connections (repeats included)",
            self.event_envelopes,
        )
        say(phase, "subscriber A subscriptions made", self.a_instances)
        say(phase, "subscriber A subscriptions ended", dict(self.ends_a) or 0)
        say(phase, "subscriber B per-relay requests ended", dict(self.ends_b) or 0)
        say(phase, "connections replaced by the app", dict(self.replaced) or 0)
        say(phase, "reconnections (library)", reconnections)
        say(phase, "events rejected by verification", self.rejected())
        say(phase, "refusals received (CLOSED, OK false)", dict(self.refusals) or 0)
        say(phase, "NIP-42 AUTH events signed by the hook", self.hook_calls)
        say(phase, "recovery timeouts", len(self.recovery_timeouts))
        for line in self.recovery_timeouts[:10]:
            say(phase, "  timeout", line)
        say(phase, "errors reported", dict(self.errors.most_common(12)))
        say(phase, "RSS start / end", f"{mib(rss0)} / {mib(rss1)}")
        say(phase, "tracemalloc start / end", f"{mib(heap0)} / {mib(heap1)}")
        say(phase, "asyncio tasks start / end", f"{tasks_start} / {tasks_end}")
        say(phase, "max event-loop lag", f"{lag.worst * 1000:.1f} ms")
        worst = sorted(lag.by_label.items(), key=lambda item: -item[1])
        say(phase, "max lag by fault", ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in worst))
        library_ends = sum(n for why, n in self.ends_a.items() if "Subscription" in why) + sum(
            n for why, n in self.ends_b.items() if "Subscription" in why
        )
        return {
            "faults: 0 events lost": lost_total == 0,
            "faults: 0 events duplicated": dup_total == 0,
            "faults: 0 unacknowledged publishes": not self.unacked,
            "(extra) faults: no subscription ended by a retryable refusal": library_ends == 0,
            "(extra) faults: no recovery timed out": not self.recovery_timeouts,
            "(extra) faults: asyncio tasks back to the start": tasks_end <= tasks_start,
        }


async def close_4000(relay: Relay, target: str, a_sub_id: str) -> None:
    """Close the relay's end of one client's socket with code 4000 ("do not reconnect").

    ``target``: "A" (the client holding ``a_sub_id``), "B" (the pool's: "soak-b") or
    "publisher" (the one holding no subscription). Injected once every subscription is
    live, so this tells them apart. No public API closes a responder connection with a
    code: this reaches for the relay's clients and the aiohttp websocket behind each
    client connection's link (private attributes).
    """
    closes = []
    for conn, client in list(relay._clients.items()):
        subs = client.subs
        if target == "A":
            chosen = a_sub_id in subs
        elif target == "B":
            chosen = "soak-b" in subs
        else:
            chosen = not subs
        ws = getattr(getattr(conn, "_link", None), "_ws", None)
        if chosen and ws is not None and not ws.closed:
            closes.append(asyncio.wait_for(ws.close(code=4000, message=b"soak: go away"), 2))
    await asyncio.gather(*closes, return_exceptions=True)


# -- phase 2: reconnect cycles --------------------------------------------------------------


async def cycles_phase(cycles: int, heap_sites: bool) -> dict[str, bool]:
    phase = "cycles"
    gc.collect()
    lag = LoopLag().start()
    tasks_start = other_tasks(lag.task)
    rss0, heap0 = rss_bytes(), heap_bytes()
    started = time.perf_counter()
    relay = Relay(verify=verifier(), max_received=1)
    await relay.start()
    conn = Connection(relay.url, CYCLE_CONFIG)
    Session(conn, CYCLE_SESSION)
    errors: Counter[str] = Counter()
    conn.errors.subscribe(lambda e: errors.update([type(e).__name__]))
    # Bounded bookkeeping (this phase measures memory): the id awaited this cycle, how many
    # times it came, and anything else that came (an older event again: a repeat).
    tally = {"awaited": "", "count": 0, "distinct": 0, "repeats": 0}
    ended: list[str] = []

    def got(event: dict[str, Any]) -> None:
        if event["id"] != tally["awaited"]:
            tally["repeats"] += 1
        elif tally["count"]:
            tally["count"] += 1
            tally["repeats"] += 1
        else:
            tally["count"] = 1
            tally["distinct"] += 1

    # Verified as by default, with the id->signature cache as small as the seen-ids cap so
    # that it too is full (steady) within the warm-up: its default 16,384 entries (~5 MiB,
    # bounded) would still be filling after 10,000 cycles and read as growth.
    checker = EventChecker(cache_size=CYCLE_SESSION.seen_cap)
    live = request(conn, [{"kinds": [EPHEMERAL_KIND]}], sub_id="cyc", verify=checker)
    feed = live.subscribe(got, lambda e: ended.append(repr(e)), lambda: ended.append("completed"))
    pool = Pool([relay.url], CYCLE_CONFIG)
    await pool.__aenter__()
    pool.errors.subscribe(lambda pair: errors.update([f"pool: {type(pair[1]).__name__}"]))
    idle = pool.subscribe("idle", [{"kinds": [1], "#t": ["nothing-ever"]}]).subscribe()
    pool_conn = pool.connection(relay.url)
    await asyncio.wait_for(conn.connect(), 10)
    # Warm-up: 10 % of the cycles, and at least long enough to fill the seen-ids cap twice.
    warm_at = max(1, min(cycles // 2, max(cycles // 10, 2 * CYCLE_SESSION.seen_cap)))
    warm: tuple[int, int] | None = None
    snapshot: tracemalloc.Snapshot | None = None
    published = acked = stuck = done = 0
    lost_cycles: list[int] = []

    def back(gen_a: int, gen_b: int) -> bool:
        return (
            conn.generation > gen_a
            and pool_conn.generation > gen_b
            and conn.status is S.CONNECTED
            and pool_conn.status is S.CONNECTED
            and relay.clients == 2
            and relay.subscriptions == ["cyc", "idle"]
        )

    for cycle in range(1, cycles + 1):
        gen_a, gen_b = conn.generation, pool_conn.generation
        relay.faults.drop_after(0)
        if not await wait_for(partial(back, gen_a, gen_b), CYCLE_TIMEOUT, 0.001):
            stuck += 1
            say(phase, f"cycle {cycle} stuck", f"{conn.status.name} {relay.subscriptions}")
            if stuck >= 3:
                break
            continue
        done += 1
        event = note(cycle, "soak-cycle", EPHEMERAL_KIND)
        tally["awaited"], tally["count"] = event["id"], 0
        published += 1
        result = await publish_once(conn, event)
        if isinstance(result, OkResult) and result.accepted:
            acked += 1
            if not await wait_for(lambda: tally["count"] > 0, 5, 0.001):
                lost_cycles.append(cycle)
        if cycle == warm_at:
            lag.skip()
            gc.collect()
            warm = (rss_bytes(), heap_bytes())
            if heap_sites and tracemalloc.is_tracing():
                snapshot = tracemalloc.take_snapshot()
        if cycle % max(1, cycles // 10) == 0:
            print(
                f"  ... {cycle}/{cycles} cycles, {time.perf_counter() - started:.0f} s, "
                f"RSS {mib(rss_bytes())}, heap {mib(heap_bytes())}",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    lag.skip()
    gc.collect()
    rss1, heap1 = rss_bytes(), heap_bytes()
    growth: list[str] = []
    if snapshot is not None:
        later = tracemalloc.take_snapshot()
        for stat in later.compare_to(snapshot, "lineno")[:6]:
            growth.append(f"{stat.size_diff / 1024:+.1f} KiB {stat.traceback[0]}")
    reconnections = int(conn.metrics.snapshot()["reconnections"])
    pool_reconnections = int(pool_conn.metrics.snapshot()["reconnections"])
    feed.dispose()
    idle.dispose()
    await conn.close()
    await pool.close()
    await relay.__aexit__(None, None, None)
    await asyncio.sleep(0.1)
    tasks_end = other_tasks(lag.task)
    await lag.stop()

    say(phase, "reconnect cycles", f"{done} (stuck: {stuck})")
    say(phase, "duration", f"{elapsed:.1f} s ({elapsed / max(1, done) * 1000:.1f} ms per cycle)")
    say(phase, "reconnections (request() / pool)", f"{reconnections} / {pool_reconnections}")
    say(phase, "ephemeral events published / acknowledged", f"{published} / {acked}")
    say(phase, "events delivered (distinct)", tally["distinct"])
    duplicated = tally["repeats"]
    say(phase, "events duplicated", duplicated)
    say(phase, "events lost", len(lost_cycles))
    say(phase, "subscription ended", ended or "no")
    say(
        phase,
        "events verified / cache hits / rejected",
        f"{checker.checked} / {checker.cache_hits} / {checker.rejected}",
    )
    say(phase, "errors reported", dict(errors.most_common(8)))
    say(phase, "RSS start / end", f"{mib(rss0)} / {mib(rss1)}")
    say(phase, "tracemalloc start / end", f"{mib(heap0)} / {mib(heap1)}")
    flat = False
    if warm is not None:
        rss_change, heap_change = pct(warm[0], rss1), pct(warm[1], heap1)
        say(phase, f"RSS after warm-up ({warm_at} cycles) / end", f"{mib(warm[0])} / {mib(rss1)}")
        say(phase, "RSS change after warm-up", f"{rss_change:+.2f} %")
        after = max(1, done - warm_at)
        say(phase, "RSS growth per cycle after warm-up", f"{(rss1 - warm[0]) / after:+.0f} bytes")
        if tracemalloc.is_tracing():
            say(phase, "tracemalloc after warm-up / end", f"{mib(warm[1])} / {mib(heap1)}")
            say(phase, "tracemalloc change after warm-up", f"{heap_change:+.2f} %")
            say(
                phase,
                "tracemalloc growth per cycle after warm-up",
                f"{(heap1 - warm[1]) / after:+.0f} bytes",
            )
        for line in growth:
            say(phase, "  heap growth since warm-up", line)
        flat = abs(rss_change) <= 5.0 and (not tracemalloc.is_tracing() or abs(heap_change) <= 5.0)
    say(phase, "asyncio tasks start / end", f"{tasks_start} / {tasks_end}")
    say(phase, "max event-loop lag", f"{lag.worst * 1000:.1f} ms")
    return {
        f"cycles: memory flat (±5 % after warm-up) over {done} reconnect cycles": flat
        and stuck == 0,
        "(extra) cycles: 0 lost, 0 duplicated": not lost_cycles and duplicated == 0,
    }


# -- phase 3: flood (relay and client in their own processes) -------------------------------


def serve_flood(port: int, n: int) -> None:
    """Child: a raw aiohttp relay answering each REQ with EOSE then ``n`` EVENTs, paced by TCP."""
    import aiohttp
    from aiohttp import web

    now = int(time.time())
    authored = [
        json.dumps(
            sign_event(
                {"created_at": now, "kind": 1, "tags": [], "content": f"flood {i}"}, FLOOD_KEY
            ),
            separators=(",", ":"),
        )
        for i in range(FLOOD_AUTHORED)
    ]

    async def flood(ws: web.WebSocketResponse, sub_id: str) -> None:
        head = '["EVENT",' + json.dumps(sub_id) + ","
        envelopes = [head + event + "]" for event in authored]
        await ws.send_str(json.dumps(["EOSE", sub_id]))
        k = len(envelopes)
        for i in range(n):
            await ws.send_str(envelopes[i % k])  # waits while the client does not read
        await ws.send_str(json.dumps(["NOTICE", "flood done"]))

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 20)
        await ws.prepare(request)
        senders: list[asyncio.Task[None]] = []
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                message = json.loads(msg.data)
                if message[0] == "REQ":
                    senders.append(asyncio.create_task(flood(ws, message[1])))
        for task in senders:
            task.cancel()
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.to_thread(sys.stdin.read)  # EOF: the parent is gone or done
        await runner.cleanup()

    asyncio.run(main())


async def flood_client(
    url: str, n: int, bound: int, mode: str, slow_every: int, slow_sleep: float, limit: float
) -> dict[str, Any]:
    """Child: read ``n`` EVENTs with a slow consumer; return the figures."""
    conn = Connection(url, ConnectionConfig(reconnect=ReconnectConfig(max_attempts=1)))
    await asyncio.wait_for(conn.connect(), 10)
    lag = LoopLag().start()
    envelope_size = 0
    biggest = 0  # most envelopes waiting at once
    buffer: deque[str] = deque()
    wake = asyncio.Event()
    inbox = None
    if mode == "inbox":
        inbox = conn.inbox(["EVENT"], max_buffer=bound)
    else:  # observe_on-style: every envelope handed over at once to an unbounded queue

        def hand_over(envelope: str) -> None:
            buffer.append(envelope)
            wake.set()

        conn.channels()["EVENT"].subscribe(hand_over)
    gc.collect()
    await asyncio.sleep(0.1)
    baseline = rss_bytes()
    hwm_reset = reset_hwm()
    peak = PeakRss().start()
    started = time.perf_counter()
    send_req(conn, "flood", [{"kinds": [1]}])
    count = 0

    async def consume() -> None:
        nonlocal count, envelope_size, biggest
        if inbox is not None:
            async for envelope in inbox:
                find_subscription_event(envelope)
                count += 1
                if count == 1:
                    envelope_size = len(envelope)
                if count % slow_every == 0:
                    biggest = max(biggest, len(inbox))
                    await asyncio.sleep(slow_sleep)
                if count == n:
                    return
        else:
            while count < n:
                if not buffer:
                    wake.clear()
                    await wake.wait()
                    continue
                envelope = buffer.popleft()
                find_subscription_event(envelope)
                count += 1
                if count == 1:
                    envelope_size = len(envelope)
                if count % slow_every == 0:
                    biggest = max(biggest, len(buffer))
                    await asyncio.sleep(slow_sleep)

    timed_out = False
    try:
        await asyncio.wait_for(consume(), limit)
    except TimeoutError:
        timed_out = True
    elapsed = time.perf_counter() - started
    top = peak.stop()
    if hwm_reset:
        top = max(top, hwm_bytes())
    episodes = inbox.episodes if inbox is not None else 0
    if inbox is not None:
        await inbox.aclose()
    await lag.stop()
    await conn.close()
    return {
        "mode": mode,
        "received": count,
        "timed_out": timed_out,
        "seconds": elapsed,
        "baseline": baseline,
        "peak": top,
        "envelope_size": envelope_size,
        "most_waiting": biggest,
        "episodes": episodes,
        "lag": lag.worst,
        "hwm": hwm_reset,
    }


def run_flood(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    """Start the flood relay and one client child; return the client's figures."""
    env = dict(os.environ)
    env.pop("PYTHONDEVMODE", None)
    port = free_port()
    relay = subprocess.Popen(
        [sys.executable, __file__, "--flood-relay", str(port), "--flood", str(args.flood)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if relay.poll() is not None:
                raise SystemExit(f"flood relay exited with {relay.returncode}")
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("flood relay not listening after 30 s") from None
                time.sleep(0.05)
        limit = max(120.0, args.flood / 4000)
        cmd = [
            sys.executable,
            __file__,
            "--flood-client",
            f"ws://127.0.0.1:{port}/",
            "--flood",
            str(args.flood),
            "--inbox-bound",
            str(args.inbox_bound),
            "--mode",
            mode,
            "--slow-every",
            str(args.slow_every),
            "--slow-sleep",
            str(args.slow_sleep),
        ]
        try:
            out = subprocess.run(
                cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=limit + 60
            )
        except subprocess.TimeoutExpired:
            return {"mode": mode, "error": "client process timed out"}
        if out.returncode != 0:
            return {"mode": mode, "error": out.stderr.strip()[-2000:]}
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result
    finally:
        stop(relay)


def flood_phase(args: argparse.Namespace) -> dict[str, bool]:
    phase = "flood"
    say(phase, "events sent to one subscription", f"{args.flood:,}")
    say(phase, "consumer", f"sleeps {args.slow_sleep * 1000:g} ms every {args.slow_every} events")
    say(phase, "inbox bound (max_buffer)", args.inbox_bound)
    bounded = run_flood(args, "inbox")
    if "error" in bounded:
        say(phase, "inbox run failed", bounded["error"])
        return {"flood: peak RSS bounded by the inbox policy": False}
    over = bounded["peak"] - bounded["baseline"]
    size = bounded["envelope_size"]
    allowance = args.inbox_bound * (size + 64) + (16 << 20)
    say(
        phase,
        "events received",
        f"{bounded['received']:,}" + (" (TIMED OUT)" if bounded["timed_out"] else ""),
    )
    say(
        phase,
        "duration",
        f"{bounded['seconds']:.1f} s ({bounded['received'] / bounded['seconds']:,.0f} events/s)",
    )
    say(phase, "envelope size", f"{size} bytes")
    say(phase, "inbox full episodes (ChannelFull)", bounded["episodes"])
    say(phase, "most envelopes waiting (sampled)", bounded["most_waiting"])
    say(phase, "RSS baseline / peak", f"{mib(bounded['baseline'])} / {mib(bounded['peak'])}")
    say(phase, "peak RSS over baseline", mib(over))
    say(
        phase,
        "allowed by the policy",
        f"{mib(allowance)} (max_buffer x (envelope + 64 B) + 16 MiB for aiohttp, "
        "the allocator and the rx pipeline)",
    )
    say(phase, "max event-loop lag (client)", f"{bounded['lag'] * 1000:.1f} ms")
    if not args.no_contrast:
        unbounded = run_flood(args, "unbounded")
        if "error" in unbounded:
            say(phase, "contrast: unbounded run failed", unbounded["error"])
        else:
            say(
                phase,
                "contrast: unbounded observe_on-style buffer, peak RSS over baseline",
                f"{mib(unbounded['peak'] - unbounded['baseline'])} "
                f"(most waiting {unbounded['most_waiting']:,}, "
                f"{unbounded['received']:,} received in {unbounded['seconds']:.1f} s)",
            )
    return {
        "flood: peak RSS bounded by the inbox policy": over <= allowance
        and bounded["received"] == args.flood
        and not bounded["timed_out"],
    }


# -- main -----------------------------------------------------------------------------------


async def soak(args: argparse.Namespace, phases: set[str]) -> dict[str, bool]:
    results: dict[str, bool] = {}
    if "faults" in phases:
        soak_ = FaultSoak(args.faults, args.publishers, args.pub_interval)
        results |= await soak_.run()
    if "cycles" in phases:
        results |= await cycles_phase(args.cycles, args.heap_sites)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--faults", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument("--flood", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50 faults, 200 cycles, 20k flood")
    parser.add_argument("--only", default="faults,cycles,flood", help="phases to run")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--pub-interval", type=float, default=0.05)
    parser.add_argument("--inbox-bound", type=int, default=1000)
    parser.add_argument("--slow-every", type=int, default=100)
    parser.add_argument("--slow-sleep", type=float, default=0.002)
    parser.add_argument("--no-contrast", action="store_true")
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument(
        "--heap-sites",
        action="store_true",
        help="phase 2: print where the heap grew after warm-up (the snapshots cost RSS)",
    )
    parser.add_argument("--flood-relay", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--flood-client", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="inbox", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood_relay is not None:
        serve_flood(args.flood_relay, args.flood)
        return
    if args.flood_client is not None:
        limit = max(120.0, args.flood / 4000)
        figures = asyncio.run(
            flood_client(
                args.flood_client,
                args.flood,
                args.inbox_bound,
                args.mode,
                args.slow_every,
                args.slow_sleep,
                limit,
            )
        )
        print(json.dumps(figures))
        return
    if args.quick:
        args.faults, args.cycles, args.flood = 50, 200, 20_000
    phases = {p.strip() for p in args.only.split(",") if p.strip()}
    if verifier() is None:
        raise SystemExit("coincurve is needed to sign events: pip install 'rxnostr[verify]'")
    if min(args.faults, args.cycles, args.flood, args.publishers, args.inbox_bound) < 1:
        parser.error("--faults, --cycles, --flood, --publishers and --inbox-bound must be >= 1")
    if not args.no_tracemalloc and phases & {"faults", "cycles"} and not tracemalloc.is_tracing():
        # Trace from the interpreter's start (imports included): the heap's percentages are
        # then of the whole Python heap, not of what was allocated after main() began.
        script = os.path.abspath(sys.argv[0])
        os.execv(sys.executable, [sys.executable, "-X", "tracemalloc", script, *sys.argv[1:]])
    started = time.perf_counter()
    print(
        f"soak: {args.faults} faults, {args.cycles} reconnect cycles, {args.flood:,} flood "
        f"events (phases: {', '.join(p for p in ('faults', 'cycles', 'flood') if p in phases)})",
        flush=True,
    )
    results = asyncio.run(soak(args, phases))
    tracemalloc.stop()
    if "flood" in phases:
        results |= flood_phase(args)
    print(f"total time: {time.perf_counter() - started:.1f} s")
    failed = False
    for target, ok in results.items():
        print(f"{'PASS' if ok else 'FAIL'}  {target}")
        failed |= not ok and not target.startswith("(extra)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
