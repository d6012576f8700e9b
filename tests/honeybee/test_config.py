"""Tests for rx_honeybee.config: SPEC defaults, validation at construction, immutability."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from rx_honeybee.config import (
    CompressionConfig,
    ConnectionConfig,
    HealthConfig,
    RateLimitConfig,
    ReconnectConfig,
)

ALL = [ConnectionConfig, ReconnectConfig, HealthConfig, RateLimitConfig, CompressionConfig]


def fields(instance: Any) -> dict[str, Any]:
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}


# --- defaults (SPEC §4) -------------------------------------------------------------------


def test_connection_defaults() -> None:
    config = ConnectionConfig()
    assert fields(config) == {
        "connect_timeout": 10.0,
        "max_message_size": 1 << 20,
        "write_queue_size": 1000,
        "reconnect": ReconnectConfig(),
        "health": HealthConfig(),
        "rate_limit": RateLimitConfig(),
        "compression": CompressionConfig(),
        "metrics_enabled": True,
        "write_queue_bytes": None,
    }


def test_reconnect_defaults() -> None:
    assert fields(ReconnectConfig()) == {
        "enabled": True,
        "max_attempts": 5,
        "initial_delay": 1.0,
        "max_delay": 30.0,
        "factor": 2.0,
        "jitter": 0.2,
        "stable_after": 5.0,
    }


def test_health_defaults() -> None:
    assert fields(HealthConfig()) == {
        "enabled": True,
        "ping_interval": 25.0,
        "pong_timeout": 15.0,
        "failure_threshold": 3,
    }


def test_rate_limit_defaults() -> None:
    assert fields(RateLimitConfig()) == {"enabled": False, "messages_per_sec": 10.0, "burst": 30}


def test_compression_defaults() -> None:
    assert fields(CompressionConfig()) == {"enabled": False, "level": 6}


# --- validation ---------------------------------------------------------------------------

INVALID: list[tuple[type, dict[str, Any], str]] = [
    (ConnectionConfig, {"connect_timeout": 0.0}, "connect_timeout"),
    (ConnectionConfig, {"connect_timeout": -1.0}, "connect_timeout"),
    (ConnectionConfig, {"connect_timeout": math.nan}, "connect_timeout"),
    (ConnectionConfig, {"max_message_size": 0}, "max_message_size"),
    (ConnectionConfig, {"max_message_size": -1}, "max_message_size"),
    (ConnectionConfig, {"write_queue_size": 0}, "write_queue_size"),
    (ConnectionConfig, {"write_queue_size": -5}, "write_queue_size"),
    (ConnectionConfig, {"write_queue_bytes": 0}, "write_queue_bytes"),
    (ConnectionConfig, {"max_message_size": 100, "write_queue_bytes": 99}, "write_queue_bytes"),
    (ReconnectConfig, {"max_attempts": -1}, "max_attempts"),
    (ReconnectConfig, {"initial_delay": 0.0}, "initial_delay"),
    (ReconnectConfig, {"initial_delay": -1.0}, "initial_delay"),
    (ReconnectConfig, {"max_delay": 0.0}, "max_delay"),
    (ReconnectConfig, {"max_delay": -30.0}, "max_delay"),
    (ReconnectConfig, {"initial_delay": 5.0, "max_delay": 4.0}, "max_delay"),
    (ReconnectConfig, {"factor": 0.5}, "factor"),
    (ReconnectConfig, {"factor": 0.0}, "factor"),
    (ReconnectConfig, {"factor": -2.0}, "factor"),
    (ReconnectConfig, {"factor": math.nan}, "factor"),
    (ReconnectConfig, {"jitter": -0.01}, "jitter"),
    (ReconnectConfig, {"jitter": 1.01}, "jitter"),
    (ReconnectConfig, {"jitter": math.nan}, "jitter"),
    (ReconnectConfig, {"stable_after": -1.0}, "stable_after"),
    (ReconnectConfig, {"stable_after": math.nan}, "stable_after"),
    (HealthConfig, {"ping_interval": 0.0}, "ping_interval"),
    (HealthConfig, {"ping_interval": -25.0}, "ping_interval"),
    (HealthConfig, {"pong_timeout": 0.0}, "pong_timeout"),
    (HealthConfig, {"pong_timeout": -1.0}, "pong_timeout"),
    (HealthConfig, {"ping_interval": 10.0, "pong_timeout": 10.5}, "pong_timeout"),
    (HealthConfig, {"failure_threshold": 0}, "failure_threshold"),
    (HealthConfig, {"failure_threshold": -1}, "failure_threshold"),
    (RateLimitConfig, {"messages_per_sec": 0.0}, "messages_per_sec"),
    (RateLimitConfig, {"messages_per_sec": -1.0}, "messages_per_sec"),
    (RateLimitConfig, {"burst": 0}, "burst"),
    (RateLimitConfig, {"burst": -3}, "burst"),
    (CompressionConfig, {"level": -1}, "level"),
    (CompressionConfig, {"level": 10}, "level"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    INVALID,
    ids=[f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw, _ in INVALID],
)
def test_an_invalid_value_raises_value_error_naming_the_field(
    cls: type, kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


VALID_EDGES: list[tuple[type, dict[str, Any]]] = [
    (ReconnectConfig, {"max_attempts": 0}),  # unlimited
    (ReconnectConfig, {"jitter": 0.0}),
    (ReconnectConfig, {"stable_after": 0.0}),  # the backoff starts over at each handshake
    (ReconnectConfig, {"jitter": 1.0}),
    (ReconnectConfig, {"factor": 1.0}),
    (ReconnectConfig, {"initial_delay": 2.0, "max_delay": 2.0}),
    (ReconnectConfig, {"enabled": False}),
    (HealthConfig, {"ping_interval": 10.0, "pong_timeout": 10.0}),  # SPEC: may be equal
    (HealthConfig, {"failure_threshold": 1}),
    (RateLimitConfig, {"burst": 1, "messages_per_sec": 0.1}),
    (CompressionConfig, {"level": 0}),
    (CompressionConfig, {"level": 9}),
    (ConnectionConfig, {"connect_timeout": 0.001, "max_message_size": 1, "write_queue_size": 1}),
]


@pytest.mark.parametrize(("cls", "kwargs"), VALID_EDGES, ids=lambda v: str(v))
def test_boundary_values_are_accepted(cls: type, kwargs: dict[str, Any]) -> None:
    config = cls(**kwargs)
    for key, value in kwargs.items():
        assert getattr(config, key) == value


def test_replace_validates_too() -> None:
    with pytest.raises(ValueError, match="jitter"):
        dataclasses.replace(ReconnectConfig(), jitter=2.0)
    assert dataclasses.replace(ReconnectConfig(), jitter=0.5).jitter == 0.5


# --- immutability -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_configs_are_frozen(cls: type) -> None:
    config = cls()
    name = dataclasses.fields(config)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, name, getattr(config, name))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_configs_are_hashable_and_compare_by_value(cls: type) -> None:
    assert cls() == cls()
    assert hash(cls()) == hash(cls())
