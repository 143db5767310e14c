"""``python -m chaintrail.demo``: the demo in ./demo-workspace (see the package docstring)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chaintrail.demo import SIM_SCALE
from chaintrail.demo.tour import run_demo


def run(scale: float = SIM_SCALE) -> int:
    """The demo with its folders from the environment; ``scale`` sizes the simulated economy."""
    root = Path(os.environ.get("CHAINTRAIL_DEMO_WORKSPACE", "demo-workspace"))
    shared = Path(os.environ.get("CHAINTRAIL_DATA", Path.cwd().parent / "shared" / "data"))
    return run_demo(root, shared, scale=scale)


if __name__ == "__main__":
    sys.exit(run())
