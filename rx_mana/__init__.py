"""rx_mana: advanced, optional flow control over rx_honeybee (SPEC §5).

Each piece is a small policy object (no I/O) plus the operator or adapter that plugs it
into an unmodified honeybee ``Connection``, ``Session``, ``Pool`` or ``Relay`` through
the extension points of ``rx_honeybee.interfaces``; an application that never imports
rx_mana runs unchanged.

- :class:`PriorityWriteQueue` — ``Connection(url, config, write_queue=...)``: control
  envelopes first, watermarks and ``pressure``, batching.
- :class:`OperationRegistry` and :func:`tracked` — in-flight publishes, requests and
  queries: wait, cancel (a request sends CLOSE), clean up.
- :class:`PreparedCache` and :func:`broadcast` — one envelope to many connections,
  encoded (and deflated) once: ``Relay(fan_out=...)``, ``Pool(fan_out=...)``.
- :class:`CategoryRateLimiter`, :func:`limit_by_category`, :func:`limit_connection` —
  token buckets per category; ``rate-limited:`` halves that connection's rates.
- :class:`ReplayBuffer` and :func:`with_replay` — what could not be delivered is replayed
  after the reconnect, by priority then age; what is given up is reported.

Resilience:

- :class:`CircuitBreaker` — ``Connection(url, config, reconnect=breaker.notifier)``:
  per-category backoff, stops dialling a failing relay, probes it again.
- :class:`HealthTracker` and :func:`track_health` — latency percentiles, trend, misses,
  a score and a status from a connection's pongs, errors and state.
- :class:`BalancedPool` — a Pool that can pick one relay (five strategies) and fail over.
- :class:`SubscriptionRepository` — ``Session(conn, registry=repo)``: restore order and
  rate, ``max_subscriptions`` honoured by queueing REQs (configured, from NIP-11, or
  learned from "too many" answers).
- :class:`ConnectionStatistics`, :func:`watch`, :func:`prometheus` — counts, EWMA rates,
  quality, the Prometheus text format.
"""

from __future__ import annotations

from rx_mana.balanced_pool import BalancedPool, BalancedPoolStats, NoHealthyRelay, QueryTimeout
from rx_mana.breaker import BreakerStats, CircuitBreaker, CircuitState, FailureRecord
from rx_mana.broadcast import broadcast, cached_fan_out
from rx_mana.categories import DEFAULT_RATE_CATEGORIES, CategoryLimit, label_category
from rx_mana.category_operator import limit_by_category
from rx_mana.errors import ReplayGivenUp
from rx_mana.failures import DEFAULT_CATEGORIES, FailureStrategy
from rx_mana.health import HealthTracker, track_health
from rx_mana.health_report import HealthReport, HealthStatus
from rx_mana.limited_sender import LimitedSender, limit_connection
from rx_mana.operations import (
    Operation,
    OperationCancelled,
    OperationNotFound,
    OperationRegistry,
    OperationStats,
    OperationStatus,
    OperationTimedOut,
    OperationType,
)
from rx_mana.prepared import Prepared, PreparedCache, PreparedStats
from rx_mana.prometheus import PoolStatistics, prometheus
from rx_mana.rate_limit import CategoryRateLimiter, RateLimiterStats
from rx_mana.replay import ReplayBuffer, ReplayStats
from rx_mana.replaying import Replaying, with_replay
from rx_mana.repository import (
    RepositoryStats,
    SubscriptionRepository,
    SubscriptionUsage,
    learn_limit_from_relay,
)
from rx_mana.statistics import ConnectionStatistics, ConnectionStats, watch
from rx_mana.strategies import (
    Candidate,
    ConsistentHash,
    LeastConnections,
    ResponseTime,
    RoundRobin,
    Strategy,
    WeightedRandom,
)
from rx_mana.tracked import tracked
from rx_mana.write_queue import PriorityWriteQueue, WriteQueueStats, label_priority

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_RATE_CATEGORIES",
    "BalancedPool",
    "BalancedPoolStats",
    "BreakerStats",
    "Candidate",
    "CategoryLimit",
    "CategoryRateLimiter",
    "CircuitBreaker",
    "CircuitState",
    "ConnectionStatistics",
    "ConnectionStats",
    "ConsistentHash",
    "FailureRecord",
    "FailureStrategy",
    "HealthReport",
    "HealthStatus",
    "HealthTracker",
    "LeastConnections",
    "LimitedSender",
    "NoHealthyRelay",
    "Operation",
    "OperationCancelled",
    "OperationNotFound",
    "OperationRegistry",
    "OperationStats",
    "OperationStatus",
    "OperationTimedOut",
    "OperationType",
    "PoolStatistics",
    "Prepared",
    "PreparedCache",
    "PreparedStats",
    "PriorityWriteQueue",
    "QueryTimeout",
    "RateLimiterStats",
    "ReplayBuffer",
    "ReplayGivenUp",
    "ReplayStats",
    "Replaying",
    "RepositoryStats",
    "ResponseTime",
    "RoundRobin",
    "Strategy",
    "SubscriptionRepository",
    "SubscriptionUsage",
    "WeightedRandom",
    "WriteQueueStats",
    "broadcast",
    "cached_fan_out",
    "label_category",
    "label_priority",
    "learn_limit_from_relay",
    "limit_by_category",
    "limit_connection",
    "prometheus",
    "track_health",
    "tracked",
    "watch",
    "with_replay",
]
