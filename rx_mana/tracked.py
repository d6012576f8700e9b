"""The ``tracked`` operator: any Observable as an operation in an :class:`OperationRegistry`.

A publish, a request or a query becomes visible (``registry.operations()``), waitable
(``registry.wait(op.id, timeout)``) and cancellable from anywhere (``registry.cancel``,
``cancel_type``, ``cancel_all`` at shutdown) without the code that cancels holding the
subscription: cancelling disposes it, which for a honeybee ``request`` sends CLOSE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import Disposable, SingleAssignmentDisposable

from rx_mana.operations import Operation, OperationRegistry, OperationType

__all__ = ["tracked"]

T = TypeVar("T")

_NOTHING = Disposable()  # what a subscription that ended before it began returns


def tracked(
    registry: OperationRegistry,
    type: OperationType | str,
    /,
    *,
    on_register: Callable[[Operation], None] | None = None,
    **metadata: Any,
) -> Callable[[Observable[T]], Observable[T]]:
    """Track each subscription to the source as one operation of ``type`` in ``registry``.

    ::

        source:                -a-b-|
        tracked(reg, QUERY):   -a-b-|      COMPLETED, result b (the last item)
        source:                -a-#
        tracked(reg, QUERY):   -a-#        FAILED, error #
        reg.cancel(op.id) at 3 -a-X        CANCELLED: source disposed, X = OperationCancelled
        wait(op.id, 2) at 0:   -a#         TIMED_OUT: source disposed, # = OperationTimedOut

    Subscribing registers the operation (with ``metadata``; a ``priority`` key is its
    priority), calls ``on_register(op)`` (where the caller learns the id), and starts it.
    The source completing completes it with the **last item** as its result (None if
    there was none): the ``OkResult`` of a ``publish``, the last event of a query. The
    source erroring fails it with that error. When the registry cancels it or a ``wait``
    deadline passes, the source subscription is disposed (a honeybee ``request`` sends
    CLOSE) and the stream errors with the operation's ``OperationCancelled`` or
    ``OperationTimedOut``. Disposing the subscription before the source ends cancels the
    operation (it was abandoned); nothing more is emitted then.

    Example:
        >>> import reactivex
        >>> from reactivex.testing import TestScheduler
        >>> reg = OperationRegistry(scheduler=TestScheduler())
        >>> ops = []
        >>> got = []
        >>> _ = reactivex.of(1, 2).pipe(
        ...     tracked(reg, OperationType.QUERY, on_register=ops.append, relay="wss://r")
        ... ).subscribe(got.append)
        >>> got, ops[0].status.value, ops[0].result, ops[0].metadata
        ([1, 2], 'completed', 2, {'relay': 'wss://r'})

    Args:
        registry: where the operations are registered.
        type: what kind of work (an ``OperationType`` or its value).
        on_register: called with each new operation, before it starts.
        **metadata: kept on each operation; ``priority`` sets its priority.

    Returns:
        An operator: the source's items and end, tracked.

    Raises:
        ValueError: ``type`` is not an operation type (at call time).
    """
    kind = OperationType(type)

    def operator(source: Observable[T]) -> Observable[T]:
        def subscribe(
            observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            registry.adopt_scheduler(scheduler)
            op = registry.register(kind, **metadata)
            upstream = SingleAssignmentDisposable()  # disposable before it is assigned
            detached = False  # the subscriber disposed: tell it nothing more
            last: Any = None  # the latest item: the result

            def stop(ended: Operation) -> None:  # the registry cancelled or timed it out
                upstream.dispose()
                if not detached:
                    assert ended.error is not None  # OperationCancelled / OperationTimedOut
                    observer.on_error(ended.error)

            def on_next(item: T) -> None:
                nonlocal last
                if op.active:
                    last = item
                    observer.on_next(item)

            def on_error(error: Exception) -> None:
                if op.active:
                    registry.fail(op.id, error)
                    observer.on_error(error)

            def on_completed() -> None:
                if op.active:
                    registry.complete(op.id, last)
                    observer.on_completed()

            def dispose() -> None:
                nonlocal detached
                detached = True
                upstream.dispose()
                if op.active:
                    registry.cancel(op.id)

            registry.set_canceller(op.id, stop)
            try:
                if on_register is not None:
                    on_register(op)
                if not op.active:  # on_register cancelled it already
                    return _NOTHING
                registry.start(op.id)
                upstream.disposable = source.subscribe(
                    on_next, on_error, on_completed, scheduler=scheduler
                )
            except Exception as exc:
                if op.active:
                    registry.fail(op.id, exc)
                raise
            return Disposable(dispose)

        return Observable(subscribe)

    return operator
