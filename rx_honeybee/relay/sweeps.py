"""What the relay's periodic sweep closes: idle clients, and the fullest queues when the
relay's outgoing bytes pass their budget.

- A client with an open subscription is waiting for live events, so it is never idle; one
  with none that has been silent for ``timeout`` seconds only holds a socket slot (and, on
  a LAN, one of the per-address slots other tools of that machine need).
- Each client's queue is capped (``max_queued_bytes``), but a thousand clients that never
  read would still hold a thousand budgets; past the relay's own budget, the clients with
  the most bytes waiting are disconnected until the rest fits.
"""

from __future__ import annotations

from collections.abc import Iterable

from rx_honeybee.relay.clients import Client

__all__ = ["idle", "over_budget"]


def idle(clients: Iterable[Client], now: float, timeout: float) -> list[Client]:
    """The clients holding no subscription and silent since before ``now - timeout``."""
    return [
        client
        for client in clients
        if not client.dropped and not client.subs and now - client.last_seen > timeout
    ]


def over_budget(clients: Iterable[Client], budget: int) -> list[Client]:
    """The fewest clients, fullest queues first, whose going brings the rest within ``budget``."""
    waiting = [(client.conn.pending_bytes, client) for client in clients if not client.dropped]
    total = sum(size for size, _ in waiting)
    if total <= budget:  # the usual case: nothing to sort
        return []
    chosen: list[Client] = []
    for size, client in sorted(waiting, key=lambda item: -item[0]):
        if total <= budget:
            break
        chosen.append(client)
        total -= size
    return chosen
