"""Tests for ChannelHub's taps and its reference-counted upstream."""

from __future__ import annotations

import pytest
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rx_honeybee.channels import ChannelHub, channels
from rx_honeybee.errors import UnknownEnvelopeType

from .envelopes import BAD, E1, EOSE1, NOTICE1, OK1


class Upstream:
    """An envelope source that counts its subscriptions and pushes on demand."""

    def __init__(self) -> None:
        self.subscribed = 0
        self.disposed = 0
        self.observers: list[abc.ObserverBase[str | bytes]] = []

    def observable(self) -> Observable[str | bytes]:
        def subscribe(
            observer: abc.ObserverBase[str | bytes], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            self.subscribed += 1
            self.observers.append(observer)

            def dispose() -> None:
                self.disposed += 1
                self.observers.remove(observer)

            return Disposable(dispose)

        return Observable(subscribe)

    def push(self, envelope: str) -> None:
        for observer in list(self.observers):
            observer.on_next(envelope)


def test_a_second_tap_on_a_label_raises_and_taps_nothing() -> None:
    hub = ChannelHub(standard=False)
    seen: list[str | bytes] = []
    hub.tap({"EOSE": seen.append})
    with pytest.raises(ValueError, match="tapped already: EOSE"):
        hub.tap({"OK": seen.append, "EOSE": seen.append})
    assert set(hub.taps) == {"EOSE"}
    hub.dispatch(OK1)  # OK was not tapped by the refused call
    hub.dispatch(EOSE1)
    assert seen == [EOSE1]


def test_a_tap_runs_before_the_channel_of_its_label() -> None:
    order: list[str] = []
    hub = ChannelHub(standard=False, on_error=lambda e: order.append(f"fault {e}"))
    hub.add(["EOSE"])["EOSE"].subscribe(lambda env: order.append("channel"))
    hub.tap({"EOSE": lambda env: order.append("tap")})
    hub.dispatch(EOSE1)
    assert order == ["tap", "channel"]


def test_a_raising_tap_is_reported_and_the_channel_still_gets_the_envelope() -> None:
    faults: list[Exception] = []
    boom = RuntimeError("tap fault")

    def tap(envelope: str | bytes) -> None:
        raise boom

    hub = ChannelHub(on_error=faults.append)  # every standard label has a channel
    got: list[str | bytes] = []
    hub.channels["EVENT"].subscribe(got.append)
    hub.tap({"EVENT": tap})
    hub.push_event(E1)  # the reader's EVENT fast path
    hub.dispatch(E1)
    assert got == [E1, E1] and faults == [boom, boom]


def test_without_on_error_a_raising_tap_does_not_stop_the_channel() -> None:
    def tap(envelope: str | bytes) -> None:
        raise RuntimeError("tap fault")

    hub = ChannelHub()
    got: list[str | bytes] = []
    hub.channels["NOTICE"].subscribe(got.append)
    hub.tap({"NOTICE": tap})
    hub.dispatch(NOTICE1)
    assert got == [NOTICE1]


def test_without_an_event_target_the_fast_path_drops_and_unreadable_is_dropped() -> None:
    hub = ChannelHub(["NOTICE"], standard=False)  # no EVENT channel, no on_error
    got: list[str | bytes] = []
    hub.channels["NOTICE"].subscribe(got.append)
    hub.push_event(E1)
    hub.dispatch(E1)
    hub.dispatch(BAD)  # unreadable, and no one to tell: dropped
    hub.dispatch(NOTICE1)
    assert got == [NOTICE1]


def test_adding_a_label_again_keeps_its_channel_and_subscribers() -> None:
    hub = ChannelHub(standard=False)
    first = hub.add(["COUNT"])["COUNT"]
    got: list[str | bytes] = []
    first.subscribe(got.append)
    again = hub.add(["COUNT", "NOTICE"])
    assert again["COUNT"] is first and set(again) == {"COUNT", "NOTICE"}
    hub.dispatch('["COUNT","q",{"count":1}]')
    assert got == ['["COUNT","q",{"count":1}]']


def test_channels_hold_the_upstream_while_any_is_subscribed() -> None:
    upstream = Upstream()
    faults: list[Exception] = []
    chans = channels(upstream.observable(), on_error=faults.append)
    ok: list[str | bytes] = []
    eose: list[str | bytes] = []
    a = chans["OK"].subscribe(ok.append)
    b = chans["EOSE"].subscribe(eose.append)
    assert upstream.subscribed == 1
    upstream.push(OK1)
    upstream.push(EOSE1)
    upstream.push(BAD)
    a.dispose()
    a.dispose()  # a second dispose releases nothing more
    assert upstream.disposed == 0
    b.dispose()
    assert upstream.disposed == 1 and upstream.observers == []
    assert ok == [OK1] and eose == [EOSE1]
    assert len(faults) == 1 and isinstance(faults[0], UnknownEnvelopeType)
    chans["OK"].subscribe(ok.append)  # a new first subscriber subscribes again
    assert upstream.subscribed == 2
