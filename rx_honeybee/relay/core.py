"""An in-memory NIP-01 relay on the responder API: ``rxnostr relay``, the demo, tests.

Built only on :func:`rx_honeybee.serve`, ``server.connections``, each client
``Connection``'s ``messages`` and the :mod:`rx_honeybee.responder` functions. It answers
(https://github.com/nostr-protocol/nips/blob/master/01.md):

- ``REQ``: the stored events matching any filter (newest first, each once, ``limit`` per
  filter clamped to ``max_limit``), then ``EOSE``, then matching live events until
  ``CLOSE``. A reused sub id replaces the old subscription. ``CLOSED`` with a prefix when
  the REQ is refused: ``invalid:`` (sub id not 1-64 characters, too many filters, a bad
  or unparsable filter), ``rate-limited:`` (more than ``max_subscriptions`` on this
  client, or over the client's rate limit), ``auth-required:``. A refused REQ also ends
  an old subscription of that id; a sub id that cannot be echoed (a lone surrogate) gets
  a ``NOTICE`` instead.
- ``EVENT``: ``OK true ""`` when stored (or ephemeral: delivered, not stored); only the
  seven NIP-01 fields are kept and served. ``OK true "duplicate: already have this
  event"``; ``OK false "replaced: have a newer version of this event"`` for a
  replaceable or addressable event older than the stored one (as strfry and
  nostr-rs-relay answer; neither stored nor delivered); ``OK false "invalid: ..."`` for
  a malformed event, one that cannot be encoded (a lone surrogate), one dated more than
  ``max_future`` ahead, one too large to deliver within ``max_message_length``, or one
  ``verify`` rejects (a ``NOTICE`` when not even an id can be read);
  ``OK false "auth-required: ..."``; ``OK false "rate-limited: ..."``.
- ``AUTH`` (NIP-42): a kind-22242 event with the ``challenge`` this client was sent and a
  ``relay`` tag naming this relay, ``created_at`` within 10 minutes, passing ``verify``
  when given: ``OK true`` and the client is authenticated as its pubkey.
- anything else: a ``NOTICE`` (``invalid:`` for what cannot be parsed, ``unsupported:``
  for unknown labels); the connection stays up.

Each client has a token bucket (``limit``); what it refuses is answered as above, and a
client refused ``max_dropped`` times without a quiet second in between is disconnected.

Plain HTTP on the same port with ``Accept: application/nostr+json`` gets the NIP-11
document. :class:`~rx_honeybee.relay.hooks.RelayHooks` are where fault injection
(:mod:`rx_honeybee.testing`) steps in; by default the relay simply follows NIP-01.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from types import TracebackType
from typing import Any, ClassVar, NamedTuple

from reactivex import abc

from rx_honeybee.config import ConnectionConfig, InboundLimit
from rx_honeybee.connection import Connection
from rx_honeybee.interfaces import FanOut, send_each
from rx_honeybee.relay import responder
from rx_honeybee.relay.answers import Answers
from rx_honeybee.relay.auth import auth_problem
from rx_honeybee.relay.backend import Store
from rx_honeybee.relay.canonical import canonical, encodable, sub_id_of
from rx_honeybee.relay.clients import Client
from rx_honeybee.relay.flood import Flood, backstop
from rx_honeybee.relay.gate import EventGate, Verifier
from rx_honeybee.relay.hooks import RelayHooks, Silence
from rx_honeybee.relay.info import MAX_SUB_ID, default_info
from rx_honeybee.relay.refusals import answer_rate_limited
from rx_honeybee.relay.store import DEFAULT_MAX_BYTES, EventStore, Outcome, check_filter_cost
from rx_honeybee.relay.sweeps import idle, over_budget
from rx_honeybee.tasks import Periodic, TaskSet
from rx_honeybee.transport.frames import POLICY_VIOLATION
from rx_honeybee.transport.server import ConnectionLimits, Server, serve
from rx_roots import (
    InvalidEvent,
    InvalidFilter,
    RootsError,
    check_event,
    check_filter,
    enclose_subscription_event,
    find_auth_response,
    find_close,
    find_event,
    find_req,
    get_label,
    is_ephemeral,
    matches_any,
    readable_id,
)

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_MAX_SUBSCRIPTION_BYTES",
    "Relay",
    "Verifier",
]


DEFAULT_LIMIT = InboundLimit(messages_per_sec=1000.0, burst=5000, max_dropped=1000)
"""The relay's inbound token bucket per client unless ``limit=`` says otherwise."""

