"""SubscriptionRepository alone: order, slots, refusals, pacing, usage and optimize."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from reactivex.testing import TestScheduler

from rx_honeybee.interfaces import AdmissionControl, SubscriptionRegistry
from rx_mana.repository import RepositoryStats, SubscriptionRepository, SubscriptionUsage

F: list[dict[str, Any]] = [{"kinds": [1]}]


def repository(**kwargs: Any) -> tuple[SubscriptionRepository, TestScheduler]:
    scheduler = TestScheduler()
    return SubscriptionRepository(scheduler=scheduler, **kwargs), scheduler


class Wire:
    """Records the ids whose send the repository called, in order."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def send(self, sub_id: str) -> Any:
        return lambda: self.out.append(sub_id)


def test_it_is_a_registry_and_an_admission_control() -> None:
    repo, _ = repository()
    registry: SubscriptionRegistry = repo
    assert isinstance(registry, AdmissionControl)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_subscriptions": 0},
        {"restore_rate": 0},
        {"restore_rate": float("inf")},
        {"restore_rate": float("nan")},
        {"idle_after": 0},
    ],
)
def test_invalid_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SubscriptionRepository(**kwargs)


def test_restore_order_priority_then_events_per_minute_then_oldest() -> None:
    repo, scheduler = repository()
    for sub_id in ("old", "busy", "vip", "young"):
        repo.add(sub_id, F)
        scheduler.advance_by(1)
    repo.set_priority("vip", 5)
    repo.record_activity("busy", 30)
    repo.record_activity("young", 3)
    assert repo.restore_order() == ["vip", "busy", "young", "old"]
    scheduler.advance_by(3600)  # an hour later the rates have decayed to nothing
    assert repo.restore_order() == ["vip", "old", "busy", "young"]


def test_a_priority_set_before_the_session_adds_is_kept() -> None:
    repo, _ = repository()
    repo.set_priority("late", 3)
    repo.add("early", F, priority=2)
    repo.add("early", F)  # the session adds with the default priority: 2 stays
    repo.add("late", F)
    repo.add("plain", F)
    assert repo.restore_order() == ["late", "early", "plain"]
    repo.remove("late")
    repo.add("late", F)  # an id used again keeps the user's priority
    assert repo.restore_order()[0] == "late"
    repo.set_priority("late", None)
    assert repo.restore_order() == ["early", "plain", "late"]


def test_remove_forgets_and_unknown_ids_are_ignored() -> None:
    repo, _ = repository()
    repo.add("a", F)
    repo.remove("a")
    repo.remove("nothing")
    repo.record_activity("nothing", 5)
    assert repo.restore_order() == [] and repo.usage("a") is None


