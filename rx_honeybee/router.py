"""Route inbound envelopes by label: ``route()``, a guarded, shared ``group_by``.

The seed's message router, translated: instead of a goroutine pushing into buffered
channels, routing is the ``group_by`` operator keyed on the envelope's label (NIP-01:
``EVENT``, ``OK``, ``EOSE`` ...). Labels are a small, bounded key set; nothing here is
ever keyed on a subscription id, because ``group_by`` never releases a group.

Three reactivex pitfalls shape the design (see NOTES.md):

- An exception in ``group_by``'s key mapper errors every group and the outer stream, so
  one malformed envelope would end all routing. The label is therefore read under guard:
  an unreadable label is reported as :class:`~rx_honeybee.errors.UnknownEnvelopeType`
  (its ``__cause__`` the :class:`~rx_roots.errors.RootsError`), that envelope is dropped
  and routing carries on.
- ``group_by``'s output is cold: each subscriber would run its own grouping. The stream
  of groups is shared, one upstream subscription however many subscribers.
- A subscriber that arrives after a group was emitted never hears of that group. The
  shared stream therefore replays the groups already open in the current run to a late
  subscriber (there are few: one per label). Items already delivered inside a group are
  not replayed: everything here is hot.

The guard and the grouping are fused into one ``group_by`` operator of our own
(:func:`_group_by_label`), with reactivex's semantics; stacking a guard, ``ops.group_by``
and ``share`` cost ~0.6 µs more per envelope. The connection's inbound hot path uses
:func:`rx_honeybee.channels.channels`, a hand-written dispatcher, because even this
``group_by`` (Subjects per group) costs more per envelope than the SPEC's stream target
leaves (see ``bench/router_bench.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reactivex import GroupedObservable, Observable, abc
from reactivex.disposable import (
    CompositeDisposable,
    Disposable,
    RefCountDisposable,
    SingleAssignmentDisposable,
)
from reactivex.subject import Subject

from rx_honeybee.errors import UnknownEnvelopeType
from rx_roots import RootsError, get_label

__all__ = ["ErrorHandler", "route"]

ErrorHandler = Callable[[Exception], None]
"""Where routing faults go; typically a connection's ``errors`` subject's ``on_next``."""


class _LabelGroup(GroupedObservable[str, str | bytes]):
    """One label's envelopes: the group ``_group_by_label`` emits.

    Subscribing takes a reference on the grouping's source subscription, as reactivex's
    own groups do (the source stays subscribed while a group is, even if the group stream
    itself was disposed), but without the extra observable layer reactivex inserts for
    that, which would cost one more call per envelope.
    """

    def __init__(
        self, label: str, writer: Subject[str | bytes], keepalive: RefCountDisposable
    ) -> None:
        super().__init__(label, writer)
        self._writer = writer  # the Subject the grouping pushes this label's envelopes to
        self._keepalive = keepalive  # the grouping's source subscription, ref-counted

    def _subscribe_core(
        self,
        observer: abc.ObserverBase[str | bytes],
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        return CompositeDisposable(
            self._keepalive.disposable, self._writer.subscribe(observer, scheduler=scheduler)
        )


def _group_by_label(
    on_error: ErrorHandler | None, allowed: frozenset[str] | None
) -> Callable[[Observable[str | bytes]], Observable[GroupedObservable[str, str | bytes]]]:
    """``group_by(get_label)`` with the label read under guard, fused into one step.

    Semantically reactivex's ``group_by`` (groups are Subjects, never released; completion
    and errors reach every group, then the group stream), with three differences that are
    the point: an unreadable label is reported to ``on_error`` and its envelope dropped
    instead of ending everything; a label outside ``allowed`` (when given) is dropped
    before it gets a group, so a peer inventing labels cannot grow the group table; and
    the label is parsed once, with no extra operator, tuple or mapper call per envelope.
    """

    def operator(
        source: Observable[str | bytes],
    ) -> Observable[GroupedObservable[str, str | bytes]]:
        def subscribe(
            observer: abc.ObserverBase[GroupedObservable[str, str | bytes]],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            writers: dict[str, Subject[str | bytes]] = {}  # one per label seen, in order
            upstream = SingleAssignmentDisposable()
            keepalive = RefCountDisposable(upstream)
            find = writers.get

            def on_next(envelope: str | bytes) -> None:
                try:
                    label = get_label(envelope)
                except RootsError as err:
                    if on_error is not None:
                        fault = UnknownEnvelopeType(envelope, str(err))
                        fault.__cause__ = err
                        on_error(fault)
                    return
                except Exception as err:  # a bug, not bad input: end it, as group_by would
                    fail(err)
                    return
                writer = find(label)
                if writer is None:
                    if allowed is not None and label not in allowed:
                        return
                    writer = writers[label] = Subject()
                    observer.on_next(_LabelGroup(label, writer, keepalive))
                writer.on_next(envelope)

            def fail(error: Exception) -> None:
                for writer in list(writers.values()):
                    writer.on_error(error)
                observer.on_error(error)

            def on_completed() -> None:
                for writer in list(writers.values()):
                    writer.on_completed()
                observer.on_completed()

            upstream.disposable = source.subscribe(on_next, fail, on_completed, scheduler=scheduler)
            return keepalive

        return Observable(subscribe)

    return operator


class _Run:
    """One connection of :func:`_share_groups` to its source, and its open groups."""

    __slots__ = ("connection", "done", "groups", "refs", "subject")

    def __init__(self) -> None:
        self.subject: Subject[GroupedObservable[str, str | bytes]] = Subject()  # fan-out
        self.groups: list[GroupedObservable[str, str | bytes]] = []  # replayed to late-comers
        self.done = False  # the source completed or failed
        self.refs = 0  # live subscribers
        self.connection = SingleAssignmentDisposable()  # the source subscription

    def on_next(self, group: GroupedObservable[str, str | bytes]) -> None:
        self.groups.append(group)
        self.subject.on_next(group)

    def on_error(self, error: Exception) -> None:
        self.done = True
        self.subject.on_error(error)

    def on_completed(self) -> None:
        self.done = True
        self.subject.on_completed()


def _share_groups(
    source: Observable[GroupedObservable[str, str | bytes]],
) -> Observable[GroupedObservable[str, str | bytes]]:
    """Share a stream of groups; a late subscriber first gets the groups already open.

    Like ``publish()`` + ``ref_count()``, but the fan-out subject lives for one run (first
    subscriber to last unsubscriber), so no dead groups from an earlier run are replayed
    and a resubscription after the last dispose starts afresh. Only groups pass through
    here, never envelopes, so none of this is on the per-envelope path.
    """
    current: _Run | None = None

    def subscribe(
        observer: abc.ObserverBase[GroupedObservable[str, str | bytes]],
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        nonlocal current
        run = current
        fresh = run is None
        if run is None:
            run = current = _Run()
        run.refs += 1
        if run.done:
            # Replay first: the subject would end the observer at once on subscribe.
            for group in list(run.groups):
                observer.on_next(group)
            inner = run.subject.subscribe(observer)
        else:
            # Subscribe first: a group born (re-entrantly) during the replay is not missed.
            known = list(run.groups)
            inner = run.subject.subscribe(observer)
            for group in known:
                observer.on_next(group)
        if fresh:
            run.connection.disposable = source.subscribe(
                run.on_next, run.on_error, run.on_completed, scheduler=scheduler
            )

        def release() -> None:
            nonlocal current
            inner.dispose()
            run.refs -= 1
            if run.refs == 0:  # the last one out ends the run
                current = None
                run.connection.dispose()

        return Disposable(release)

    return Observable(subscribe)


def _routed(
    on_error: ErrorHandler | None, allowed: frozenset[str] | None
) -> Callable[[Observable[str | bytes]], Observable[GroupedObservable[str, str | bytes]]]:
    def operator(
        source: Observable[str | bytes],
    ) -> Observable[GroupedObservable[str, str | bytes]]:
        return _share_groups(source.pipe(_group_by_label(on_error, allowed)))

    return operator


def route(
    on_error: ErrorHandler | None = None, *, labels: Iterable[str] | None = None
) -> Callable[[Observable[str | bytes]], Observable[GroupedObservable[str, str | bytes]]]:
    """Group envelopes by label, without letting one unreadable envelope end routing.

    ::

        envelopes:  -E1--O1--??--E2--|
        route():    -G---H-----------|     G, H: the EVENT and OK groups
          G:        -E1----------E2--|
          H:        -----O1----------|
        (?? has no readable label: reported to on_error, dropped)

    Example:
        >>> conn.messages.pipe(route(conn_errors.on_next)).subscribe(
        ...     lambda group: print("new label", group.key)
        ... )

    Args:
        on_error: Receives :class:`~rx_honeybee.errors.UnknownEnvelopeType` for each
            envelope whose label cannot be read (``__cause__`` is the
            :class:`~rx_roots.errors.RootsError`); that envelope is dropped and routing
            goes on. None drops such envelopes without a word. It is called
            synchronously from the producer: what it raises reaches the producer.
        labels: Route only these labels and drop other envelopes before they get a group.
            None routes every label, which is fine for a trusted peer; give the set you
            handle when the peer may invent labels, as groups are never released.

    Returns:
        An operator turning envelopes into a shared stream of label groups: all
        subscribers share one upstream subscription; a late subscriber first receives
        the groups already open, but a group only carries envelopes from the moment it
        is subscribed (hot). Upstream completion and errors reach every group and the
        group stream.
    """
    allowed = None if labels is None else frozenset(labels)
    return _routed(on_error, allowed)
