"""Errors rx_mana reports; each is a :class:`~rx_honeybee.errors.HoneybeeError`.

- ``ReplayGivenUp``: the replay buffer stopped trying to deliver an envelope.
"""

from __future__ import annotations

from rx_honeybee.errors import HoneybeeError

__all__ = ["ReplayGivenUp"]


class ReplayGivenUp(HoneybeeError):
    """An envelope the replay buffer gave up on; it is not sent again.

    Reported on the connection's ``errors`` so that nothing leaves the buffer silently.
    ``reason`` says why: ``"attempts"`` (replayed ``max_attempts`` times, never confirmed),
    ``"expired"`` (older than ``max_age``), ``"evicted"`` (the buffer was full and this
    was the lowest priority, then the oldest), ``"refused"`` (the connection's queue
    refused it for good, the cause chained) or ``"closed"`` (the connection ended).
    """

    def __init__(self, envelope: str, attempts: int, reason: str = "attempts") -> None:
        shown = envelope if len(envelope) <= 80 else envelope[:77] + "..."
        super().__init__(f"replay gave up ({reason}) after {attempts} replays: {shown}")
        self.envelope = envelope  # the envelope, as the application sent it
        self.attempts = attempts  # how many times it was replayed (the first send not counted)
        self.reason = reason  # attempts | expired | evicted | refused | closed
