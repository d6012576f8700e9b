"""rx_honeybee: reactive Nostr connections over aiohttp.

Connections expose hot Observables (``messages``, ``state``, ``errors``); reconnection is
a ``retry_when`` pipeline; routing is ``route()`` (``group_by``) or ``channels()``.
"""

from __future__ import annotations

from rx_honeybee.channels import channels
from rx_honeybee.checked import EventChecker
from rx_honeybee.client.initiator import publish, request
from rx_honeybee.client.pool import Pool
from rx_honeybee.client.publishes import OkResult
from rx_honeybee.client.retry import SessionConfig
from rx_honeybee.client.session import Session
from rx_honeybee.config import (
    CompressionConfig,
    ConnectionConfig,
    HealthConfig,
    InboundLimit,
    RateLimitConfig,
    ReconnectConfig,
)
from rx_honeybee.connection import Connection
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
from rx_honeybee.health import monitor_health
from rx_honeybee.interfaces import ConnectionFactory, Notifier, OutgoingQueue, SubscriptionRegistry
from rx_honeybee.metrics import Metrics
from rx_honeybee.operators import backoff_notifier, rate_limit, retry_when
from rx_honeybee.roles import Role
from rx_honeybee.router import route
from rx_honeybee.transport.server import Server, serve
from rx_roots import ConnectionStatus, InvalidEvent

__all__ = [
    "ChannelFull",
    "CompressionConfig",
    "Connection",
    "ConnectionClosed",
    "ConnectionConfig",
    "ConnectionFactory",
    "ConnectionFailed",
    "ConnectionStatus",
    "ConnectionTimeout",
    "ConnectionUnhealthy",
    "EnvelopeTooLarge",
    "EventChecker",
    "HealthConfig",
    "HoneybeeError",
    "InboundLimit",
    "InvalidEvent",
    "InvalidState",
    "MaxReconnectAttemptsExceeded",
    "Metrics",
    "Notifier",
    "OkResult",
    "OutgoingQueue",
    "Pool",
    "PongTimeout",
    "PublishTimeout",
    "QueueFull",
    "RateLimitConfig",
    "ReconnectConfig",
    "RelayAlreadyExists",
    "RelayNotFound",
    "Role",
    "RoleError",
    "Server",
    "Session",
    "SessionConfig",
    "SubscriptionClosed",
    "SubscriptionDuplicate",
    "SubscriptionNotFound",
    "SubscriptionRegistry",
    "UnexpectedOk",
    "UnknownEnvelopeType",
    "WriteFailed",
    "backoff_notifier",
    "channels",
    "monitor_health",
    "publish",
    "rate_limit",
    "request",
    "retry_when",
    "route",
    "serve",
]
