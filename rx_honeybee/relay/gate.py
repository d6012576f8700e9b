"""Why the relay refuses a well-formed event before it reaches the store.

Three checks, cheapest first: a ``created_at`` too far ahead (a flood dated years ahead
would push every honest event out of reach), an event too large to ever be delivered
within the frame limit (it would be stored and never served), and its id and signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from rx_honeybee.relay.info import MAX_SUB_ID
from rx_honeybee.write_queue import encoded_size

__all__ = ["EventGate", "Verifier"]

Verifier = Callable[[Mapping[str, Any]], bool]
"""``verify(event)``: True when the event's id and signature are right."""

# bytes around the event in ["EVENT",<sub id>,<event>]: the longest sub id, escaped
_ENVELOPE_ROOM = len('["EVENT","",]') + 6 * MAX_SUB_ID + 2


class EventGate:
    """The relay's checks on a checked event; each refusal is an ``OK false`` reason.

    Args:
        verify: checks an event's id and signature; unchecked when None.
        max_future: seconds ``created_at`` may lie ahead of this machine's clock.
        max_message_length: the largest frame a delivery may take.
    """

    def __init__(self, verify: Verifier | None, max_future: float, max_message_length: int) -> None:
        self.verify = verify
        self.max_future = max_future
        self.max_message_length = max_message_length

    def problem(self, event: Mapping[str, Any], text: str) -> str:
        """Why ``event`` (``text``: its JSON) is refused (``"invalid: ..."``), or ``""``."""
        if event["created_at"] > time.time() + self.max_future:
            return "invalid: created_at too far in the future"
        if self.undeliverable(text):
            return f"invalid: too large to deliver (max {self.max_message_length} bytes)"
        if not self.verified(event):
            return "invalid: bad event id or signature"
        return ""

    def verified(self, event: Mapping[str, Any]) -> bool:
        """The verifier's verdict (True without one); a verifier that raises says no."""
        if self.verify is None:
            return True
        try:
            return bool(self.verify(event))
        except Exception:
            return False

    def undeliverable(self, text: str) -> bool:
        """True when ``["EVENT",<sub id>,<text>]`` could exceed the frame limit."""
        return encoded_size(text) + _ENVELOPE_ROOM > self.max_message_length