def test_usage_reports_what_a_subscription_did() -> None:
    repo, scheduler = repository()
    scheduler.advance_to(10)
    repo.add("a", [{"kinds": [1], "limit": 5}])
    scheduler.advance_by(2)
    repo.record_activity("a", 4, response_time=0.5)
    repo.record_activity("a", 0, response_time=1.5)
    repo.record_activity("a")
    usage = repo.usage("a")
    assert usage == SubscriptionUsage(
        sub_id="a",
        filters=({"kinds": [1], "limit": 5},),
        priority=0,
        created_at=10.0,
        last_active=12.0,
        events=5,
        events_per_minute=5.0,
        response_time=1.0,
        waiting=False,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        usage.events = 0  # type: ignore[misc]
    scheduler.advance_by(60)
    decayed = repo.usage("a")
    assert decayed is not None and decayed.events_per_minute == pytest.approx(5 / 2.71828, 1e-3)
    repo.add("b", F)
    b = repo.usage("b")
    assert b is not None and b.last_active is None and b.response_time is None


def test_without_a_limit_every_req_goes_out_at_once() -> None:
    repo, _ = repository()
    wire = Wire()
    for sub_id in ("a", "b", "c"):
        repo.add(sub_id, F)
        repo.admit(sub_id, wire.send(sub_id), False)
    assert wire.out == ["a", "b", "c"]
    assert repo.stats().active == 3 and repo.stats().max_subscriptions is None


def test_beyond_the_limit_reqs_wait_and_go_out_by_rank_as_others_close() -> None:
    repo, scheduler = repository(max_subscriptions=2)
    wire = Wire()
    for sub_id in ("a", "b", "c", "d", "e"):
        repo.add(sub_id, F)
        scheduler.advance_by(1)
        repo.admit(sub_id, wire.send(sub_id), False)
    repo.set_priority("e", 1)
    assert wire.out == ["a", "b"]
    assert repo.usage("c") is not None and repo.usage("c").waiting  # type: ignore[union-attr]
    assert repo.stats() == RepositoryStats(
        tracked=5,
        active=2,
        waiting=3,
        pacing=0,
        max_subscriptions=2,
        admitted=2,
        delayed=3,
        restored=0,
        refusals_taken=0,
    )
    repo.remove("a")
    assert wire.out == ["a", "b", "e"]  # the highest priority first
    repo.remove("d")  # a waiting one gives up: nothing goes out
    assert wire.out == ["a", "b", "e"]
    repo.remove("b")
    assert wire.out == ["a", "b", "e", "c"]
    repo.admit("c", wire.send("c2"), False)  # an active one admitted again goes out
    assert wire.out[-1] == "c2"


def test_a_waiting_one_admitted_again_keeps_its_place_with_the_new_send() -> None:
    repo, _ = repository(max_subscriptions=1)
    wire = Wire()
    repo.add("a", F)
    repo.add("b", F)
    repo.admit("a", wire.send("a"), False)
    repo.admit("b", wire.send("b-old"), False)
    repo.admit("b", wire.send("b-new"), True)
    assert repo.stats().delayed == 1
    repo.remove("a")
    assert wire.out == ["a", "b-new"]


def test_too_many_lowers_the_limit_to_the_slots_held_and_takes_the_req_back() -> None:
    repo, _ = repository()
    wire = Wire()
    ids = [f"s{n}" for n in range(8)]
    for sub_id in ids:
        repo.add(sub_id, F)
        repo.admit(sub_id, wire.send(sub_id), False)
    # a relay holding 5 refuses the last 3, one answer after the other
    for sub_id in ids[5:]:
        assert repo.refused(sub_id, "rate-limited: Too Many subscriptions (max 5)")
        repo.admit(sub_id, wire.send(sub_id + "'"), False)
    assert repo.max_subscriptions == 5
    assert repo.stats().waiting == 3 and repo.stats().refusals_taken == 3
    assert wire.out == ids  # nothing went out again yet
    repo.remove("s0")
    assert wire.out[-1] == "s5'"


def test_other_refusals_are_not_taken() -> None:
    repo, _ = repository()
    repo.add("a", F)
    repo.add("b", F)
    repo.admit("a", lambda: None, False)
    repo.admit("b", lambda: None, False)
    assert not repo.refused("a", "blocked: not you")
    assert not repo.refused("unknown", "too many")
    repo.remove("b")
    assert not repo.refused("a", "too many subscriptions")  # none held: waiting cannot help
    assert repo.max_subscriptions is None


def test_a_learned_or_announced_limit_only_ever_lowers_it() -> None:
    repo, _ = repository(max_subscriptions=10)
    repo.learn_limit(20)
    assert repo.max_subscriptions == 10
    repo.learn_limit(4)
    assert repo.max_subscriptions == 4
    open_repo, _ = repository()
    open_repo.learn_limit(7)
    assert open_repo.max_subscriptions == 7
    with pytest.raises(ValueError):
        open_repo.learn_limit(0)


def test_restores_go_out_in_a_burst_then_at_the_restore_rate() -> None:
    repo, scheduler = repository(restore_rate=2)
    wire = Wire()
    for n in range(5):
        repo.add(f"s{n}", F)
        repo.admit(f"s{n}", lambda: None, False)
    for n in range(5):
        repo.admit(f"s{n}", wire.send(f"s{n}"), True)
    assert wire.out == ["s0", "s1"] and repo.stats().pacing == 3
    scheduler.advance_by(0.49)
    assert len(wire.out) == 2
    scheduler.advance_by(0.01)
    assert wire.out == ["s0", "s1", "s2"]
    scheduler.advance_by(1.0)
    assert wire.out == ["s0", "s1", "s2", "s3", "s4"]
    assert repo.stats().restored == 5 and repo.stats().pacing == 0


def test_a_removed_restore_is_not_sent_and_a_readmitted_one_moves_back() -> None:
    repo, scheduler = repository(restore_rate=1)
    wire = Wire()
    for sub_id in ("a", "b", "c", "d"):
        repo.add(sub_id, F)
        repo.admit(sub_id, wire.send(sub_id), True)
    assert wire.out == ["a"]
    repo.remove("b")
    repo.admit("c", wire.send("c2"), True)  # a newer restore of c: after d
    scheduler.advance_by(5)
    assert wire.out == ["a", "d", "c2"]


def test_a_restore_of_a_waiting_one_waits_for_a_slot_first() -> None:
    repo, scheduler = repository(max_subscriptions=1, restore_rate=1)
    wire = Wire()
    repo.add("a", F)
    repo.add("b", F)
    repo.admit("a", wire.send("a"), True)
    repo.admit("b", wire.send("b"), True)
    assert wire.out == ["a"] and repo.stats().waiting == 1
    repo.remove("a")
    assert wire.out == ["a", "b"]  # a slot came free: sent, no token needed


def test_optimize_names_idle_ones_and_exact_duplicates() -> None:
    repo, scheduler = repository(idle_after=60)
    repo.add("quiet", [{"kinds": [0]}])
    scheduler.advance_by(1)
    repo.add("keep", [{"kinds": [1], "authors": ["x"]}, {"kinds": [7]}])
    repo.add("copy", [{"kinds": [7]}, {"authors": ["x"], "kinds": [1]}])
    repo.add("other", [{"kinds": [1]}])
    repo.set_priority("copy", 1)  # the better-ranked copy is the one kept
    assert repo.optimize() == ["keep"]
    scheduler.advance_by(60)
    repo.record_activity("keep")
    repo.record_activity("copy")
    repo.record_activity("other")
    assert repo.optimize() == ["quiet", "keep"]
    repo.add("quiet", [{"kinds": [1]}])  # its filters changed: now a copy of "other"
    assert repo.optimize() == ["quiet", "keep"]  # named once, as idle


def test_admit_without_add_ranks_last() -> None:
    repo, _ = repository(max_subscriptions=1)
    wire = Wire()
    repo.add("a", F)
    repo.add("b", F)
    repo.admit("a", wire.send("a"), False)
    repo.admit("x", wire.send("x"), False)
    repo.admit("b", wire.send("b"), False)
    repo.remove("a")
    assert wire.out == ["a", "b"]


def test_the_default_scheduler_is_the_running_loop() -> None:
    import asyncio

    async def main() -> float:
        repo = SubscriptionRepository()
        repo.add("a", F)
        usage = repo.usage("a")
        assert usage is not None
        return usage.created_at

    assert asyncio.run(main()) > 1e9  # wall-clock seconds
