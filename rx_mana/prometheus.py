"""Render :class:`~rx_mana.statistics.ConnectionStatistics` in the Prometheus text format.

SPEC §5 item 10: a scraper reads a pool's numbers. :func:`prometheus` writes the text
exposition format 0.0.4 by hand (``# HELP``/``# TYPE`` once per metric, label values
escaped), so no extra package is needed; every sample carries ``relay="<url>"``::

    text = prometheus({url: stats_of[url] for url in pool.relays})

:class:`PoolStatistics` is what the ``rxnostr.statistics`` entry point offers the CLI
(``rxnostr req --stats / --metrics-port``): one ``ConnectionStatistics`` per relay.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from reactivex import abc

from rx_mana.statistics import ConnectionStatistics, ConnectionStats, Watchable, watch

__all__ = ["CONTENT_TYPE", "PoolStatistics", "escape_label", "prometheus"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The HTTP Content-Type of :func:`prometheus`'s text."""

_WINDOW_NAMES = ("1m", "5m", "15m")

# name, type, help, and the samples of one relay: (extra labels, value)
_Sample = tuple[tuple[tuple[str, str], ...], float]
_METRICS: tuple[tuple[str, str, str], ...] = (
    ("rxnostr_messages_total", "counter", "Envelopes sent (written) and received."),
    ("rxnostr_messages_by_label_total", "counter", "Envelopes by direction and label."),
    ("rxnostr_bytes_total", "counter", "UTF-8 bytes of the envelopes, by direction."),
    ("rxnostr_errors_total", "counter", "Faults reported on the connection's errors."),
    ("rxnostr_reconnections_total", "counter", "Sockets that came up after the first."),
    ("rxnostr_message_rate", "gauge", "Envelopes per second, exponentially weighted."),
    ("rxnostr_error_rate", "gauge", "Faults per second, exponentially weighted."),
    ("rxnostr_latency_seconds", "gauge", "Ping/pong round trip percentiles."),
    ("rxnostr_uptime_seconds", "gauge", "Seconds since the latest CONNECTED (0 if down)."),
    ("rxnostr_quality", "gauge", "Connection quality in 0..1, and its parts."),
)


def escape_label(value: str) -> str:
    """Escape a label value: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _samples(name: str, s: ConnectionStats) -> Iterator[_Sample]:
    if name == "rxnostr_messages_total":
        yield (("direction", "sent"),), s.sent
        yield (("direction", "received"),), s.received
    elif name == "rxnostr_messages_by_label_total":
        for direction, counts in (("sent", s.sent_by_label), ("received", s.received_by_label)):
            for label, count in sorted(counts.items()):
                yield (("direction", direction), ("label", label)), count
    elif name == "rxnostr_bytes_total":
        yield (("direction", "sent"),), s.bytes_sent
        yield (("direction", "received"),), s.bytes_received
    elif name == "rxnostr_errors_total":
        yield (), s.errors
    elif name == "rxnostr_reconnections_total":
        yield (), s.reconnections
    elif name in ("rxnostr_message_rate", "rxnostr_error_rate"):
        rates = s.message_rates if name == "rxnostr_message_rate" else s.error_rates
        for window, rate in zip(_WINDOW_NAMES, rates, strict=True):
            yield (("window", window),), rate
    elif name == "rxnostr_latency_seconds":
        for quantile, value in (("0.5", s.p50), ("0.9", s.p90), ("0.99", s.p99)):
            if value is not None:  # no sample rather than a made-up number
                yield (("quantile", quantile),), value
    elif name == "rxnostr_uptime_seconds":
        yield (), s.uptime
    else:
        parts = {"score": s.quality, "stability": s.stability}
        parts.update(reliability=s.reliability, performance=s.performance)
        for part, value in parts.items():
            yield (("part", part),), value


def prometheus(stats_by_url: Mapping[str, ConnectionStatistics]) -> str:
    """The Prometheus text exposition of every relay's statistics (``relay`` = the key)."""
    snapshots = [(url, stats.stats()) for url, stats in stats_by_url.items()]
    lines: list[str] = []
    for name, kind, help_text in _METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for url, snapshot in snapshots:
            for extra, value in _samples(name, snapshot):
                labels = (("relay", url), *extra)
                text = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels)
                lines.append(f"{name}{{{text}}} {_number(value)}")
    return "\n".join(lines) + "\n"


class PoolStatistics:
    """One :class:`ConnectionStatistics` per relay: what the CLI's plugin hook builds.

    The ``rxnostr.statistics`` entry point names this class; ``rx_honeybee``'s command
    calls ``watch(url, conn)`` for each relay, then ``reports()`` or ``exposition()``.
    """

    def __init__(self, *, scheduler: abc.SchedulerBase | None = None) -> None:
        self._scheduler = scheduler
        self.by_url: dict[str, ConnectionStatistics] = {}
        self._watching: list[abc.DisposableBase] = []

    def watch(self, url: str, conn: Watchable) -> None:
        """Start counting ``conn`` under ``url``."""
        stats = self.by_url.setdefault(url, ConnectionStatistics(scheduler=self._scheduler))
        stats.url = url
        self._watching.append(watch(conn, stats))

    def reports(self) -> list[dict[str, Any]]:
        """Every relay's ``report()``, in the order they were watched."""
        return [stats.report() for stats in self.by_url.values()]

    def exposition(self) -> str:
        """Every relay's numbers in the Prometheus text format."""
        return prometheus(self.by_url)

    def dispose(self) -> None:
        """Stop counting (the numbers stay readable)."""
        for watching in self._watching:
            watching.dispose()
        self._watching.clear()
