"""The connection status enum shared by every layer."""

from __future__ import annotations

import enum

__all__ = ["ConnectionStatus"]


class ConnectionStatus(enum.IntEnum):
    """Where a connection is in its life; values are stable (0..8) for logs and metrics."""

    DISCONNECTED = 0  # not active, no attempt in progress
    CONNECTING = 1  # an attempt is in progress
    CONNECTED = 2  # open and ready for messages
    CLOSING = 3  # shutting down gracefully
    CLOSED = 4  # shut down for good, cleanly
    ERROR = 5  # failed and gave up
    BACKOFF = 6  # waiting before the next reconnection attempt
    AWAITING = 7  # waiting for a precondition before dialling
    UPGRADING = 8  # HTTP upgrade to WebSocket in progress
