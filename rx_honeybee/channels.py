"""One hot stream per envelope label, fed by a hand-written dispatcher.

``route()`` (:mod:`rx_honeybee.router`) is the composable ``group_by`` form. Channels serve
the connection's inbound hot path instead, where the SPEC's target (the whole pipeline at
≥ 0.85× a raw aiohttp + ujson loop, ~2.3 µs per 700-byte envelope here) leaves well under
half a microsecond for routing: ``group_by`` with a ``Subject`` per group measured
~1.25 µs per envelope, this dispatcher ~0.3 µs (``bench/router_bench.py``). Behaviour is
that of flattening ``route()`` per label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from rx_honeybee.errors import UnknownEnvelopeType
from rx_honeybee.hot import HotStream
from rx_honeybee.router import ErrorHandler
from rx_roots import RootsError, get_label, standard_labels

__all__ = ["EVENT_FRONT", "EVENT_FRONT_BYTES", "ChannelHub", "channels"]

EVENT_FRONT = '["EVENT",'  # the canonical front of the most common envelope: a fast path
EVENT_FRONT_BYTES = EVENT_FRONT.encode()


class _Channel(HotStream[str | bytes]):
    """A label's stream; subscribing takes a reference on the hub's upstream, if any."""

    def __init__(self, hub: ChannelHub) -> None:
        super().__init__(hub.on_error)
        self._hub = hub  # the dispatcher shared by every channel

    def _attach(
        self, handlers: Any, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        inner = super()._attach(handlers, scheduler)
        if self.is_stopped or self._hub.upstream is None:
            return inner
        self._hub.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._hub.release()

        return CompositeDisposable(inner, Disposable(release))


class ChannelHub:
    """Reads each envelope's label once and pushes the envelope to that label's channel.

    Feed it with ``dispatch`` (a connection does, from its reader) or let it subscribe
    to an upstream Observable while any channel is subscribed (``upstream=``).

    Args:
        labels: Labels wanted besides the eight standard ones.
        on_error: Receives ``UnknownEnvelopeType`` for unreadable envelopes and any
            exception a channel subscriber raises; logged when None.
        upstream: Envelopes to subscribe to lazily (first channel subscriber to last).
    """

    def __init__(
        self,
        labels: Iterable[str] | None = None,
        on_error: ErrorHandler | None = None,
        upstream: Observable[str | bytes] | None = None,
        *,
        standard: bool = True,
    ) -> None:
        self.on_error = on_error  # unreadable labels and channel subscribers' faults
        self.upstream = upstream  # subscribed while any channel is, when given
        self.channels: dict[str, _Channel] = {}  # label → stream
        self.taps: dict[str, Callable[[str | bytes], None]] = {}  # label → direct handler
        self._subscription: abc.DisposableBase | None = None  # to ``upstream``
        self._refs = 0  # channel subscriptions alive
        self.dispatch: Callable[[str | bytes], None] = _ignore  # feed envelopes here
        self.push_event: Callable[[str | bytes], None] = _ignore  # the EVENT fast path
        wanted = frozenset(labels or ())
        self.add(standard_labels() | wanted if standard else wanted)

    def add(self, labels: Iterable[str]) -> dict[str, Observable[str | bytes]]:
        """Ensure a channel for each of ``labels``; return the channels asked for."""
        for label in labels:
            if label not in self.channels:
                self.channels[label] = _Channel(self)
        self._rebuild()
        return {label: self.channels[label] for label in sorted(labels)}

    def tap(self, handlers: Mapping[str, Callable[[str | bytes], None]]) -> None:
        """Call each handler with every envelope of its label, before that label's channel.

        For a connection's own layers (its session): no stream in between. A tap must not
        raise (it guards the callbacks it calls); if it does anyway while the label also
        has a channel, the fault goes to ``on_error`` and the channel still gets the
        envelope. One tap per label.

        Raises:
            ValueError: a label has a tap already (nothing is tapped then).
        """
        taken = sorted(set(handlers) & set(self.taps))
        if taken:
            raise ValueError(f"tapped already: {', '.join(taken)}")
        self.taps.update(handlers)
        self._rebuild()

    def _rebuild(self) -> None:
        targets = {label: self._target(label) for label in {*self.channels, *self.taps}}
        self.push_event = targets.get("EVENT") or _ignore
        self.dispatch = self._dispatcher(targets)

    def _target(self, label: str) -> Callable[[str | bytes], None] | None:
        """What one envelope of ``label`` goes to: its tap, its channel, or both."""
        channel = self.channels.get(label)
        tap = self.taps.get(label)
        if tap is None:
            return channel.on_next if channel is not None else None
        if channel is None:
            return tap  # the per-envelope path of a session: nothing in between
        return _Tapped(tap, channel, self.on_error)

    def _dispatcher(
        self, targets: dict[str, Callable[[str | bytes], None] | None]
    ) -> Callable[[str | bytes], None]:
        """Build ``dispatch`` over ``targets`` (locals beat attribute lookups)."""
        push_event = targets.get("EVENT")
        find = targets.get
        report = self.on_error

        def dispatch(envelope: str | bytes) -> None:
            """Route one envelope to its label's channel (the per-envelope path)."""
            head = envelope[:9]
            if push_event is not None and (head == EVENT_FRONT or head == EVENT_FRONT_BYTES):
                push_event(envelope)
                return
            try:
                label = get_label(envelope)
            except RootsError as err:
                if report is not None:
                    fault = UnknownEnvelopeType(envelope, str(err))
                    fault.__cause__ = err
                    report(fault)
                return
            target = find(label)
            if target is not None:
                target(envelope)

        return dispatch

    def fail(self, error: Exception) -> None:
        """Fail every channel."""
        for channel in list(self.channels.values()):
            channel.on_error(error)

    def complete(self) -> None:
        """Complete every channel."""
        for channel in list(self.channels.values()):
            channel.on_completed()

    def acquire(self) -> None:
        """One more channel subscriber: subscribe upstream on the first."""
        self._refs += 1
        if self._refs == 1 and self.upstream is not None:
            self._subscription = self.upstream.subscribe(
                lambda envelope: self.dispatch(envelope), self.fail, self.complete
            )

    def release(self) -> None:
        """One channel subscriber fewer: release upstream after the last."""
        self._refs -= 1
        if self._refs == 0 and self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            subscription.dispose()


