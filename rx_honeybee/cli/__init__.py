"""The ``rxnostr`` command line (``rxnostr relay|req|publish|demo``); see :mod:`.main`."""

from __future__ import annotations

from rx_honeybee.cli.main import EXIT_NOTHING, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, main

__all__ = ["EXIT_NOTHING", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "main"]
