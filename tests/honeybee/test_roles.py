"""Tests for rx_honeybee.roles: the two roles and the guard that keeps them apart."""

from __future__ import annotations

import pytest

from rx_honeybee.errors import HoneybeeError, RoleError
from rx_honeybee.roles import Role, require_role


def test_role_values() -> None:
    assert {role.name: role.value for role in Role} == {
        "INITIATOR": "initiator",
        "RESPONDER": "responder",
    }
    assert Role("initiator") is Role.INITIATOR
    assert Role("responder") is Role.RESPONDER


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.name)
def test_the_wanted_role_passes(role: Role) -> None:
    require_role(role, role, "anything")  # raises on a mismatch


def test_a_responder_connection_refuses_an_initiator_action() -> None:
    with pytest.raises(RoleError) as info:
        require_role(Role.RESPONDER, Role.INITIATOR, "send_req")
    message = str(info.value)
    assert "send_req" in message
    assert "initiator" in message and "responder" in message
    assert message.index("initiator") < message.index("responder")  # wanted, then actual


def test_an_initiator_connection_refuses_a_responder_action() -> None:
    with pytest.raises(RoleError) as info:
        require_role(Role.INITIATOR, Role.RESPONDER, "send_event")
    message = str(info.value)
    assert message.startswith("send_event needs a responder connection, this one is a")
    assert message.endswith("initiator")


def test_the_message_uses_the_right_article_for_initiator() -> None:
    with pytest.raises(RoleError) as wanted:
        require_role(Role.RESPONDER, Role.INITIATOR, "publish_event")
    with pytest.raises(RoleError) as actual:
        require_role(Role.INITIATOR, Role.RESPONDER, "send_event")
    assert str(wanted.value) == (
        "publish_event needs an initiator connection, this one is a responder"
    )
    assert str(actual.value) == "send_event needs a responder connection, this one is an initiator"


def test_role_error_is_caught_as_type_error_and_honeybee_error() -> None:
    with pytest.raises(TypeError):
        require_role(Role.RESPONDER, Role.INITIATOR, "send_close")
    with pytest.raises(HoneybeeError):
        require_role(Role.INITIATOR, Role.RESPONDER, "send_eose")
