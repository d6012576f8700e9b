"""``limit_connection``: a rate-limited sender in front of one ``Connection``.

It paces what the application sends by category and halves that connection's event and
subscription rates when its relay answers ``rate-limited:`` (OK, CLOSED or NOTICE): the
sender slows down before the relay has to cut it off (SPEC §5 item 8).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from itertools import count

from reactivex import Observable, abc

from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, InvalidState
from rx_honeybee.hot import HotStream
from rx_mana.categories import (
    EVENT,
    SUBSCRIPTION,
    label_category,
)
from rx_mana.rate_limit import CategoryRateLimiter
from rx_roots import (
    RootsError,
    classify_reason,
    find_closed,
    find_notice,
    find_ok,
    get_label,
)

__all__ = ["LimitedSender", "limit_connection"]


class LimitedSender:
    """Sends to one connection through a limiter, and slows down when the relay says so.

    ``send`` waits for a token of the envelope's category, then calls ``conn.send``. The
    sender watches ``conn.messages``: an ``OK false`` saying ``rate-limited:`` halves the
    limiter's ``"event"`` rate, a ``CLOSED`` saying so halves ``"subscription"``, a
    ``NOTICE`` saying so halves both. Answers to envelopes already in flight say the same
    thing again, so a category is halved at most once per ``cooldown`` seconds. Give each
    connection its own limiter: the halving is the limiter's, for everyone using it.

    A ``conn.send`` that fails once the token came (the connection closed, its queue is
    full) is reported on :attr:`errors`; envelopes still waiting when the connection ends
    are given up and reported there as one ``InvalidState``.

    Args:
        conn: the connection to send on.
        limiter: its buckets.
        category_of: the category of an envelope (:func:`label_category`).
        cooldown: seconds (limiter clock) before a category can be halved again.

    Raises:
        ValueError: ``cooldown`` negative or not finite.
    """

    def __init__(
        self,
        conn: Connection,
        limiter: CategoryRateLimiter,
        *,
        category_of: Callable[[str], str] = label_category,
        cooldown: float = 1.0,
    ) -> None:
        if not (cooldown >= 0 and math.isfinite(cooldown)):
            raise ValueError(f"cooldown must be >= 0 and finite, got {cooldown}")
        self.conn = conn  # where envelopes go
        self.limiter = limiter  # whose tokens they wait for
        self.rate_limited = 0  # relay answers that said "rate-limited:"
        self.failed = 0  # conn.send calls that raised once the token came
        self._category_of = category_of  # envelope → category
        self._cooldown = cooldown  # seconds between two halvings of one category
        self._halved_at: dict[str, float] = {}  # category → clock time of its last halving
        self._waiting: dict[int, abc.DisposableBase | None] = {}  # ticket → claim
        self._tickets = count()  # ticket numbers of send() calls
        self._inline: int | None = None  # the ticket send() is granting right now
        self._errors: HotStream[Exception] = HotStream()  # send failures
        self._disposed = False  # dispose() was called, or the connection ended
        self._ended = False  # the connection ended
        limiter._adopt(conn.scheduler)  # a connection's TestScheduler is its clock too
        self._watch = conn.messages.subscribe(self._on_message, on_completed=self._on_end)

    @property
    def errors(self) -> Observable[Exception]:
        """Failures of ``conn.send`` after the wait, and envelopes given up at the end."""
        return self._errors

    @property
    def pending(self) -> int:
        """Envelopes waiting for a token."""
        return len(self._waiting)

    def send(self, envelope: str, *, priority: int | None = None) -> None:
        """Send ``envelope`` once its category has a token (at once if one is there).

        Sent at once, ``conn.send``'s refusal reaches the caller; sent after a wait, it
        goes to :attr:`errors`.

        Raises:
            InvalidState: the sender was disposed (or its connection ended), or, sent at
                once, the connection is closing or closed.
            EnvelopeTooLarge: sent at once, and over the connection's size limit.
            QueueFull: sent at once, and the connection's write queue is full.
        """
        if self._disposed:
            ended = " (its connection ended)" if self._ended else ""
            raise InvalidState(f"cannot send through a disposed LimitedSender{ended}")
        self.limiter._adopt(self.conn.scheduler)
        ticket = next(self._tickets)
        self._waiting[ticket] = None  # first: the token may be granted at once
        self._inline = ticket
        try:
            claim = self.limiter.acquire(
                self._category_of(envelope), partial(self._deliver, ticket, envelope, priority)
            )
        except BaseException:
            self._waiting.pop(ticket, None)
            raise
        finally:
            self._inline = None
        if ticket in self._waiting:
            self._waiting[ticket] = claim

    def dispose(self) -> int:
        """Stop watching the connection; give up what waits; return how many were given up."""
        if self._disposed:
            return 0
        self._disposed = True
        self._watch.dispose()
        claims = list(self._waiting.values())
        self._waiting.clear()
        for claim in claims:
            if claim is not None:
                claim.dispose()
        return len(claims)

    def _deliver(self, ticket: int, envelope: str, priority: int | None) -> None:
        self._waiting.pop(ticket, None)
        if ticket == self._inline:  # still inside send(): its caller gets the refusal
            self.conn.send(envelope, priority=priority)
            return
        try:
            self.conn.send(envelope, priority=priority)
        except HoneybeeError as exc:
            self.failed += 1
            self._errors.on_next(exc)

    def _on_end(self) -> None:
        self._ended = True
        given_up = self.dispose()
        if given_up:
            self._errors.on_next(
                InvalidState(f"connection ended with {given_up} envelope(s) waiting for a token")
            )
        self._errors.on_completed()

    def _on_message(self, envelope: str) -> None:
        if "rate-limited" not in envelope:  # the cheap test first: most envelopes are not
            return
        try:
            label = get_label(envelope)
            if label == "OK":
                _, accepted, message = find_ok(envelope)
                slowed: tuple[str, ...] = () if accepted else (EVENT,)
            elif label == "CLOSED":
                message = find_closed(envelope)[1]
                slowed = (SUBSCRIPTION,)
            elif label == "NOTICE":
                message = find_notice(envelope)
                slowed = (EVENT, SUBSCRIPTION)
            else:
                return
        except RootsError:
            return  # malformed: the connection reports it; nothing to learn here
        if not slowed or classify_reason(message)[0] != "rate-limited":
            return
        self.rate_limited += 1
        self.limiter._adopt(self.conn.scheduler)
        now = self.limiter._now()
        for category in slowed:
            if category not in self.limiter.categories:
                continue
            last = self._halved_at.get(category)
            if last is not None and now - last < self._cooldown:
                continue
            self._halved_at[category] = now
            self.limiter.halve(category)


def limit_connection(
    conn: Connection,
    limiter: CategoryRateLimiter,
    *,
    category_of: Callable[[str], str] = label_category,
    cooldown: float = 1.0,
) -> LimitedSender:
    """Put ``limiter`` in front of ``conn``; see :class:`LimitedSender`.

    Example::

        sender = limit_connection(conn, CategoryRateLimiter())
        sender.send(enclose_event(event))   # paced; slower after a "rate-limited:" OK
        ...
        sender.dispose()
    """
    return LimitedSender(conn, limiter, category_of=category_of, cooldown=cooldown)
