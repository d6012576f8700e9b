"""Where a relay may be told to deviate from NIP-01; the defaults never do.

The relay core asks these questions at fixed points of its work. Production answers
"behave"; :class:`rx_honeybee.testing.Faults` overrides them to script misbehaviour, so
fault injection adds to the relay without living inside it.
"""

from __future__ import annotations

import enum

from rx_honeybee.connection import Connection

__all__ = ["RelayHooks", "Silence"]


class Silence(enum.Enum):
    """What :meth:`RelayHooks.next_event` returns for an EVENT that gets no answer at all."""

    SILENT = "silent"


class RelayHooks:
    """The relay's questions, each answered the NIP-01 way."""

    def admit(self, conn: Connection) -> bool:
        """A client arrived; False drops it at once."""
        return True

    def hold(self, conn: Connection, envelope: str) -> bool:
        """True keeps ``envelope`` back instead of handling it now."""
        return False

    def arrived(self, conn: Connection, envelope: str) -> bool:
        """``envelope`` came from ``conn``; True drops the client instead of handling it."""
        return False

    def left(self, conn: Connection) -> None:
        """A client went away."""

    def next_req(self) -> str | None:
        """A CLOSED message to answer this REQ with instead of serving it."""
        return None

    def next_event(self) -> tuple[bool, str] | Silence | None:
        """An answer to this EVENT instead of storing it: an OK, silence, or None."""
        return None
