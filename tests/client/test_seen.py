"""The bounded set of delivered event ids."""

from __future__ import annotations

import pytest

from rx_honeybee.client.seen import SeenIds


def test_seen_ids_are_bounded_and_forget_the_oldest_first() -> None:
    seen = SeenIds(3)
    assert [seen.add(i) for i in "abca"] == [True, True, True, False]
    assert seen.add("d") and len(seen) == 3
    assert "a" not in seen and "d" in seen  # the oldest went first
    assert seen.add("a")  # forgotten, so new again
    with pytest.raises(ValueError):
        SeenIds(0)
