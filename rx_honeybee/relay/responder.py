"""The relay side of NIP-01: answer clients on responder connections.

Each function validates its arguments with rx_roots (typed ``RootsError`` on bad input),
checks the connection's role (``RoleError`` on an initiator) and queues the envelope on
the connection's write queue (``EnvelopeTooLarge``, ``QueueFull``, ``InvalidState``).
"""

from __future__ import annotations

from rx_honeybee.config import InboundLimit
from rx_honeybee.connection import Connection
from rx_honeybee.roles import Role, require_role
from rx_honeybee.transport.server import Server, serve
from rx_roots import (
    JsonObject,
    enclose_auth_challenge,
    enclose_closed,
    enclose_eose,
    enclose_notice,
    enclose_ok,
    enclose_subscription_event,
)

__all__ = [
    "InboundLimit",
    "Server",
    "send_auth_challenge",
    "send_closed",
    "send_eose",
    "send_event",
    "send_notice",
    "send_ok",
    "serve",
]


def _responder(conn: Connection, action: str) -> Connection:
    require_role(conn.role, Role.RESPONDER, action)
    return conn


def send_event(conn: Connection, sub_id: str, event: JsonObject) -> None:
    """Deliver ``event`` to the client's subscription ``sub_id``."""
    _responder(conn, "send_event").send(enclose_subscription_event(sub_id, event))


def send_eose(conn: Connection, sub_id: str) -> None:
    """Tell the client that stored events for ``sub_id`` are done (EOSE)."""
    _responder(conn, "send_eose").send(enclose_eose(sub_id))


def send_notice(conn: Connection, message: str) -> None:
    """Send a human-readable NOTICE."""
    _responder(conn, "send_notice").send(enclose_notice(message))


def send_ok(conn: Connection, event_id: str, accepted: bool, message: str = "") -> None:
    """Answer a published event (``message`` may carry a NIP-01 prefix, e.g. ``invalid:``)."""
    _responder(conn, "send_ok").send(enclose_ok(event_id, accepted, message))


def send_auth_challenge(conn: Connection, challenge: str) -> None:
    """Ask the client to authenticate (NIP-42)."""
    _responder(conn, "send_auth_challenge").send(enclose_auth_challenge(challenge))


def send_closed(conn: Connection, sub_id: str, message: str) -> None:
    """End the client's subscription ``sub_id`` (``message`` with a prefix, e.g. ``error:``)."""
    _responder(conn, "send_closed").send(enclose_closed(sub_id, message))
