"""Pick the scheduler a time-based operator runs its timers on."""

from __future__ import annotations

import asyncio

from reactivex.abc import SchedulerBase
from reactivex.scheduler.eventloop import AsyncIOScheduler

from ..errors import InvalidState

__all__ = ["resolve_scheduler"]


def resolve_scheduler(
    explicit: SchedulerBase | None, subscribed: SchedulerBase | None, operator: str
) -> SchedulerBase:
    """Return the scheduler for an operator's timers; never a thread.

    The order is: the operator's own ``scheduler=`` argument, then the scheduler given to
    ``subscribe``, then an :class:`~reactivex.scheduler.eventloop.AsyncIOScheduler` on the
    asyncio loop running in this thread. reactivex itself would fall back to a background
    thread (``TimeoutScheduler``), which would call observers off the event loop; we refuse
    instead.

    Args:
        explicit: the ``scheduler=`` given to the operator, or None.
        subscribed: the ``scheduler=`` given to ``subscribe``, or None.
        operator: the operator's name, for the error message.

    Returns:
        The scheduler to use.

    Raises:
        InvalidState: neither scheduler was given and no asyncio loop runs in this thread.
    """
    if explicit is not None:
        return explicit
    if subscribed is not None:
        return subscribed
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise InvalidState(
            f"{operator} needs a scheduler: pass scheduler=, subscribe with scheduler=, "
            "or subscribe inside a running asyncio loop"
        ) from None
    return AsyncIOScheduler(loop)
