"""A connection's inbound hot path: every envelope, straight from the socket's reader.

Built once per connection as a closure over locals (attribute lookups and calls cost on
this path, which the stream benchmark holds to ≥ 0.85× a raw aiohttp + ujson loop): count
it, hand it to ``messages`` subscribers if any, route it to ``channels()`` once they exist,
with the canonical ``["EVENT",`` front sent straight to its channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rx_honeybee.channels import EVENT_FRONT
from rx_honeybee.errors import UnknownEnvelopeType

if TYPE_CHECKING:
    from rx_honeybee.connection import Connection

__all__ = ["inbound_path"]


def inbound_path(conn: Connection) -> Callable[[str | bytes], None]:
    """Return ``deliver(envelope)`` for ``conn``; sizes are counted in UTF-8 bytes.

    A binary frame is decoded as UTF-8 (streams carry ``str``, as typed); one that is not
    UTF-8 is reported as ``UnknownEnvelopeType`` and dropped.
    """
    metrics = conn.metrics
    inbound = conn._counted  # the metrics' counters, or private ones (never stamped)
    messages = conn._messages
    push = messages.on_next

    def deliver(envelope: str | bytes) -> None:
        inbound.count += 1  # Metrics.record_received, inlined: no call per envelope
        if type(envelope) is str:
            if envelope.isascii():
                inbound.size += len(envelope)
            else:
                inbound.size += len(envelope.encode("utf-8", "surrogatepass"))
        else:  # a binary frame: Nostr speaks text, so it must hold UTF-8 text
            inbound.size += len(envelope)
            try:
                envelope = envelope.decode("utf-8")  # type: ignore[union-attr]
            except UnicodeDecodeError as exc:
                detail = f"a binary frame that is not UTF-8 text ({exc.reason})"
                conn.report(UnknownEnvelopeType(envelope, detail))
                return
        if not inbound.stamp_due:
            metrics.stamp_received()
        if messages.observed:
            push(envelope)
        hub = conn._hub
        if hub is not None:
            head = envelope[:9]
            if head == EVENT_FRONT:  # binary frames were decoded above
                hub.push_event(envelope)
            else:
                hub.dispatch(envelope)

    return deliver
