"""Errors raised or reported by rx_honeybee.

Every error is a :class:`HoneybeeError`; builtins are mixed in where a caller would
reasonably catch them that way::

    HoneybeeError
    ├── ConnectionFailed (ConnectionError)     dialling failed; ``category`` says how
    │   └── ConnectionTimeout (TimeoutError)   the dial or handshake timed out
    ├── ConnectionClosed (ConnectionError)     the socket closed under us (``code``)
    ├── InvalidState (RuntimeError)            the connection cannot do that now
    ├── RoleError (TypeError)                  initiator call on a responder or reverse
    ├── MaxReconnectAttemptsExceeded           gave up reconnecting (``__cause__``: last fault)
    ├── ConnectionUnhealthy                    health checks failed ``failures`` times
    │   └── PongTimeout (TimeoutError)         one pong did not come back in time
    ├── EnvelopeTooLarge                       over ``max_message_size``; nothing written
    ├── QueueFull                              the bounded write queue is full
    ├── WriteFailed (ConnectionError)          the socket refused a write
    ├── UnknownEnvelopeType                    an inbound envelope without a readable label
    ├── ChannelFull                            a bounded inbound buffer overflowed
    ├── RelayNotFound (KeyError)               pool: no such relay
    ├── RelayAlreadyExists                     pool: relay already added
    ├── SubscriptionNotFound (KeyError)        no such subscription id
    ├── SubscriptionDuplicate                  subscription id already in use
    ├── SubscriptionClosed                     the relay answered CLOSED (``reason``, ``prefix``)
    ├── UnexpectedOk                           an OK that matches no pending publish
    └── PublishTimeout (TimeoutError)          no OK for an event in time

Failure categories (``ConnectionFailed.category``) let a circuit breaker tell them apart:
``refused``, ``dns``, ``handshake`` (HTTP status in ``status``), ``timeout``, ``network``,
``invalid-url``.
"""

from __future__ import annotations

__all__ = [
    "ChannelFull",
    "ConnectionClosed",
    "ConnectionFailed",
    "ConnectionTimeout",
    "ConnectionUnhealthy",
    "EnvelopeTooLarge",
    "HoneybeeError",
    "InvalidState",
    "MaxReconnectAttemptsExceeded",
    "PongTimeout",
    "PublishTimeout",
    "QueueFull",
    "RelayAlreadyExists",
    "RelayNotFound",
    "RoleError",
    "SubscriptionClosed",
    "SubscriptionDuplicate",
    "SubscriptionNotFound",
    "UnexpectedOk",
    "UnknownEnvelopeType",
    "WriteFailed",
]


class HoneybeeError(Exception):
    """Base of every error rx_honeybee raises or reports."""


class ConnectionFailed(HoneybeeError, ConnectionError):
    """Dialling a relay failed."""

    def __init__(
        self, url: str, category: str, detail: str = "", status: int | None = None
    ) -> None:
        super().__init__(
            f"connection to {url} failed ({category}){': ' + detail if detail else ''}"
        )
        self.url = url  # where we dialled
        self.category = category  # refused | dns | handshake | timeout | network | invalid-url
        self.status = status  # HTTP status of a refused handshake, else None


class ConnectionTimeout(ConnectionFailed, TimeoutError):
    """Dialling or the handshake did not finish within ``connect_timeout``."""

    def __init__(self, url: str, detail: str = "") -> None:
        super().__init__(url, "timeout", detail)


class ConnectionClosed(HoneybeeError, ConnectionError):
    """The socket closed while we still wanted it."""

    def __init__(self, url: str, code: int | None, reason: str = "") -> None:
        super().__init__(
            f"connection to {url} closed (code {code}){': ' + reason if reason else ''}"
        )
        self.url = url  # the peer
        self.code = code  # WebSocket close code (1006 for an aborted TCP connection)
        self.reason = reason  # close reason sent by the peer, if any


class InvalidState(HoneybeeError, RuntimeError):
    """The operation is not possible in the connection's current status."""


class RoleError(HoneybeeError, TypeError):
    """An initiator function was called on a responder connection, or the reverse."""


class MaxReconnectAttemptsExceeded(HoneybeeError):
    """Reconnection gave up; the last failure is chained as ``__cause__``."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} reconnection attempts")
        self.attempts = attempts  # how many reconnections were tried


class ConnectionUnhealthy(HoneybeeError):
    """Health checks failed ``failures`` times in a row; the socket is dropped."""

    def __init__(self, url: str, failures: int, detail: str = "") -> None:
        text = f"connection to {url} unhealthy after {failures} failed health checks"
        super().__init__(text + (f": {detail}" if detail else ""))
        self.url = url  # the peer
        self.failures = failures  # consecutive failed checks


class PongTimeout(ConnectionUnhealthy, TimeoutError):
    """A pong did not arrive within ``pong_timeout``."""

    def __init__(self, url: str, failures: int, timeout: float) -> None:
        super().__init__(url, failures, f"no pong within {timeout}s")
        self.timeout = timeout  # seconds waited


class EnvelopeTooLarge(HoneybeeError):
    """An envelope is over ``max_message_size`` bytes; it was not queued."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"envelope of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size  # encoded size in bytes
        self.limit = limit  # configured maximum


class QueueFull(HoneybeeError):
    """The bounded write queue holds ``capacity`` envelopes, or ``max_bytes`` bytes, already."""

    def __init__(self, capacity: int, max_bytes: int | None = None) -> None:
        if max_bytes is None:
            super().__init__(f"write queue full ({capacity} envelopes)")
        else:
            super().__init__(f"write queue full ({max_bytes} bytes waiting)")
        self.capacity = capacity  # configured queue size
        self.max_bytes = max_bytes  # configured byte budget, when that is what ran out


class WriteFailed(HoneybeeError, ConnectionError):
    """The socket refused a write; the envelope stays queued for the next socket."""


class UnknownEnvelopeType(HoneybeeError):
    """An inbound envelope whose label cannot be read (the roots error is the cause)."""

    def __init__(self, envelope: str | bytes, detail: str) -> None:
        super().__init__(f"unknown envelope type: {detail}")
        self.envelope = envelope  # the offending text (kept for diagnosis)


class ChannelFull(HoneybeeError):
    """A bounded inbound buffer overflowed and applied its policy."""


class RelayNotFound(HoneybeeError, KeyError):
    """The pool has no relay with that URL."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "relay not found"


class RelayAlreadyExists(HoneybeeError):
    """The pool already has a relay with that URL."""


class SubscriptionNotFound(HoneybeeError, KeyError):
    """No active subscription has that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "subscription not found"


class SubscriptionDuplicate(HoneybeeError):
    """A subscription with that id is already active."""


class SubscriptionClosed(HoneybeeError):
    """The relay ended a subscription with CLOSED."""

    def __init__(self, sub_id: str, reason: str, prefix: str) -> None:
        super().__init__(f"subscription {sub_id} closed by relay: {reason}")
        self.sub_id = sub_id  # the subscription that ended
        self.reason = reason  # the relay's full message
        self.prefix = prefix  # machine-readable prefix ("auth-required", ...) or ""


class UnexpectedOk(HoneybeeError):
    """A relay's OK matched no pending publish: late, unasked, or without a usable id."""


class PublishTimeout(HoneybeeError, TimeoutError):
    """No OK came back for an event within the timeout."""

    def __init__(self, event_id: str, timeout: float) -> None:
        super().__init__(f"no OK for event {event_id} within {timeout}s")
        self.event_id = event_id  # the event published
        self.timeout = timeout  # seconds waited
