"""Private implementations of the operators in :mod:`rx_honeybee.operators`."""

from __future__ import annotations

from ._backoff_notifier import backoff_notifier_
from ._rate_limit import rate_limit_
from ._retry_when import retry_when_

__all__ = ["backoff_notifier_", "rate_limit_", "retry_when_"]
