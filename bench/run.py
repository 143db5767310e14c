"""Run every benchmark of bench/ in one go (what `make bench` does).

Each benchmark is a standalone script that measures chaintrail and a peer a user would
otherwise pick on the same real data in the same run, and prints absolute numbers, ratios and
the machine. Real data comes from $CHAINTRAIL_DATA or ../shared/data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench_parse.py",
    "bench_ingest.py",
    "bench_tags.py",
    "bench_sim.py",
    "bench_cluster.py",
    "bench_trace.py",
    "bench_cases.py",
    "bench_eth.py",
    "bench_eth_trace.py",
    "bench_eth_anvil.py",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = 0
    for name in BENCHES:
        print(f"\n=== {name}", flush=True)
        failed += subprocess.call([sys.executable, str(here / name), *sys.argv[1:]]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