def channels(
    messages: Observable[str | bytes],
    labels: Iterable[str] | None = None,
    on_error: ErrorHandler | None = None,
) -> dict[str, Observable[str | bytes]]:
    """Split an envelope stream into one hot Observable per label.

    ``messages`` is subscribed once, when the first channel is, and released when the last
    channel subscriber leaves. A channel delivers the envelopes of its label that arrive
    while it is subscribed. Envelopes whose label has no channel are dropped unreported
    (NIP-01: ignore what you do not understand). Completion and errors of ``messages``
    reach every channel.

    Example:
        >>> ch = channels(conn.messages, labels=["COUNT"], on_error=report)
        >>> ch["EOSE"].subscribe(print)

    Args:
        messages: The envelopes, typically a connection's ``messages``.
        labels: Labels wanted besides the eight standard ones (``COUNT``, ``NEG-MSG``...).
        on_error: Receives :class:`~rx_honeybee.errors.UnknownEnvelopeType` (``__cause__``
            the :class:`~rx_roots.errors.RootsError`) for each unreadable envelope, which
            is dropped, and any exception a channel subscriber raises. Logged when None.

    Returns:
        A dict from label to that label's envelopes: every standard label and every extra.
    """
    hub = ChannelHub(labels, on_error, upstream=messages)
    return dict(hub.channels)


def _ignore(_: str | bytes) -> None:
    pass


class _Tapped:
    """A tapped label that also has a channel: the tap (faults reported), then the channel."""

    __slots__ = ("_channel", "_report", "_tap")

    def __init__(
        self,
        tap: Callable[[str | bytes], None],
        channel: _Channel,
        report: ErrorHandler | None,
    ) -> None:
        self._tap = tap  # the layer's handler
        self._channel = channel  # the label's stream
        self._report = report  # where a raising tap goes

    def __call__(self, envelope: str | bytes) -> None:
        try:
            self._tap(envelope)
        except Exception as exc:  # as HotStream does for a channel subscriber
            if self._report is not None:
                self._report(exc)
        self._channel.on_next(envelope)
