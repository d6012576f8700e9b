"""``python -m rx_honeybee``: the ``rxnostr`` command."""

from __future__ import annotations

import sys

from rx_honeybee.cli import main

sys.exit(main())
