"""What a :class:`~rx_mana.health.HealthTracker` says about a connection, and how it reads
errors: the status, the report made after every sample, the counters, and which errors
are missed pongs. Kept apart from the tracker so readers of reports (pools, dashboards,
the statistics exporter) need not import its policy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from rx_honeybee.errors import PongTimeout

__all__ = ["HealthReport", "HealthStats", "HealthStatus", "category_of", "is_miss"]


class HealthStatus(enum.Enum):
    """How a connection is doing, from best to worst."""

    HEALTHY = "healthy"  # pongs come back in time
    DEGRADED = "degraded"  # slow (p90 over the threshold) or skipping some pongs
    UNHEALTHY = "unhealthy"  # skipping pongs at the rate that gets a socket dropped
    FAILING = "failing"  # no socket: the connection is backing off or gave up


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The health derived from the current window.

    ``p50``/``p90``/``p99`` are nearest-rank percentiles of the pong round trips in the
    window, in seconds (None while the window holds none); ``trend`` is the least-squares
    slope of those round trips, in seconds per sample (0.0 with fewer than two);
    ``misses`` counts missed pongs in the window.
    """

    status: HealthStatus
    score: float
    p50: float | None
    p90: float | None
    p99: float | None
    trend: float
    failure_risk: float
    misses: int

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable dict (``status`` by its value)."""
        return {
            "status": self.status.value,
            "score": self.score,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "trend": self.trend,
            "failure_risk": self.failure_risk,
            "misses": self.misses,
        }


@dataclass(frozen=True, slots=True)
class HealthStats:
    """Counts since construction, and the rates over the current window.

    ``samples`` = ``latencies`` + ``misses`` recorded; ``errors``: every error seen, by
    category (its ``category`` attribute, else its class name); ``error_rates``: errors by
    category per sample, over the span of the current window; ``transitions``: status
    changes; ``reports``: reports made; ``status_seconds``: time spent in each status (by
    status value) on the scheduler's clock, empty while no clock is known.
    """

    status: HealthStatus
    samples: int
    latencies: int
    misses: int
    errors: dict[str, int]
    error_rates: dict[str, float]
    transitions: int
    reports: int
    status_seconds: dict[str, float]


def is_miss(error: BaseException) -> bool:
    """Whether ``error`` reports a missed pong.

    A ``PongTimeout``, or the ``ConnectionUnhealthy`` that drops the socket at the
    monitor's threshold: it carries that last miss as ``__cause__`` instead of reporting it.
    """
    return isinstance(error, PongTimeout) or isinstance(error.__cause__, PongTimeout)


def category_of(error: BaseException) -> str:
    """The error's ``category`` attribute (``ConnectionFailed``), else its class name."""
    category = getattr(error, "category", None)
    return category if isinstance(category, str) and category else type(error).__name__
