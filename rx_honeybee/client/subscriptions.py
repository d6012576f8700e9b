"""A session's live subscriptions: REQ, events once each, EOSE, CLOSED, resume.

After every reconnect a live subscription is sent again, in the registry's order (SPEC §4):
one that has not had its EOSE yet asks for its original filters again (the relay replays
what it stores); one that had it asks only for what is new: each filter without ``limit``
and with ``since`` = the local clock when its socket was lost, minus ``resume_overlap``.
Never an event's ``created_at``: a relay or an author can set it to anything (ten years
ahead would silence the subscription). Events already delivered are dropped by id, through
a bounded set with a constant cost per event. A subscription id used before on this
connection only delivers events that match its own filters until its EOSE: events of the
old subscription still in flight are not its events.

A registry that is also an :class:`~rx_honeybee.interfaces.AdmissionControl` decides when
each REQ goes out (a relay's subscription limit, a paced restore) and may take back a
relay's refusal; a CLOSE is queued before the registry hears that a subscription ended, so
a REQ it lets out in its place reaches the relay after the CLOSE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from rx_honeybee.checked import EventChecker
from rx_honeybee.client.registry import Registry
from rx_honeybee.client.retry import Pending, Phase, Refusal
from rx_honeybee.client.seen import SeenIds
from rx_honeybee.errors import SubscriptionClosed
from rx_honeybee.interfaces import AdmissionControl
from rx_honeybee.state import TERMINAL
from rx_roots import (
    ConnectionStatus,
    InvalidEvent,
    RootsError,
    classify_reason,
    enclose_close,
    enclose_req,
    find_subscription_event,
    matches_any,
)

if TYPE_CHECKING:
    from rx_honeybee.client.session import Session

__all__ = ["Subscription", "Subscriptions"]


class Subscription(Pending):
    """One live subscription: its filters, its observer and what it delivered."""

    __slots__ = (
        "caught_up",
        "checker",
        "close_on_eose",
        "filters",
        "guarded",
        "on_completed",
        "on_error",
        "on_event",
        "resume_since",
        "seen",
        "sub_id",
    )

    def __init__(
        self,
        sub_id: str,
        filters: list[dict[str, Any]],
        on_event: Callable[[dict[str, Any]], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
        close_on_eose: bool,
        seen_cap: int,
        checker: EventChecker,
    ) -> None:
        super().__init__()
        self.sub_id = sub_id  # the id on the wire
        self.filters = filters  # as asked for
        self.on_event = on_event  # the observer's three callbacks
        self.on_error = on_error
        self.on_completed = on_completed
        self.close_on_eose = close_on_eose  # complete (and CLOSE) at EOSE
        self.seen = SeenIds(seen_cap)  # delivered ids, to drop repeats
        self.checker = checker  # shape, and by default id and signature, of each event
        self.caught_up = False  # EOSE received on the current socket
        self.resume_since: int | None = None  # ``since`` of a resumed REQ; None: from scratch
        self.guarded = False  # id used before: deliver only matching events until EOSE


class Subscriptions:
    """The live subscriptions of one session, by id."""

    __slots__ = ("_admission", "_ended", "_next_id", "_tracked", "live", "session")

    def __init__(self, session: Session) -> None:
        self.session = session  # sends, retries, registry
        self.live: dict[str, Subscription] = {}  # live subscriptions by id
        self._next_id = 0  # generated ids
        self._tracked = type(session.registry) is not Registry  # activity worth reporting
        self._ended = SeenIds(_RECENT_IDS)  # ids of subscriptions that ended lately
        registry = session.registry
        # decides when each REQ goes out, if the registry does; None: at once
        self._admission = registry if isinstance(registry, AdmissionControl) else None

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        """Call a subscriber's callback; its fault is reported, never raised to the reader."""
        try:
            callback(*args)
        except Exception as exc:
            self.session.conn.report(exc)

    def new_id(self) -> str:
        """A subscription id unique on this connection (and short: ≤ 64 chars)."""
        self._next_id += 1
        return f"rx{self._next_id}"

    def start(
        self,
        sub_id: str,
        filters: Sequence[Mapping[str, Any]],
        on_event: Callable[[dict[str, Any]], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
        close_on_eose: bool,
        checker: EventChecker,
    ) -> Callable[[], None]:
        """Send REQ ``sub_id`` and route its events; return the function that CLOSEs it."""
        wanted = [dict(f) for f in filters]
        cap = self.session.config.seen_cap
        sub = Subscription(
            sub_id, wanted, on_event, on_error, on_completed, close_on_eose, cap, checker
        )
        sub.guarded = sub_id in self._ended  # the old one's events may still be on the way
        self.live[sub_id] = sub
        self.session.registry.add(sub_id, wanted)
        admission = self._admission
        try:
            if admission is None or self.session.conn.status in _ENDING:
                self.session.send(enclose_req(sub_id, wanted), sub)  # refused when ending
            else:
                admission.admit(sub_id, partial(self._send_admitted, sub, None), False)
        except Exception:
            self._forget(sub)
            raise

        def dispose() -> None:
            if self.live.get(sub_id) is sub:
                self.session.send_quietly(enclose_close(sub_id))
                self._forget(sub)

        return dispose

    def _forget(self, sub: Subscription) -> None:
        sub.end()
        if self.live.get(sub.sub_id) is sub:
            del self.live[sub.sub_id]
            self._ended.add(sub.sub_id)
            self.session.registry.remove(sub.sub_id)

    def resume_filters(self, sub: Subscription) -> list[dict[str, Any]]:
        """The filters to send again: the original ones until an EOSE was had; after it,
        only what is new (no ``limit``, ``since`` moved up to the loss)."""
        since = sub.resume_since
        if since is None:
            return sub.filters
        return [_newer(f, since) for f in sub.filters]

    def lost(self, at: float) -> None:
        """The socket went away at ``at`` (local clock, Unix seconds): a subscription that
        had its EOSE on it resumes from there, minus the overlap."""
        for sub in self.live.values():
            self._lost(sub, at)

    def _lost(self, sub: Subscription, at: float) -> None:
        if sub.caught_up:
            sub.caught_up = False
            sub.resume_since = int(at) - self.session.config.resume_overlap

    def resend(self, sub: Subscription) -> None:
        """Send the subscription's REQ again (resumed)."""
        self.session.send(enclose_req(sub.sub_id, self.resume_filters(sub)), sub)

    # -- inbound -------------------------------------------------------------------------

    def on_event(self, envelope: str) -> None:
        """Route one inbound EVENT to its subscription, once (the per-event path)."""
        try:
            sub_id, event = find_subscription_event(envelope)
        except RootsError as err:
            self.session.conn.report(err)
            return
        sub = self.live.get(sub_id)
        if sub is None:
            return
        if sub.guarded and not _matches(sub.filters, event):
            return  # an event of the subscription that had this id before
        event_id = event.get("id")
        if type(event_id) is str and event_id in sub.seen:
            return  # a repeat: dropped before any check (verified when it came first)
        try:
            sub.checker.check(event)
        except InvalidEvent as err:
            self._reject(err)
            return
        sub.seen.add(event["id"])  # a str now: the check passed
        if self._tracked:
            self.session.registry.record_activity(sub_id)
        try:
            sub.on_event(event)
        except Exception as exc:  # the subscriber's fault: reported, the reader goes on
            self.session.conn.report(exc)

    def _reject(self, err: InvalidEvent) -> None:
        """A malformed or forged event: counted, reported with the relay's url, dropped."""
        conn = self.session.conn
        conn.metrics.record_rejected_event()
        error = InvalidEvent(err.reason, url=conn.url)
        error.__cause__ = err.__cause__
        conn.report(error)

    def on_eose(self, sub_id: str) -> None:
        sub = self.live.get(sub_id)
        if sub is None:
            return
        sub.guarded = False  # the relay replaced the old subscription long before this
        sub.caught_up = True
        self.session.retry.succeeded()
        if sub.close_on_eose:
            self.session.send_quietly(enclose_close(sub_id))
            self._forget(sub)
            self._call(sub.on_completed)

    def on_closed(self, sub_id: str, message: str) -> None:
        sub = self.live.get(sub_id)
        if sub is None:
            return
        session = self.session
        admission = self._admission
        if admission is not None and admission.refused(sub_id, message):
            self._lost(sub, session.now())  # asked again later: only what is new by then
            admission.admit(sub_id, partial(self._send_admitted, sub, None), False)
            return
        prefix, _ = classify_reason(message)
        decision = session.retry.refused(sub, prefix, session.can_authenticate())
        if decision is not Refusal.FINAL:  # asked again later: only what is new by then
            self._lost(sub, session.now())
        if decision is Refusal.AUTHENTICATE:
            session.authenticate(lambda: self._resend_after_auth(sub), lambda e: self.fail(sub, e))
        elif decision is Refusal.RETRY_LATER:
            session.retry_later(sub, lambda: self.resend(sub), lambda exc: self.fail(sub, exc))
        else:
            self._forget(sub)
            self._call(sub.on_error, SubscriptionClosed(sub_id, message, prefix))

    def _resend_after_auth(self, sub: Subscription) -> None:
        """The AUTH hook answered: send the REQ again, unless it was disposed meanwhile."""
        if sub.phase is Phase.AUTHENTICATING:
            self.resend(sub)

    # -- the socket's life ---------------------------------------------------------------

    def fail(self, sub: Subscription, error: Exception) -> None:
        """End ``sub`` with ``error``."""
        if sub.phase is not Phase.ENDED:
            self._forget(sub)
            self._call(sub.on_error, error)

    def restore(self, generation: int) -> None:
        """Resend, in the registry's order, what an older socket took and never ended."""
        live = self.live
        order = [i for i in self.session.registry.restore_order() if i in live]
        order += [i for i in live if i not in set(order)]  # never lose one the registry lost
        room = self.session.room
        admission = self._admission
        for sub_id in order:
            sub = live.get(sub_id)
            if sub is None or not sub.stale(generation):
                continue
            if admission is None:
                room.send(partial(self._resend_live, sub), partial(self.fail, sub))
            else:
                admission.admit(sub_id, partial(self._send_admitted, sub, generation), True)

    def _send_admitted(self, sub: Subscription, generation: int | None) -> None:
        """The registry let ``sub``'s REQ out: send it, unless it ended or (``generation``
        set: a restore) was sent again meanwhile; a closing connection ends it elsewhere."""
        if sub.phase is Phase.ENDED or self.session.conn.status in _ENDING:
            return
        if generation is not None and not sub.stale(generation):
            return
        self.session.room.send(partial(self._resend_live, sub), partial(self.fail, sub))

    def _resend_live(self, sub: Subscription) -> None:
        """Resend ``sub`` unless it ended while it waited for room."""
        if sub.phase is not Phase.ENDED:
            self.resend(sub)

    def end_all(self, error: Exception | None) -> None:
        """The connection ended: complete (closed) or fail (gave up) every subscription."""
        for sub in list(self.live.values()):
            if sub.phase is Phase.ENDED:  # disposed meanwhile by an earlier one's callback
                continue
            self._forget(sub)
            if error is None:
                self._call(sub.on_completed)
            else:
                self._call(sub.on_error, error)


_RECENT_IDS = 1024  # ended subscription ids remembered, to guard their reuse
_ENDING = TERMINAL | {ConnectionStatus.CLOSING}  # no REQ goes out any more


def _newer(flt: dict[str, Any], since: int) -> dict[str, Any]:
    """``flt`` without ``limit``, from ``since`` on (or its own later ``since``)."""
    own = flt.get("since", 0)
    newer = {key: value for key, value in flt.items() if key != "limit"}
    newer["since"] = max(own if type(own) is int else 0, since)
    return newer


def _matches(filters: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    try:
        return bool(matches_any(filters, event))
    except (KeyError, TypeError):  # not even shaped like an event: not one of ours
        return False
