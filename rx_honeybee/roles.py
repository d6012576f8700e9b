"""Which side of a connection we are: Nostr's roles are asymmetric (client vs relay)."""

from __future__ import annotations

import enum

from rx_honeybee.errors import RoleError

__all__ = ["Role", "require_role"]


class Role(enum.Enum):
    """INITIATOR dials relays (a client); RESPONDER accepts clients (a relay)."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


def require_role(role: Role, want: Role, action: str) -> None:
    """Raise ``RoleError`` unless ``role`` is ``want``."""
    if role is not want:
        raise RoleError(f"{action} needs {_a(want)} connection, this one is {_a(role)}")


def _a(role: Role) -> str:
    return f"an {role.value}" if role.value[0] in "aeiou" else f"a {role.value}"