_OK_MESSAGES = {
    Outcome.STORED: "",
    Outcome.EPHEMERAL: "",
    Outcome.DUPLICATE: "duplicate: already have this event",
    Outcome.SUPERSEDED: "replaced: have a newer version of this event",
}
DEFAULT_MAX_QUEUED = 32 * 1024 * 1024
"""Each client's outgoing budget in bytes unless ``max_queued_bytes=`` says otherwise."""

DEFAULT_MAX_SUBSCRIPTION_BYTES = 1024 * 1024
"""Each client's budget for the REQs behind its open subscriptions, in bytes."""

DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024
"""The bytes queued for all clients together unless ``max_output_bytes=`` says otherwise."""

_SWEEP_INTERVAL = 0.25  # seconds between sweeps for idle clients and the output budget

_MIN_BACKLOG = 1024  # envelopes a client may always send while its REQ is read


class _Delivery(NamedTuple):
    """A client as a fan-out target: a full queue drops it, as every answer does."""

    client: Client

    def send(self, envelope: str, *, priority: int | None = None) -> None:
        self.client.send(Connection.send, envelope)


class Relay:
    """An in-memory NIP-01 relay; ``async with Relay() as relay`` listens on ``relay.url``.

    ``await relay.stop()`` disconnects every client and stops listening;
    ``await relay.start()`` listens again on the same port with the same events (a
    restart, as clients see it).

    Example:
        >>> async with Relay() as relay, Connection(relay.url) as conn:
        ...     publish(conn, event).subscribe(print)

    Args:
        host: interface to listen on.
        port: 0 for a free port (``relay.port`` once started).
        verify: checks an event's id and signature; unchecked when None.
        auth: NIP-42: send a challenge on connect and refuse REQ and EVENT until the
            client has authenticated.
        max_subscriptions: open subscriptions per client.
        max_filters: filters per REQ.
        max_limit: clamp of every filter's ``limit`` (also with no ``limit``).
        max_events: store cap; the oldest events are evicted beyond it.
        max_bytes: store byte budget (encoded events, 256 MiB by default); the oldest
            events are evicted beyond it.
        max_queued_bytes: each client's outgoing budget: bytes queued for it and not yet
            written (32 MiB). The stored answer to one REQ is cut at half of it (newest
            first, then ``EOSE``, as a ``limit`` would); a client whose unread answers
            pass it is disconnected (it is not reading).
        max_subscription_bytes: each client's budget for what its open subscriptions hold,
            counted as the bytes of the REQs that opened them (1 MiB); a REQ beyond it gets
            ``CLOSED "rate-limited: ..."``.
        idle_timeout: seconds a client holding no subscription may stay silent; then its
            socket is closed (code 1000).
        max_output_bytes: the bytes queued for all clients together (256 MiB); past it,
            the clients with the fullest queues are disconnected until the rest fits
            (checked 4 times a second; each queue is capped by ``max_queued_bytes`` anyway).
        store: where events are kept (:class:`~rx_honeybee.relay.backend.Store`): an
            ``EventStore(max_events, max_bytes)`` in memory by default, a ``SqliteStore``
            for ``--db``. The relay closes it on ``__aexit__``.
        limits: connection caps (HTTP 503 with the reason), handshake and stall
            deadlines, log throttling; ``ConnectionLimits()`` by default (256 per IP, 1024
            in all, 10 s, 30 s).
        max_future: seconds an event's ``created_at`` may lie ahead of the relay's clock
            (NIP-11 ``created_at_upper_limit``); later ones are refused, or a flood of
            events dated years ahead would push every honest event out of reach.
        info: the NIP-11 document; :func:`default_info` when None.
        limit: per-client inbound token bucket; :data:`DEFAULT_LIMIT` when None, roomier
            than ``serve()``'s own default so bulk publishing works in development. What
            it refuses is answered (``CLOSED``/``OK false`` ``rate-limited:``); after
            ``max_dropped`` refusals without a quiet second the client is disconnected.
            The socket's own bucket is a roomier backstop (:func:`_backstop`).
        config: each client connection's configuration. By default its write queue
            holds the largest answer to one REQ (``max_filters * max_limit`` events and
            more); a client whose queue fills up (a slow reader) is disconnected.
        fan_out: how a new event is queued on the subscribers that share a sub id
            (rx_mana's ``broadcast`` with a ``PreparedCache``: encoded and compressed
            once); :func:`~rx_honeybee.interfaces.send_each` by default.

    Raises:
        ValueError: a ``max_*`` below 1 (``max_future`` below 0).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verify: Verifier | None = None,
        auth: bool = False,
        max_subscriptions: int = 100,
        max_filters: int = 20,
        max_limit: int = 5000,
        max_events: int = 100_000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_future: float = 900.0,
        info: Mapping[str, Any] | None = None,
        limit: InboundLimit | None = None,
        config: ConnectionConfig | None = None,
        fan_out: FanOut | None = None,
        limits: ConnectionLimits | None = None,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED,
        max_subscription_bytes: int = DEFAULT_MAX_SUBSCRIPTION_BYTES,
        idle_timeout: float = 300.0,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT,
        store: Store | None = None,
    ) -> None:
        for name, value in (
            ("max_subscriptions", max_subscriptions),
            ("max_filters", max_filters),
            ("max_limit", max_limit),
            ("max_subscription_bytes", max_subscription_bytes),
            ("max_output_bytes", max_output_bytes),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not max_future >= 0:
            raise ValueError(f"max_future must be >= 0, got {max_future}")
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be > 0, got {idle_timeout}")
        self.host = host  # interface
        self.auth = auth  # NIP-42 required
        self.max_subscriptions = max_subscriptions  # per client
        self.max_filters = max_filters  # per REQ
        self.max_limit = max_limit  # clamp on limit
        if store is None:
            store = EventStore(max_events, max_bytes)
        self.store: Store = store  # the events; survives restarts
        self.max_subscription_bytes = max_subscription_bytes  # per client
        self.received_count = 0  # envelopes received in all
        self._clients: dict[Connection, Client] = {}  # connected now
        self._tasks = TaskSet()  # socket closes started by drops
        self._listening: abc.DisposableBase | None = None  # on server.connections
        self._fan_out = fan_out if fan_out is not None else send_each  # live event delivery
        if config is None:  # room for the largest answer to one REQ, and then some
            config = ConnectionConfig(write_queue_size=max_filters * max_limit + 1000)
        if config.write_queue_bytes is None:
            config = replace(config, write_queue_bytes=max_queued_bytes)  # checked there
        else:
            max_queued_bytes = config.write_queue_bytes
        self.max_answer_bytes = max_queued_bytes // 2  # one REQ's answer
        if info is None:
            info = default_info(
                max_subscriptions=max_subscriptions,
                max_filters=max_filters,
                max_limit=max_limit,
                max_message_length=config.max_message_size,
                auth_required=auth,
                created_at_upper_limit=int(max_future),
                verifies=verify is not None,
            )
        if limit is None:
            limit = DEFAULT_LIMIT
        self.limit = limit  # per-client bucket on envelopes, answered when over
        self._floods: dict[Connection, Flood] = {}  # each client's bucket
        # envelopes a client may send while its REQ is read: a second of its rate, and more
        self._max_backlog = max(_MIN_BACKLOG, limit.burst + int(limit.messages_per_sec))
        self.max_message_length = config.max_message_size  # largest frame, both ways
        self.gate = EventGate(verify, max_future, self.max_message_length)  # OK false reasons
        self._answers = Answers(max_limit, self.max_answer_bytes, self._resume)  # REQs
        # aiohttp refuses a frame of exactly max_msg_size bytes: one more lets the
        # advertised max_message_length itself through.
        wire_size = config.max_message_size + 1
        queued = max(max_queued_bytes, wire_size)
        wire = replace(config, max_message_size=wire_size, write_queue_bytes=queued)
        self._server: Server = serve(
            host, port, wire, limit=backstop(limit), info=info, limits=limits
        )
        self.hooks = RelayHooks()  # where fault injection steps in; NIP-01 by default
        self.idle_timeout = idle_timeout  # seconds a client holding nothing may be silent
        self.max_output_bytes = max_output_bytes  # bytes queued for all clients together
        self._sweeps = Periodic(min(_SWEEP_INTERVAL, idle_timeout / 4), self._sweep)

    # -- lifetime ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port (0 until first started, then the same one across restarts)."""
        return self._server.port

    @property
    def url(self) -> str:
        """``ws://host:port``, in ``normalize_relay_url`` form."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def info(self) -> dict[str, Any] | None:
        """The NIP-11 document served over HTTP."""
        return self._server.info

    async def start(self) -> None:
        """Listen (again, on the same port after a stop).

        Raises:
            InvalidState: already listening.
            OSError: the port is taken.
        """
        if self._listening is None:
            self._listening = self._server.connections.subscribe(self._on_client)
        await self._server.start()
        self._sweeps.start()

    async def stop(self) -> None:
        """Disconnect every client and stop listening; the events stay. Idempotent."""
        await self._sweeps.stop()
        await self._server.stop()
        await self.store.flush()
        await self._tasks.drain()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if self._listening is not None:
            self._listening.dispose()
            self._listening = None
        self.store.close()

    # -- what tests look at --------------------------------------------------------------

    @property
    def events(self) -> list[dict[str, Any]]:
        """The stored events, newest first."""
        return list(self.store)

    @property
    def clients(self) -> int:
        """How many clients are connected."""
        return len(self._clients)

    @property
    def subscriptions(self) -> list[str]:
        """The open subscription ids of every client, sorted."""
        return sorted(sub_id for c in self._clients.values() for sub_id in c.subs)

    def publish(self, event: Mapping[str, Any]) -> tuple[bool, str]:
        """Take ``event`` as if a client had published it (no auth, no fault scripts).

        It is checked, verified, stored per its kind and delivered to matching live
        subscriptions.

        Returns:
            ``(accepted, message)``, as the ``OK`` a client would get.
        """
        try:
            checked, text = canonical(check_event(dict(event)))
        except InvalidEvent as exc:
            return False, f"invalid: {exc}"
        problem = self.gate.problem(checked, text)
        if problem:
            return False, problem
        return self._written(checked, text, None, self.store.add(checked, text=text))

    # -- clients -------------------------------------------------------------------------

    def _on_client(self, conn: Connection) -> None:
        client = Client(conn, self._drop)
        client.last_seen = time.monotonic()
        self._clients[conn] = client
        self._floods[conn] = Flood(self.limit)
        conn.messages.subscribe(
            lambda env: self._on_message(client, env),
            lambda _: self._leave(client),
            lambda: self._leave(client),
        )
        if not self.hooks.admit(conn):
            self._drop(conn)
        elif self.auth:
            self._send_challenge(conn, secrets.token_hex(16))

    def _leave(self, client: Client) -> None:
        self._clients.pop(client.conn, None)
        self._floods.pop(client.conn, None)
        self.hooks.left(client.conn)

    def _drop(
        self,
        conn: Connection,
        *,
        flush_timeout: float = 0.0,
        code: int | None = None,
        reason: str = "",
    ) -> None:
        """Close a client's socket once (by default now, without flushing what is queued)."""
        client = self._clients.get(conn)
        if client is not None and not client.dropped:
            client.dropped = True
            self._tasks.spawn(conn.close(flush_timeout=flush_timeout, code=code, reason=reason))

    def _sweep(self) -> None:
        """Close idle clients, then cut the fullest queues while all pass their budget."""
        clients = self._clients.values()
        for client in idle(clients, time.monotonic(), self.idle_timeout):
            self._drop(client.conn, flush_timeout=0.2, code=1000, reason="idle")
        for client in over_budget(clients, self.max_output_bytes):
            self._drop(client.conn)

    def _send_challenge(self, conn: Connection, challenge: str) -> None:
        client = self._clients.get(conn)
        if client is not None:
            client.challenge = challenge
            client.send(responder.send_auth_challenge, challenge)

    # -- envelopes -----------------------------------------------------------------------

    def _replay(self, conn: Connection, env: str) -> None:
        client = self._clients.get(conn)
        if client is not None:
            self._on_message(client, env)

    def _on_message(self, client: Client, env: str) -> None:
        if client.dropped:
            return
        backlog = client.backlog
        if backlog is not None:  # its REQ's stored events are being read: keep the order
            if len(backlog) >= self._max_backlog:
                self._cut_off(client)
            else:
                backlog.append(env)
            return
        if self.hooks.hold(client.conn, env):
            return
        self.received_count += 1
        client.last_seen = time.monotonic()
        if self.hooks.arrived(client.conn, env):
            self._drop(client.conn)
            return
        try:
            label = get_label(env)
        except RootsError as exc:
            client.notice(f"invalid: {exc}")
            return
        if label != "CLOSE" and not self._floods[client.conn].take():  # CLOSE only frees
            self._refuse(client, label, env)
            return
        handler = self._handlers.get(label)
        if handler is None:
            client.notice(f"unsupported: {label[:40]!r} messages are not supported")
            return
        try:
            handler(self, client, env)
        except RootsError as exc:
            client.notice(f"invalid: {exc}")
        except Exception as exc:  # a bug of ours (or of verify): say so, keep serving
            client.conn.report(exc)
            client.notice(f"error: {type(exc).__name__}: {exc}")

    def _refuse(self, client: Client, label: str, env: str) -> None:
        """Answer an envelope over the client's rate limit; cut off a client that floods."""
        flood = self._floods[client.conn]
        if flood.refused >= self.limit.max_dropped:
            self._cut_off(client)
            return
        answer_rate_limited(client, label, env)

    def _cut_off(self, client: Client) -> None:
        """Disconnect a flooding client with 1008 (policy violation)."""
        client.notice("rate-limited: flooding; disconnecting")
        self._drop(client.conn, flush_timeout=0.2, code=POLICY_VIOLATION, reason="flood")

    def _on_req(self, client: Client, env: str) -> None:
        try:
            sub_id, raw = find_req(env)
        except RootsError as exc:  # bad filters: CLOSED for its id when there is one
            readable = sub_id_of(env)
            if readable is None:
                raise
            client.closed(readable, f"invalid: {exc}")
            return
        if not encodable(sub_id):  # a CLOSED could not name it: say why in a NOTICE
            client.notice("invalid: the subscription id cannot be encoded as JSON text")
            return
        if not 1 <= len(sub_id) <= MAX_SUB_ID:
            client.closed(sub_id, f"invalid: subscription id must be 1-{MAX_SUB_ID} chars")
            return
        scripted = self.hooks.next_req()
        if scripted is not None:
            client.closed(sub_id, scripted)
            return
        if self.auth and not client.pubkeys:
            client.closed(sub_id, "auth-required: authenticate to subscribe")
            return
        if len(raw) > self.max_filters:
            client.closed(sub_id, f"invalid: too many filters (max {self.max_filters})")
            return
        try:
            filters = [check_filter(flt) for flt in raw]
        except InvalidFilter as exc:
            client.closed(sub_id, f"invalid: {exc}")
            return
        problem = check_filter_cost(filters)
        if problem:
            client.closed(sub_id, f"invalid: {problem}")
            return
        if sub_id not in client.subs and len(client.subs) >= self.max_subscriptions:
            limit = self.max_subscriptions
            client.closed(sub_id, f"rate-limited: too many subscriptions (max {limit})")
            return
        size = len(env)
        held = client.sub_bytes - client.subsize(sub_id)
        if held + size > self.max_subscription_bytes:
            budget = self.max_subscription_bytes
            client.closed(sub_id, f"rate-limited: subscriptions over {budget} bytes")
            return
        client.subscribe(sub_id, filters, size)
        self._answers.begin(self.store, client, sub_id, filters)

    def _resume(self, client: Client) -> None:
        """Handle what the client sent while its REQ was read, until the next such REQ."""
        backlog, client.backlog = client.backlog, None
        while backlog:
            self._on_message(client, backlog.popleft())
            if client.backlog is not None:  # another REQ is being read: wait again
                client.backlog.extend(backlog)
                return

    def _on_close(self, client: Client, env: str) -> None:
        client.unsubscribe(find_close(env))

    def _on_event(self, client: Client, env: str) -> None:
        checked = self._checked(client, find_event(env))
        if checked is None:
            return
        event, text = checked
        scripted = self.hooks.next_event()
        if scripted is Silence.SILENT:
            return
        if scripted is not None:
            client.ok(event["id"], *scripted)
            return
        if self.auth and not client.pubkeys:
            client.ok(event["id"], False, "auth-required: authenticate to publish")
            return
        self._accept(event, text, client)

    def _on_auth(self, client: Client, env: str) -> None:
        checked = self._checked(client, find_auth_response(env))
        if checked is None:
            return
        event = checked[0]
        problem = self._auth_problem(client, event)
        if problem:
            client.ok(event["id"], False, f"invalid: {problem}")
            return
        client.pubkeys.add(event["pubkey"])
        client.ok(event["id"], True)

    _handlers: ClassVar[dict[str, Callable[[Relay, Client, str], None]]] = {
        "REQ": _on_req,
        "CLOSE": _on_close,
        "EVENT": _on_event,
        "AUTH": _on_auth,
    }

    # -- events --------------------------------------------------------------------------

    def _checked(self, client: Client, event: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        """The canonical event and its JSON text if well formed; otherwise answer OK false
        (NOTICE without an id)."""
        try:
            return canonical(check_event(event))
        except InvalidEvent as exc:
            event_id = readable_id(event)
            if event_id is None:
                client.notice(f"invalid: {exc}")
            else:
                client.ok(event_id, False, f"invalid: {exc}")
            return None

    def _accept(self, event: dict[str, Any], text: str, sender: Client) -> None:
        """Verify, store and deliver a checked event (``text``: its JSON) from ``sender``,
        answering its OK. The store may write off the loop: the OK and the delivery wait
        for the write."""
        problem = self.gate.problem(event, text)
        if problem:
            sender.ok(event["id"], False, problem)
        elif is_ephemeral(event["kind"]):  # never stored: no write to wait for
            self._written(event, text, sender, Outcome.EPHEMERAL)
        else:
            done = partial(self._written, event, text, sender)
            failed = partial(self._lost, event, sender)
            try:
                self.store.submit(event, done, text=text, failed=failed)
            except Exception as exc:  # (a closed store) the client still gets its OK
                failed(exc)

    def _lost(self, event: dict[str, Any], sender: Client, error: BaseException) -> None:
        """The store could not write ``event`` (a full disk): say so, deliver nothing."""
        if isinstance(error, Exception):
            sender.conn.report(error)
        sender.ok(event["id"], False, f"error: could not store the event ({type(error).__name__})")

    def _written(
        self, event: dict[str, Any], text: str, sender: Client | None, outcome: Outcome
    ) -> tuple[bool, str]:
        """What the store did with ``event``: the OK (to ``sender``), then the delivery."""
        accepted, message = outcome is not Outcome.SUPERSEDED, _OK_MESSAGES[outcome]
        if sender is not None:
            sender.ok(event["id"], accepted, message)
        if accepted and not message:
            self._broadcast(event, text)
        return accepted, message

    def _broadcast(self, event: dict[str, Any], text: str) -> None:
        """Deliver ``event`` (``text``: its JSON) to every matching subscription: one
        envelope per sub id, never an encoding of the event again."""
        targets: dict[str, list[_Delivery]] = {}
        for client in self._clients.values():  # nothing below changes either dict
            if client.dropped:
                continue
            held = client.held
            for sub_id, filters in client.subs.items():
                if matches_any(filters, event):
                    if sub_id in held:  # its stored events are still being read
                        held[sub_id].append((event["id"], text))
                    else:
                        targets.setdefault(sub_id, []).append(_Delivery(client))
        for sub_id, deliveries in targets.items():
            try:  # one subscription's failure must never stop the others' delivery
                envelope = enclose_subscription_event(sub_id, text)
            except RootsError:
                continue
            self._fan_out(deliveries, envelope)

    def _auth_problem(self, client: Client, event: Mapping[str, Any]) -> str:
        """Why a NIP-42 AUTH event is refused, or ``""``."""
        if not self.gate.verified(event):
            return "bad event id or signature"
        return auth_problem(event, challenge=client.challenge, relay_url=self.url, now=time.time())
