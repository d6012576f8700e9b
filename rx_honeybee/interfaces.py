"""Where rx_mana (or a user) plugs into honeybee: small protocols, each with a default here.

Each is accepted by a constructor argument and replaces one default whole:

- :class:`OutgoingQueue` — ``Connection(url, config, write_queue=...)``; the default is
  :class:`~rx_honeybee.write_queue.WriteQueue` (bounded, FIFO, optional rate limit).
- :data:`Notifier` — ``Connection(url, config, reconnect=...)``; the default is
  ``backoff_notifier(config.reconnect, scheduler)`` inside ``retry_when``.
- :class:`SubscriptionRegistry` — ``Session(conn, registry=...)``; the default keeps
  subscriptions in the order they were made (:class:`~rx_honeybee.client.registry.Registry`).
  A registry that is also an :class:`AdmissionControl` decides when each REQ goes out.
- :class:`ConnectionFactory` — ``Pool(urls, config, connection_factory=...)``.
- :data:`FanOut` — ``Pool(..., fan_out=...)`` and ``Relay(..., fan_out=...)``: how one
  envelope is queued on many connections; the default is :func:`send_each` (rx_mana's
  ``broadcast`` with a ``PreparedCache`` encodes and compresses it once for all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reactivex import Observable, abc

from rx_honeybee.config import ConnectionConfig
from rx_honeybee.socket import Link

if TYPE_CHECKING:
    from rx_honeybee.connection import Connection

__all__ = [
    "AdmissionControl",
    "ConnectionFactory",
    "FanOut",
    "Notifier",
    "OutgoingQueue",
    "Sender",
    "SubscriptionRegistry",
    "send_each",
]

Notifier = Callable[[Observable[Exception]], Observable[Any]]
"""``retry_when``'s notifier: gets the socket failures, emits to dial again, errors to give up."""


class OutgoingQueue(Protocol):
    """The queue between ``Connection.send`` and the socket; one writer task per socket."""

    def start(self, scheduler: abc.SchedulerBase) -> None:
        """Wire time-based parts (rate limits, batching) on ``scheduler``; once, at connect."""

    def put(self, envelope: str, priority: int | None = None) -> None:
        """Accept ``envelope`` (``priority`` None: the queue decides).

        Raises ``EnvelopeTooLarge``, ``QueueFull`` or ``InvalidState``; never drops silently.
        """

    async def run(self, link: Link, on_sent: Callable[[str], None]) -> None:
        """Write to ``link`` until cancelled or a write fails (then raise, keeping the
        envelope for the next socket); call ``on_sent`` with each envelope written, the
        same object that was put."""

    async def drained(self) -> None:
        """Return once nothing accepted is left unwritten."""

    def close(self) -> int:
        """Refuse further puts, drop what is left and return how many were unsent."""

    def __len__(self) -> int:
        """Envelopes accepted and not yet written."""


class SubscriptionRegistry(Protocol):
    """What a session restores after a reconnect, and in which order."""

    def add(self, sub_id: str, filters: Sequence[Mapping[str, Any]], priority: int = 0) -> None:
        """A subscription started (a registry keeps a priority the user set before)."""

    def remove(self, sub_id: str) -> None:
        """A subscription ended."""

    def record_activity(
        self, sub_id: str, events: int = 1, response_time: float | None = None
    ) -> None:
        """``events`` arrived for ``sub_id`` (``response_time``: REQ to EOSE, seconds)."""

    def restore_order(self) -> list[str]:
        """The live subscription ids, in the order to send them again after a reconnect."""


@runtime_checkable
class AdmissionControl(Protocol):
    """Optional for a :class:`SubscriptionRegistry`: when each REQ may go out.

    A relay caps the subscriptions it holds per client and throttles REQs; a session whose
    registry has these methods asks it before each REQ instead of sending at once (the
    default registry has neither, and the session sends at once).
    """

    def admit(self, sub_id: str, send: Callable[[], None], restore: bool) -> None:
        """Call ``send`` once, now or later, when ``sub_id``'s REQ may go out.

        ``restore``: a resend after a reconnect. A later ``admit`` of the same id replaces
        the earlier ``send``; ``remove(sub_id)`` drops it. ``send`` never raises.
        """

    def refused(self, sub_id: str, message: str) -> bool:
        """The relay answered CLOSED ``message`` to ``sub_id``.

        True: the registry takes it back (the session keeps the subscription live, says
        nothing to its subscriber and ``admit``s it again); False: the session handles the
        refusal as usual.
        """


class ConnectionFactory(Protocol):
    """Builds a pool's connection to one relay."""

    def __call__(
        self, url: str, config: ConnectionConfig, *, scheduler: abc.SchedulerBase | None
    ) -> Connection:
        """Return a (not yet connected) ``Connection`` to ``url``."""


class Sender(Protocol):
    """Where a fan-out queues an envelope: a ``Connection``, or a relay's client."""

    def send(self, envelope: str, *, priority: int | None = None) -> None:
        """Queue ``envelope``; raise if it cannot be taken."""


FanOut = Callable[[Sequence[Sender], str], list[Exception]]
"""``fan_out(targets, envelope)`` queues ``envelope`` on each target; returns the refusals."""


def send_each(targets: Sequence[Sender], envelope: str) -> list[Exception]:
    """The default :data:`FanOut`: ``send`` on each target, collecting what each raises."""
    failures: list[Exception] = []
    for target in targets:
        try:
            target.send(envelope)
        except Exception as exc:
            failures.append(exc)
    return failures
