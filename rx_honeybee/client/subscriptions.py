"""A session's live subscriptions: REQ, events once each, EOSE, CLOSED, resume.

After every reconnect a live subscription is sent again with ``since`` moved to the newest
event delivered (minus ``resume_overlap``), in the registry's order; events already
delivered are dropped by id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rx_honeybee.client.registry import Registry
from rx_honeybee.client.retry import Pending, Phase, Refusal
from rx_honeybee.errors import SubscriptionClosed
from rx_roots import (
    RootsError,
    classify_reason,
    enclose_close,
    enclose_req,
    find_subscription_event,
)

if TYPE_CHECKING:
    from rx_honeybee.client.session import Session

__all__ = ["Subscription", "Subscriptions"]


class Subscription(Pending):
    """One live subscription: its filters, its observer and what it delivered."""

    __slots__ = (
        "close_on_eose",
        "eosed",
        "filters",
        "newest",
        "on_completed",
        "on_error",
        "on_event",
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
    ) -> None:
        super().__init__()
        self.sub_id = sub_id  # the id on the wire
        self.filters = filters  # as asked for
        self.on_event = on_event  # the observer's three callbacks
        self.on_error = on_error
        self.on_completed = on_completed
        self.close_on_eose = close_on_eose  # complete (and CLOSE) at EOSE
        self.newest: int | None = None  # largest created_at delivered
        self.seen: dict[str, int] = {}  # delivered ids → created_at
        self.eosed = False  # the stored events are done


class Subscriptions:
    """The live subscriptions of one session, by id."""

    __slots__ = ("_next_id", "_tracked", "live", "session")

    def __init__(self, session: Session) -> None:
        self.session = session  # sends, retries, registry
        self.live: dict[str, Subscription] = {}  # live subscriptions by id
        self._next_id = 0  # generated ids
        self._tracked = type(session.registry) is not Registry  # activity worth reporting

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
    ) -> Callable[[], None]:
        """Send REQ ``sub_id`` and route its events; return the function that CLOSEs it."""
        wanted = [dict(f) for f in filters]
        sub = Subscription(sub_id, wanted, on_event, on_error, on_completed, close_on_eose)
        self.live[sub_id] = sub
        self.session.registry.add(sub_id, wanted)
        try:
            self.session.send(enclose_req(sub_id, wanted), sub)
        except Exception:
            self._forget(sub)
            raise

        def dispose() -> None:
            if self.live.get(sub_id) is sub:
                self._forget(sub)
                self.session.send_quietly(enclose_close(sub_id))

        return dispose

    def _forget(self, sub: Subscription) -> None:
        sub.end()
        if self.live.get(sub.sub_id) is sub:
            del self.live[sub.sub_id]
            self.session.registry.remove(sub.sub_id)

    def resume_filters(self, sub: Subscription) -> list[dict[str, Any]]:
        """The filters to send again: ``since`` moved up to what was delivered."""
        if sub.newest is None:
            return sub.filters
        since = sub.newest - self.session.config.resume_overlap
        return [{**f, "since": max(int(f.get("since", 0)), since)} for f in sub.filters]

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
        event_id = event.get("id")
        created = event.get("created_at")
        if type(event_id) is str and type(created) is int:
            seen = sub.seen
            if event_id in seen:
                return
            seen[event_id] = created
            if sub.newest is None or created > sub.newest:
                sub.newest = created
            if len(seen) > self.session.config.seen_cap:
                self._prune(sub)
        if self._tracked:
            self.session.registry.record_activity(sub_id)
        try:
            sub.on_event(event)  # without an id and a time there is nothing to deduplicate by
        except Exception as exc:  # the subscriber's fault: reported, the reader goes on
            self.session.conn.report(exc)

    def _prune(self, sub: Subscription) -> None:
        """Forget delivered ids outside the resume window, then the oldest remembered."""
        assert sub.newest is not None
        cap = self.session.config.seen_cap
        floor = sub.newest - self.session.config.resume_overlap
        kept = {i: t for i, t in sub.seen.items() if t >= floor}
        while len(kept) > cap:
            del kept[next(iter(kept))]
        sub.seen = kept

    def on_eose(self, sub_id: str) -> None:
        sub = self.live.get(sub_id)
        if sub is None:
            return
        sub.eosed = True
        self.session.retry.succeeded()
        if sub.close_on_eose:
            self._forget(sub)
            self.session.send_quietly(enclose_close(sub_id))
            self._call(sub.on_completed)

    def on_closed(self, sub_id: str, message: str) -> None:
        sub = self.live.get(sub_id)
        if sub is None:
            return
        prefix, _ = classify_reason(message)
        session = self.session
        decision = session.retry.refused(sub, prefix, session.can_authenticate())
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
        for sub_id in order:
            sub = live.get(sub_id)
            if sub is not None and sub.stale(generation):
                try:
                    self.resend(sub)
                except Exception as exc:  # the connection ended meanwhile, or its queue is full
                    self.fail(sub, exc)

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
