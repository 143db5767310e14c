"""Run the demo through the real command line (see the package docstring)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from chaintrail.cli import main
from chaintrail.demo import FAMOUS_TXID, extra_blocks, shipped_blocks


def run() -> int:
    workspace = Path(os.environ.get("CHAINTRAIL_DEMO_WORKSPACE", "demo-workspace"))
    shared = Path(os.environ.get("CHAINTRAIL_DATA", Path.cwd().parent / "shared" / "data"))
    shutil.rmtree(workspace, ignore_errors=True)
    w = ["-w", str(workspace)]
    blocks = [str(shipped_blocks())] + [str(p) for p in extra_blocks(shared)]
    steps = [
        ["init"],
        ["ingest", "btc-blocks", *blocks],
        ["stats"],
        ["tx", FAMOUS_TXID],
        ["address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--limit", "5"],
        ["cluster"],
        # Block 496: one transaction spends coins of three addresses (multi-input evidence).
        ["explain", "18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ", "1ByLSV2gLRcuqUmfdYcpPQH8Npm8cccsFg"],
        ["trace", "--from", f"{FAMOUS_TXID}:1", "--max-hops", "5"],
    ]
    for step in steps:
        print(f"\n$ chaintrail -w {workspace} {' '.join(step)}", flush=True)
        code = main([*w, *step])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(run())
