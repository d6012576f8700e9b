"""The session's one retry policy, and the phase every pending REQ or EVENT is in.

A REQ or EVENT a relay refuses is retried at most in two ways, counted per socket (a
live subscription lives through many): once after the user's NIP-42 AUTH hook answered
``auth-required:`` (authentication holds for one connection, so each new socket may ask
again), and up to ``max_retries`` times after a ``rate-limited:`` answer, each later than
the last (the delay doubles per connection and falls back to nothing after a success).
Anything else is final.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from reactivex import abc

__all__ = ["Pending", "Phase", "Refusal", "RetryPolicy", "SessionConfig"]


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """How a session resumes and retries.

    Args:
        resume_overlap: seconds subtracted from the local clock at a socket's loss when a
            subscription that had its EOSE is resumed (``since``), for clock skew between
            authors, relay and us.
        seen_cap: how many delivered event ids a subscription remembers to drop repeats
            (the oldest are forgotten first; constant cost per event at any size).
        rate_limit_delay: first delay before retrying after ``rate-limited:``; doubles on
            each further one, down to nothing again after a success.
        max_rate_limit_delay: cap of that delay.
        max_retries: retries of one REQ or EVENT after ``rate-limited:``.
    """

    resume_overlap: int = 60
    seen_cap: int = 100_000
    rate_limit_delay: float = 1.0
    max_rate_limit_delay: float = 30.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.resume_overlap < 0 or self.seen_cap < 1 or self.max_retries < 0:
            raise ValueError("resume_overlap and max_retries must be >= 0, seen_cap >= 1")
        if not 0 < self.rate_limit_delay <= self.max_rate_limit_delay:
            raise ValueError("need 0 < rate_limit_delay <= max_rate_limit_delay")


class Phase(enum.Enum):
    """Where a pending REQ or EVENT is; each phase says who acts next."""

    QUEUED = "queued"  # in the write queue: the next socket writes it
    SENT = "sent"  # a socket took it (``sent_on``): a later socket sends it again
    RETRY_WAIT = "retry wait"  # refused with rate-limited: a timer sends it again
    AUTHENTICATING = "authenticating"  # refused with auth-required: the AUTH hook runs
    ENDED = "ended"  # answered, failed or disposed: nothing more to do


class Pending:
    """What a session tracks for one REQ or EVENT it sent and may send again."""

    __slots__ = ("auth_on", "phase", "retries", "sent_on", "timer")

    def __init__(self) -> None:
        self.phase = Phase.QUEUED  # see Phase
        self.sent_on = 0  # socket generation that took the latest send
        self.auth_on = 0  # socket generation whose one AUTH retry was used (0: none)
        self.retries = 0  # rate-limited retries used on socket ``sent_on``
        self.timer: abc.DisposableBase | None = None  # the pending delayed retry

    def __call__(self, generation: int) -> None:
        """Socket ``generation`` wrote it (``Connection.send(..., on_written=item)``).

        A pending item is sent again only after its previous send was written and
        answered or lost, so a confirmation always belongs to the latest send.
        """
        if self.phase is Phase.QUEUED:
            self.phase = Phase.SENT
            if generation != self.sent_on:  # a new socket: its own retries
                self.retries = 0
            self.sent_on = generation

    def stale(self, generation: int) -> bool:
        """Whether a socket older than ``generation`` took it and nothing answered it."""
        return self.phase is Phase.SENT and self.sent_on < generation

    def end(self) -> None:
        """Nothing more to do: cancel a pending retry."""
        self.phase = Phase.ENDED
        if self.timer is not None:
            self.timer.dispose()
            self.timer = None


class Refusal(enum.Enum):
    """What to do with a refused REQ or EVENT."""

    AUTHENTICATE = "authenticate"  # run the AUTH hook, then send it once more
    RETRY_LATER = "retry later"  # send it again after the policy's delay
    FINAL = "final"  # give the refusal to the caller


class RetryPolicy:
    """Decides retries for one session; holds the connection's current slow-down."""

    __slots__ = ("config", "slowdown")

    def __init__(self, config: SessionConfig) -> None:
        self.config = config  # the knobs
        self.slowdown = 0.0  # current delay before a rate-limited retry (0: none yet)

    def refused(self, item: Pending, prefix: str, can_authenticate: bool) -> Refusal:
        """Decide for ``item`` refused with ``prefix``; count the retry it uses."""
        if prefix == "auth-required" and item.auth_on != item.sent_on and can_authenticate:
            item.auth_on = item.sent_on
            item.phase = Phase.AUTHENTICATING
            return Refusal.AUTHENTICATE
        if prefix == "rate-limited" and item.retries < self.config.max_retries:
            item.retries += 1
            item.phase = Phase.RETRY_WAIT
            return Refusal.RETRY_LATER
        return Refusal.FINAL

    def next_delay(self) -> float:
        """The delay before the next rate-limited retry: doubled each time, capped."""
        cfg = self.config
        self.slowdown = min(cfg.max_rate_limit_delay, max(cfg.rate_limit_delay, 2 * self.slowdown))
        return self.slowdown

    def succeeded(self) -> None:
        """The relay accepted something: back to full speed."""
        self.slowdown = 0.0
