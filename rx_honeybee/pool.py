"""A pool of relays: lives in :mod:`rx_honeybee.client.pool`.

This module keeps the import path ``rx_honeybee.pool`` that users rely on.
"""

from __future__ import annotations

from rx_honeybee.client.pool import Pool

__all__ = ["Pool"]
