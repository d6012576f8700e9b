"""Configuration: frozen dataclasses, every field defaulted, validated at construction.

Zero config works (``ConnectionConfig()``); override one component with
``dataclasses.replace`` or by passing a sub-config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CompressionConfig",
    "ConnectionConfig",
    "HealthConfig",
    "InboundLimit",
    "RateLimitConfig",
    "ReconnectConfig",
]


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True, slots=True)
class ReconnectConfig:
    """Reconnection with exponential backoff; ``max_attempts=0`` retries forever.

    The attempt count and the delay start over only once a socket stayed up
    ``stable_after`` seconds: a relay that accepts and drops at once (a flap) is an
    attempt like a refusal, so ``max_attempts`` ends a reconnect storm.
    """

    enabled: bool = True
    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    stable_after: float = 5.0

    def __post_init__(self) -> None:
        if not self.stable_after >= 0:
            raise ValueError(f"stable_after must be >= 0, got {self.stable_after}")
        if self.max_attempts < 0:
            raise ValueError(f"max_attempts must be >= 0, got {self.max_attempts}")
        _positive("initial_delay", self.initial_delay)
        _positive("max_delay", self.max_delay)
        if self.max_delay < self.initial_delay:
            raise ValueError("max_delay must be >= initial_delay")
        if not self.factor >= 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within 0..1, got {self.jitter}")


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Ping every ``ping_interval``; a pong later than ``pong_timeout`` is a failure."""

    enabled: bool = True
    ping_interval: float = 25.0
    pong_timeout: float = 15.0
    failure_threshold: int = 3

    def __post_init__(self) -> None:
        _positive("ping_interval", self.ping_interval)
        _positive("pong_timeout", self.pong_timeout)
        if self.pong_timeout > self.ping_interval:
            raise ValueError("pong_timeout must be <= ping_interval")
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Token bucket on outgoing envelopes: excess waits, nothing is dropped."""

    enabled: bool = False
    messages_per_sec: float = 10.0
    burst: int = 30

    def __post_init__(self) -> None:
        _positive("messages_per_sec", self.messages_per_sec)
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")


@dataclass(frozen=True, slots=True)
class CompressionConfig:
    """permessage-deflate (RFC 7692), negotiated with the peer."""

    enabled: bool = False
    level: int = 6

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 9:
            raise ValueError(f"level must be within 0..9, got {self.level}")


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """Everything a Connection needs; every field has a sensible default."""

    connect_timeout: float = 10.0
    max_message_size: int = 1 << 20
    write_queue_size: int = 1000
    reconnect: ReconnectConfig = field(default_factory=ReconnectConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    metrics_enabled: bool = True
    write_queue_bytes: int | None = None  # bytes waiting at most; None: count-bound only

    def __post_init__(self) -> None:
        _positive("connect_timeout", self.connect_timeout)
        _positive("max_message_size", self.max_message_size)
        _positive("write_queue_size", self.write_queue_size)
        if self.write_queue_bytes is not None and self.write_queue_bytes < self.max_message_size:
            raise ValueError(
                f"write_queue_bytes ({self.write_queue_bytes}) must hold one message"
                f" of max_message_size ({self.max_message_size})"
            )


@dataclass(frozen=True, slots=True)
class InboundLimit:
    """A token bucket per client on inbound envelopes.

    Envelopes beyond it are dropped with a ``NOTICE`` (``rate-limited:``); a client that
    keeps flooding (``max_dropped`` drops in a row) is disconnected with code 1008.
    """

    messages_per_sec: float = 100.0
    burst: int = 200
    max_dropped: int = 100

    def __post_init__(self) -> None:
        _positive("messages_per_sec", self.messages_per_sec)
        if self.burst < 1 or self.max_dropped < 1:
            raise ValueError("burst and max_dropped must be >= 1")
