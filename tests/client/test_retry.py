"""SessionConfig refuses settings the retry policy cannot work with."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee.client.retry import Pending, Phase, RetryPolicy, SessionConfig


@pytest.mark.parametrize(
    "bad",
    [
        {"resume_overlap": -1},
        {"seen_cap": 0},
        {"max_retries": -1},
        {"rate_limit_delay": 0},
        {"rate_limit_delay": -1.0},
        {"rate_limit_delay": 5.0, "max_rate_limit_delay": 4.0},
    ],
)
def test_session_config_rejects_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SessionConfig(**bad)


def test_session_config_accepts_the_edges() -> None:
    config = SessionConfig(resume_overlap=0, seen_cap=1, max_retries=0, rate_limit_delay=2.0,
                           max_rate_limit_delay=2.0)  # fmt: skip
    assert config.max_retries == 0


def test_the_delay_doubles_up_to_the_cap_and_resets_after_a_success() -> None:
    policy = RetryPolicy(SessionConfig(rate_limit_delay=1.0, max_rate_limit_delay=3.0))
    assert [policy.next_delay() for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    policy.succeeded()
    assert policy.next_delay() == 1.0


def test_a_confirmation_after_the_item_ended_changes_nothing() -> None:
    item = Pending()
    item.end()
    item(3)  # the socket wrote it after all
    assert item.phase is Phase.ENDED and item.sent_on == 0 and not item.stale(4)
