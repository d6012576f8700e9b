"""``limit_by_category``: a category rate limiter as an operator on outgoing envelopes.

Envelopes wait (never dropped) until their category has a token; each category keeps its
own order, so a CLOSE never waits behind EVENTs (SPEC §5 item 8).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import count

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from rx_mana.categories import (
    label_category,
)
from rx_mana.rate_limit import CategoryRateLimiter

__all__ = ["limit_by_category"]


def limit_by_category(
    limiter: CategoryRateLimiter, category_of: Callable[[str], str] = label_category
) -> Callable[[Observable[str]], Observable[str]]:
    """Delay each outgoing envelope until its category has a token; never drop one.

    Envelopes of one category keep their order; across categories they may pass each
    other, which is the point: a CLOSE is not held behind a queue of EVENTs. The output
    completes once the source did and every waiting envelope went out.

    ::

        source: -a-b-x-----|    a, b: EVENT (1 token per 6 s, burst 1); x: CLOSE (control)
        output: -a---x-b---|    b waits 4 s for its token; x does not wait behind it

    Example::

        envelopes.pipe(limit_by_category(CategoryRateLimiter())).subscribe(conn.send)

    Args:
        limiter: the buckets (one limiter may serve several streams; they share tokens).
        category_of: the category of an envelope (:func:`label_category`).

    Returns:
        The operator.
    """

    def _limit(source: Observable[str]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            limiter._adopt(scheduler_)
            waiting: dict[int, abc.DisposableBase | None] = {}  # ticket → claim, in order
            tickets = count()
            completed = False  # the source completed; complete once nothing waits
            stopped = False  # the output terminated or was disposed

            def release(ticket: int, envelope: str) -> None:
                waiting.pop(ticket, None)
                if stopped:
                    return
                observer.on_next(envelope)
                if completed and not waiting:
                    finish()

            def on_next(envelope: str) -> None:
                if stopped:
                    return
                ticket = next(tickets)
                waiting[ticket] = None  # first: the token may be granted at once
                try:
                    claim = limiter.acquire(
                        category_of(envelope), partial(release, ticket, envelope)
                    )
                except Exception as exc:
                    waiting.pop(ticket, None)
                    on_error(exc)
                    return
                if ticket in waiting:
                    waiting[ticket] = claim

            def give_up_all() -> None:
                claims = list(waiting.values())
                waiting.clear()
                for claim in claims:
                    if claim is not None:
                        claim.dispose()

            def on_error(error: Exception) -> None:
                nonlocal stopped
                if stopped:
                    return
                stopped = True
                give_up_all()
                observer.on_error(error)

            def finish() -> None:
                nonlocal stopped
                stopped = True
                observer.on_completed()

            def on_completed() -> None:
                nonlocal completed
                completed = True
                if not waiting and not stopped:
                    finish()

            def dispose() -> None:
                nonlocal stopped
                stopped = True
                give_up_all()

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            return CompositeDisposable(Disposable(dispose), upstream)

        return Observable(subscribe)

    return _limit
