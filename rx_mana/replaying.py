"""``with_replay``: a :class:`~rx_mana.replay.ReplayBuffer` wired to an unmodified Connection.

It composes over the connection's public surface only: ``state`` (a socket came up or was
lost), ``channels()["OK"]`` (an EVENT was answered), ``send(..., on_written=)`` (a socket
took an envelope) and ``report`` (what was given up goes to ``errors``).
"""

from __future__ import annotations

from reactivex import abc

from rx_honeybee.connection import Connection
from rx_honeybee.errors import EnvelopeTooLarge, HoneybeeError, InvalidState, QueueFull
from rx_honeybee.lean import later
from rx_honeybee.operators import resolve_scheduler
from rx_honeybee.write_queue import encoded_size
from rx_mana.errors import ReplayGivenUp
from rx_mana.replay import Held, ReplayBuffer, ReplayStats
from rx_roots import ConnectionStatus, RootsError, find_ok

__all__ = ["Replaying", "with_replay"]

S = ConnectionStatus
_ENDED = frozenset({S.CLOSING, S.CLOSED, S.ERROR})


def with_replay(conn: Connection, buffer: ReplayBuffer) -> Replaying:
    """Send through ``buffer`` on ``conn``: what cannot be delivered now is replayed later.

    Example::

        replaying = with_replay(conn, ReplayBuffer(max_age=60.0))
        replaying.send(enclose_event(event), priority=1)  # connected or not
        ...
        replaying.dispose()

    Raises:
        InvalidState: neither the buffer nor the connection has a scheduler and no
            asyncio loop runs.
    """
    return Replaying(conn, buffer)


