"""ConnectionStatus: an IntEnum with stable names, order and values."""

from __future__ import annotations

import enum

import pytest

from rx_roots import ConnectionStatus

EXPECTED = [
    "DISCONNECTED",
    "CONNECTING",
    "CONNECTED",
    "CLOSING",
    "CLOSED",
    "ERROR",
    "BACKOFF",
    "AWAITING",
    "UPGRADING",
]


def test_is_an_int_enum() -> None:
    assert issubclass(ConnectionStatus, enum.IntEnum)


def test_members_in_order() -> None:
    assert [m.name for m in ConnectionStatus] == EXPECTED
    assert len(ConnectionStatus) == 9


@pytest.mark.parametrize(("value", "name"), list(enumerate(EXPECTED)))
def test_values_are_stable(value: int, name: str) -> None:
    member = ConnectionStatus[name]
    assert member.value == value
    assert member == value
    assert ConnectionStatus(value) is member
    assert int(member) == value


def test_members_compare_as_ints() -> None:
    assert ConnectionStatus.DISCONNECTED < ConnectionStatus.CONNECTED < ConnectionStatus.UPGRADING
    assert sorted(ConnectionStatus, reverse=True)[0] is ConnectionStatus.UPGRADING


def test_unknown_value_is_refused() -> None:
    with pytest.raises(ValueError):
        ConnectionStatus(9)
