"""rx_mana's benchmarks in one run (SPEC §8): the write queue, then the prepared broadcast.

Each part prints ratios against a baseline measured in the same run:

- bench/mana_queue_bench.py: ``PriorityWriteQueue`` per envelope on the uncontended path
  ÷ honeybee's ``WriteQueue`` (target ≤ 1.15×), and how many writes a CLOSE waits behind
  when 1,000 REQs are queued (target ≤ 1);
- bench/mana_broadcast_bench.py: CPU per broadcast of one 2 KB event to 500 responder
  connections without ÷ with ``PreparedCache``, deflate on (target ≥ 2×) and off.

Run: .venv/bin/python bench/mana_bench.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in ("mana_queue_bench.py", "mana_broadcast_bench.py"):
        print(f"== {script}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / script)], check=False).returncode
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
