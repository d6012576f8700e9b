"""Tests for rx_honeybee.errors: one base, builtins mixed in, structured fields, messages."""

from __future__ import annotations

import pytest

from rx_honeybee import errors
from rx_honeybee.errors import (
    ChannelFull,
    ConnectionClosed,
    ConnectionFailed,
    ConnectionTimeout,
    ConnectionUnhealthy,
    EnvelopeTooLarge,
    HoneybeeError,
    InvalidState,
    MaxReconnectAttemptsExceeded,
    PongTimeout,
    PublishTimeout,
    QueueFull,
    RelayAlreadyExists,
    RelayNotFound,
    RoleError,
    SubscriptionClosed,
    SubscriptionDuplicate,
    SubscriptionNotFound,
    UnexpectedOk,
    UnknownEnvelopeType,
    WriteFailed,
)

URL = "wss://relay.example.com"

# One instance of every error, built as the library builds them.
SAMPLES: dict[type[HoneybeeError], HoneybeeError] = {
    HoneybeeError: HoneybeeError("x"),
    ConnectionFailed: ConnectionFailed(URL, "refused", "Connect call failed"),
    ConnectionTimeout: ConnectionTimeout(URL, "after 10.0s"),
    ConnectionClosed: ConnectionClosed(URL, 1006, "abnormal"),
    InvalidState: InvalidState("the connection is closed"),
    RoleError: RoleError("send_req needs an initiator connection"),
    MaxReconnectAttemptsExceeded: MaxReconnectAttemptsExceeded(5),
    ConnectionUnhealthy: ConnectionUnhealthy(URL, 3),
    PongTimeout: PongTimeout(URL, 3, 15.0),
    EnvelopeTooLarge: EnvelopeTooLarge(2000, 1024),
    QueueFull: QueueFull(1000),
    WriteFailed: WriteFailed("socket closed"),
    UnknownEnvelopeType: UnknownEnvelopeType('["NOPE"]', "unknown label NOPE"),
    ChannelFull: ChannelFull("events buffer overflowed"),
    RelayNotFound: RelayNotFound(URL),
    RelayAlreadyExists: RelayAlreadyExists(URL),
    SubscriptionNotFound: SubscriptionNotFound("sub1"),
    SubscriptionDuplicate: SubscriptionDuplicate("sub1"),
    SubscriptionClosed: SubscriptionClosed("sub1", "auth-required: sign in", "auth-required"),
    PublishTimeout: PublishTimeout("ab" * 32, 10.0),
    UnexpectedOk: UnexpectedOk("OK for no pending event ''"),
}

# The tree of the module docstring: class -> (parent, builtin mixed in or None).
TREE: dict[type[HoneybeeError], tuple[type[Exception], type[Exception] | None]] = {
    ConnectionFailed: (HoneybeeError, ConnectionError),
    ConnectionTimeout: (ConnectionFailed, TimeoutError),
    ConnectionClosed: (HoneybeeError, ConnectionError),
    InvalidState: (HoneybeeError, RuntimeError),
    RoleError: (HoneybeeError, TypeError),
    MaxReconnectAttemptsExceeded: (HoneybeeError, None),
    ConnectionUnhealthy: (HoneybeeError, None),
    PongTimeout: (ConnectionUnhealthy, TimeoutError),
    EnvelopeTooLarge: (HoneybeeError, None),
    QueueFull: (HoneybeeError, None),
    WriteFailed: (HoneybeeError, ConnectionError),
    UnknownEnvelopeType: (HoneybeeError, None),
    ChannelFull: (HoneybeeError, None),
    RelayNotFound: (HoneybeeError, KeyError),
    RelayAlreadyExists: (HoneybeeError, None),
    SubscriptionNotFound: (HoneybeeError, KeyError),
    SubscriptionDuplicate: (HoneybeeError, None),
    SubscriptionClosed: (HoneybeeError, None),
    PublishTimeout: (HoneybeeError, TimeoutError),
    UnexpectedOk: (HoneybeeError, None),
}

BUILTINS = (ConnectionError, TimeoutError, RuntimeError, TypeError, KeyError, ValueError)


def test_all_lists_every_error_class_of_the_module() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert set(errors.__all__) == classes
    assert set(errors.__all__) == {cls.__name__ for cls in SAMPLES}


def test_the_tree_covers_every_error() -> None:
    assert set(TREE) | {HoneybeeError} == set(SAMPLES)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_every_error_is_a_honeybee_error(cls: type[HoneybeeError]) -> None:
    assert isinstance(SAMPLES[cls], HoneybeeError)
    assert type(SAMPLES[cls]) is cls


@pytest.mark.parametrize("cls", list(TREE), ids=lambda c: c.__name__)
def test_the_tree_of_the_docstring(cls: type[HoneybeeError]) -> None:
    parent, builtin = TREE[cls]
    assert issubclass(cls, parent)
    assert cls.__name__ in (errors.__doc__ or "")
    inherited = {b for b in BUILTINS if issubclass(parent, b)}
    mixed = {b for b in BUILTINS if issubclass(cls, b)} - inherited
    assert mixed == ({builtin} if builtin else set())


