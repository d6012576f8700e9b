"""The client side of NIP-01: publish events, subscribe with filters, authenticate.

Plain functions (``publish_event``, ``send_req``, ``send_close``, ``send_auth_response``)
validate with rx_roots and queue one envelope. The reactive forms are cold Observables:

- :func:`publish` sends EVENT on subscribe and emits one :class:`OkResult` (then
  completes), or fails with ``PublishTimeout``; if the socket drops first, the event is
  sent again after the reconnect.
- :func:`request` sends REQ on subscribe and emits events as dicts, each once, well
  formed and (by default) with a verified id and signature, across reconnects (resumed
  by SPEC §4's rule); CLOSE on dispose, or at EOSE when asked.

Calling any of these on a responder connection raises ``RoleError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rx_honeybee.checked import EventChecker
from rx_honeybee.client.publishing import PublishObservable
from rx_honeybee.client.session import AuthHook, OkResult, Session, SessionConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import InvalidState, SubscriptionDuplicate
from rx_honeybee.lean import OnDispose, Sink, lean
from rx_honeybee.roles import Role, require_role
from rx_roots import (
    JsonObject,
    WrongFieldType,
    enclose_auth_response,
    enclose_close,
    enclose_event,
    enclose_req,
)

__all__ = [
    "AuthHook",
    "OkResult",
    "SessionConfig",
    "configure_session",
    "publish",
    "publish_event",
    "request",
    "send_auth_response",
    "send_close",
    "send_req",
    "use_auth",
]

_MAX_SUB_ID = 64
_NOTHING = Disposable()  # what a subscription that ended at once returns


def _initiator(conn: Connection, action: str) -> Connection:
    require_role(conn.role, Role.INITIATOR, action)
    return conn


def _check_sub_id(sub_id: object) -> str:
    if not isinstance(sub_id, str) or not 1 <= len(sub_id) <= _MAX_SUB_ID:
        raise WrongFieldType("subscription id", "string of 1-64 characters", repr(sub_id)[:70])
    return sub_id


def publish_event(conn: Connection, event: JsonObject) -> None:
    """Queue ``["EVENT", event]``; no waiting for the OK (see :func:`publish`)."""
    _initiator(conn, "publish_event").send(enclose_event(event))


def send_req(conn: Connection, sub_id: str, filters: Sequence[JsonObject]) -> None:
    """Queue ``["REQ", sub_id, filter...]`` (not tracked: see :func:`request`)."""
    _initiator(conn, "send_req").send(enclose_req(_check_sub_id(sub_id), filters))


def send_close(conn: Connection, sub_id: str) -> None:
    """Queue ``["CLOSE", sub_id]``."""
    _initiator(conn, "send_close").send(enclose_close(_check_sub_id(sub_id)))


def send_auth_response(conn: Connection, event: JsonObject) -> None:
    """Queue ``["AUTH", event]``, a signed kind-22242 event (NIP-42)."""
    _initiator(conn, "send_auth_response").send(enclose_auth_response(event))


def use_auth(conn: Connection, hook: AuthHook) -> None:
    """Answer ``auth-required:`` on ``conn`` with ``hook(challenge, relay_url)`` (NIP-42).

    Shorthand for ``Session(conn, auth=hook)``: the hook returns a signed kind-22242 event
    (or an awaitable of one); the refused REQ or EVENT is retried once after it.

    Raises:
        InvalidState: ``conn`` has a session already with other settings (call this first).
    """
    _initiator(conn, "use_auth")
    if conn.session is None:
        Session(conn, auth=hook)
    elif conn.session.auth is not hook:
        raise InvalidState(f"{conn.url} has a session already: make it with Session(auth=...)")


def configure_session(conn: Connection, config: SessionConfig) -> None:
    """Set how ``conn`` resumes subscriptions and retries refusals: ``Session(conn, config)``.

    Raises:
        InvalidState: ``conn`` has a session already with another config (call this first).
    """
    _initiator(conn, "configure_session")
    if conn.session is None:
        Session(conn, config)
    elif conn.session.config != config:
        raise InvalidState(f"{conn.url} has a session already: make it with Session(config)")


def publish(
    conn: Connection, event: Mapping[str, Any], *, timeout: float = 10.0
) -> Observable[OkResult]:
    """Publish ``event`` on subscribe; emit the relay's :class:`OkResult`, then complete.

    ::

        publish(conn, ev):  ---------r|        r = OkResult(id, accepted, message, prefix)
        no OK in time:      ------------#      PublishTimeout

    ``OK false`` is a result, not an error (look at ``accepted`` and ``prefix``), except
    ``auth-required:`` (retried once after the AUTH hook) and ``rate-limited:`` (retried
    later, slowing down). Concurrent publishes of one event share one EVENT and one OK.
    A malformed event fails at once with ``rx_roots.InvalidEvent`` (nothing is sent); a
    refused envelope (``QueueFull``, ``EnvelopeTooLarge``, ``InvalidState``) fails at once
    and leaves nothing behind, so publishing the same event again later sends it.

    Raises:
        RoleError: ``conn`` is a responder (at call time).
    """
    _initiator(conn, "publish")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0, got {timeout}")
    return PublishObservable(conn, event, timeout)


def request(
    conn: Connection,
    filters: Sequence[Mapping[str, Any]],
    *,
    sub_id: str | None = None,
    close_on_eose: bool = False,
    verify: bool | EventChecker = True,
) -> Observable[dict[str, Any]]:
    """Subscribe with ``filters`` on subscribe; emit each matching event (a dict) once.

    ::

        request(conn, [{"kinds": [1]}]):  -e-e-E-e-e--    (E: EOSE, not emitted)
        close_on_eose=True:               -e-e-|
        relay answers CLOSED:             -e-#            SubscriptionClosed(reason, prefix)

    Live across reconnects: after each one the REQ is sent again (before its EOSE: the same
    filters; after it: without ``limit``, from the moment the socket was lost minus an
    overlap) and repeats are dropped by id. Disposing sends CLOSE. The stream completes
    when the connection is closed.

    Every event delivered has NIP-01's shape and, unless ``verify`` is False (a relay you
    trust), a right id and BIP-340 signature; any other is dropped and reported on
    ``conn.errors`` as ``InvalidEvent`` with the relay's url (and counted in
    ``conn.metrics.events_rejected``). ``verify`` may also be an ``EventChecker`` shared
    with other requests (a Pool's), so that an event seen on several relays is verified
    once; by default each connection's session has one.

    Raises:
        RoleError: ``conn`` is a responder (at call time).
        WrongFieldType: ``sub_id`` is not 1-64 characters.
    """
    _initiator(conn, "request")
    if sub_id is not None:
        _check_sub_id(sub_id)
    wanted = [dict(f) for f in filters]

    def subscribe(observer: Sink, scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        session = Session.of(conn)
        subscriptions = session.subscriptions
        checker = verify if isinstance(verify, EventChecker) else session.checker(verify)
        sid = sub_id if sub_id is not None else subscriptions.new_id()
        if sid in subscriptions.live:
            observer.on_error(SubscriptionDuplicate(f"subscription {sid} is already active"))
            return _NOTHING
        try:
            dispose = subscriptions.start(
                sid,
                wanted,
                observer.on_next,
                observer.on_error,
                observer.on_completed,
                close_on_eose,
                checker,
            )
        except Exception as exc:
            observer.on_error(exc)
            return _NOTHING
        return OnDispose(dispose)

    return lean(subscribe)