class Replaying:
    """Sends through a replay buffer while watching the connection; see :func:`with_replay`.

    While the connection is CONNECTED and nothing waits for a replay, ``send`` hands the
    envelope to the connection at once; otherwise (dialling, backing off, replaying, or
    the connection's queue full) the buffer keeps it. Each time a socket comes up, the
    buffer is replayed ``batch_size`` at a time, ``batch_delay`` apart, priority first.
    An envelope is confirmed once a socket took it and, for an EVENT, once its OK came;
    an EVENT whose socket died first waits for a replay again. What is given up
    (``max_attempts``, ``max_age``, eviction, a refusal other than a full queue, the
    connection ending) is reported on ``conn.errors`` as
    :class:`~rx_mana.errors.ReplayGivenUp`. A buffer serves one adapter at a time.
    """

    def __init__(self, conn: Connection, buffer: ReplayBuffer) -> None:
        self.conn = conn  # where envelopes go
        self.buffer = buffer  # the policy and its state
        scheduler = resolve_scheduler(buffer.scheduler, conn.scheduler, "with_replay")
        buffer.scheduler = scheduler
        self._scheduler: abc.SchedulerBase = scheduler  # timers of batches and expiry
        self._live: int | None = None  # generation of the current socket, when CONNECTED
        self._batch: abc.DisposableBase | None = None  # the next replay batch, if due
        self._expiry: abc.DisposableBase | None = None  # the next expiry sweep, if due
        self._expiry_at: float | None = None  # when it is due (scheduler seconds)
        self._in_queue: dict[int, Held] = {}  # by id() of the envelope object handed over
        self._disposed = False
        self._ok = conn.channels()["OK"].subscribe(self._on_ok)
        self._state = conn.state.subscribe(self._on_state)  # replays the current status

    # -- the application's side ----------------------------------------------------------

    def send(self, envelope: str, priority: int | None = None) -> None:
        """Send ``envelope`` now if the connection can take it, else keep it for a replay.

        Raises:
            InvalidState: the connection is closing, closed or gave up, or this adapter
                was disposed.
            TypeError: ``envelope`` is not a ``str``.
            EnvelopeTooLarge: over the connection's ``max_message_size`` (nothing kept).
        """
        status = self.conn.status
        if self._disposed or status in _ENDED:
            raise InvalidState(f"cannot send on a connection that is {status.name}")
        if not isinstance(envelope, str):  # a str subclass (a prepared frame) is fine
            raise TypeError(f"an envelope is a str, got {type(envelope).__name__}")
        size, limit = encoded_size(envelope), self.conn.config.max_message_size
        if size > limit:
            raise EnvelopeTooLarge(size, limit)
        buffer = self.buffer
        if self._live is not None and not len(buffer) and self._batch is None:
            held = buffer.track(envelope, priority)
            if self._hand(held):
                return
            self._report(buffer.defer(held))
        else:
            self._report(buffer.hold(envelope, priority))
        self._schedule_batch(buffer.batch_delay)
        self._arm_expiry()

    def stats(self) -> ReplayStats:
        """The buffer's :class:`~rx_mana.replay.ReplayStats`."""
        return self.buffer.stats()

    def dispose(self) -> None:
        """Stop watching the connection; the buffer keeps what still waits (idempotent).

        EVENTs written and not answered wait in the buffer again; envelopes already in the
        connection's queue are left to it.
        """
        if self._disposed:
            return
        self._disposed = True
        self._ok.dispose()
        self._state.dispose()
        self._stop_timers()
        self._in_queue.clear()
        errors = self.buffer.detach()
        if self.conn.status not in _ENDED:
            self._report(errors)

    # -- the connection's side -----------------------------------------------------------

    def _on_state(self, status: ConnectionStatus) -> None:
        if status is S.CONNECTED:
            self._live = self.conn.generation
            self._replay()
            return
        if self._live is not None:  # that socket is gone: its unanswered EVENTs wait again
            self._live = None
            self._cancel_batch()
            self._report(self.buffer.lost())
            self._arm_expiry()
        if status in _ENDED:
            self._stop_timers()
            self._in_queue.clear()
            self._report(self.buffer.abandon())

    def _on_ok(self, envelope: str | bytes) -> None:
        if not self.buffer.awaiting_ok:
            return
        try:
            event_id, _, _ = find_ok(envelope)
        except RootsError:
            return  # not ours to report: the session reads OKs too
        if self.buffer.answered(event_id):
            self._arm_expiry()

    def _on_written(self, held: Held, wire: str, generation: int) -> None:
        self._in_queue.pop(id(wire), None)
        if self._disposed:  # detached: the buffer no longer follows it
            return
        errors = self.buffer.written(held, generation == self._live)
        self._report(errors)
        if len(self.buffer):
            self._schedule_batch(self.buffer.batch_delay)
        self._arm_expiry()

    # -- replaying -----------------------------------------------------------------------

    def _replay(self) -> None:
        """Hand the next batch to the connection; schedule the one after."""
        self._batch = None
        buffer = self.buffer
        self._report(buffer.expire())
        for _ in range(buffer.batch_size):
            held = buffer.take()
            if held is None:
                break
            if not self._hand(held):
                buffer.untake(held)
                break
        if len(buffer):
            self._schedule_batch(buffer.batch_delay)
        self._arm_expiry()

    def _hand(self, held: Held) -> bool:
        """Give ``held`` to the connection; False if it cannot take it now (keep it)."""
        wire = held.envelope
        if id(wire) in self._in_queue:  # the connection confirms by object: use a twin
            wire = (wire + " ")[:-1]
        self._in_queue[id(wire)] = held
        try:
            self.conn.send(
                wire,
                priority=held.priority,
                on_written=lambda generation: self._on_written(held, wire, generation),
            )
        except (QueueFull, InvalidState):  # full, or ending (the state will say so): wait
            self._in_queue.pop(id(wire), None)
            return False
        except HoneybeeError as exc:  # a queue with stricter rules: this one never fits
            self._in_queue.pop(id(wire), None)
            self._report([self.buffer.refuse(held, exc)])
        return True

    def _schedule_batch(self, delay: float) -> None:
        if self._batch is None and self._live is not None and not self._disposed:
            self._batch = later(self._scheduler, delay, self._replay)

    def _cancel_batch(self) -> None:
        if self._batch is not None:
            self._batch.dispose()
            self._batch = None

    def _arm_expiry(self) -> None:
        """Keep one timer, due when the oldest unconfirmed entry expires."""
        due = self.buffer.expires_at()
        if due == self._expiry_at:
            return
        if self._expiry is not None:
            self._expiry.dispose()
            self._expiry = None
        self._expiry_at = due
        if due is not None:
            delay = max(0.0, due - self.buffer.now())
            self._expiry = later(self._scheduler, delay, self._sweep)

    def _sweep(self) -> None:
        self._expiry = None
        self._expiry_at = None
        self._report(self.buffer.expire())
        self._arm_expiry()

    def _stop_timers(self) -> None:
        self._cancel_batch()
        if self._expiry is not None:
            self._expiry.dispose()
            self._expiry = None
        self._expiry_at = None

    def _report(self, errors: list[ReplayGivenUp]) -> None:
        for error in errors:
            self.conn.report(error)