def test_the_builtins_callers_catch() -> None:
    with pytest.raises(ConnectionError):
        raise SAMPLES[ConnectionFailed]
    with pytest.raises(TimeoutError):
        raise SAMPLES[ConnectionTimeout]
    with pytest.raises(ConnectionError):
        raise SAMPLES[ConnectionTimeout]
    with pytest.raises(RuntimeError):
        raise SAMPLES[InvalidState]
    with pytest.raises(TypeError):
        raise SAMPLES[RoleError]
    with pytest.raises(KeyError):
        raise SAMPLES[RelayNotFound]
    with pytest.raises(KeyError):
        raise SAMPLES[SubscriptionNotFound]
    with pytest.raises(TimeoutError):
        raise SAMPLES[PongTimeout]
    with pytest.raises(TimeoutError):
        raise SAMPLES[PublishTimeout]


# --- structured fields and messages -------------------------------------------------------


def test_connection_failed() -> None:
    error = ConnectionFailed(URL, "handshake", "Invalid response status", status=403)
    assert (error.url, error.category, error.status) == (URL, "handshake", 403)
    assert str(error) == f"connection to {URL} failed (handshake): Invalid response status"


def test_connection_failed_without_detail_or_status() -> None:
    error = ConnectionFailed(URL, "network")
    assert error.status is None
    assert str(error) == f"connection to {URL} failed (network)"


def test_connection_timeout_has_the_timeout_category() -> None:
    error = ConnectionTimeout(URL, "after 10.0s")
    assert (error.url, error.category, error.status) == (URL, "timeout", None)
    assert str(error) == f"connection to {URL} failed (timeout): after 10.0s"


def test_connection_closed() -> None:
    error = ConnectionClosed(URL, 1001, "going away")
    assert (error.url, error.code, error.reason) == (URL, 1001, "going away")
    assert str(error) == f"connection to {URL} closed (code 1001): going away"
    assert str(ConnectionClosed(URL, None)) == f"connection to {URL} closed (code None)"


def test_max_reconnect_attempts_exceeded_chains_the_last_fault() -> None:
    last = ConnectionFailed(URL, "refused")
    try:
        raise MaxReconnectAttemptsExceeded(5) from last
    except MaxReconnectAttemptsExceeded as error:
        assert error.attempts == 5
        assert error.__cause__ is last
        assert str(error) == "gave up after 5 reconnection attempts"


def test_connection_unhealthy() -> None:
    error = ConnectionUnhealthy(URL, 3, "no pong")
    assert (error.url, error.failures) == (URL, 3)
    assert str(error) == f"connection to {URL} unhealthy after 3 failed health checks: no pong"
    assert str(ConnectionUnhealthy(URL, 2)).endswith("after 2 failed health checks")


def test_pong_timeout() -> None:
    error = PongTimeout(URL, 1, 15.0)
    assert (error.url, error.failures, error.timeout) == (URL, 1, 15.0)
    assert str(error).endswith("no pong within 15.0s")


def test_envelope_too_large() -> None:
    error = EnvelopeTooLarge(2000, 1024)
    assert (error.size, error.limit) == (2000, 1024)
    assert str(error) == "envelope of 2000 bytes exceeds the limit of 1024 bytes"


def test_queue_full() -> None:
    error = QueueFull(1000)
    assert error.capacity == 1000
    assert str(error) == "write queue full (1000 envelopes)"


def test_unknown_envelope_type_keeps_the_envelope() -> None:
    error = UnknownEnvelopeType(b'["NOPE"]', "unknown label NOPE")
    assert error.envelope == b'["NOPE"]'
    assert str(error) == "unknown envelope type: unknown label NOPE"


def test_key_error_subclasses_print_their_message_without_quotes() -> None:
    # KeyError's own __str__ would repr() the argument: "'wss://...'"
    assert str(RelayNotFound(URL)) == URL
    assert str(SubscriptionNotFound("sub1")) == "sub1"
    assert str(RelayNotFound()) == "relay not found"
    assert str(SubscriptionNotFound()) == "subscription not found"


def test_subscription_closed() -> None:
    error = SubscriptionClosed("sub1", "rate-limited: slow down", "rate-limited")
    assert (error.sub_id, error.reason, error.prefix) == (
        "sub1",
        "rate-limited: slow down",
        "rate-limited",
    )
    assert str(error) == "subscription sub1 closed by relay: rate-limited: slow down"


def test_publish_timeout() -> None:
    error = PublishTimeout("ab" * 32, 2.5)
    assert (error.event_id, error.timeout) == ("ab" * 32, 2.5)
    assert str(error) == f"no OK for event {'ab' * 32} within 2.5s"


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_every_message_is_non_empty(cls: type[HoneybeeError]) -> None:
    assert str(SAMPLES[cls]).strip()
