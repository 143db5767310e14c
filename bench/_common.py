"""What the benchmarks share: where the real data is, and a description of the machine."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """$CHAINTRAIL_DATA or ../shared/data; exits with a message when neither holds btc/."""
    env = os.environ.get("CHAINTRAIL_DATA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (candidate / "btc").is_dir():
            return candidate
    sys.exit("real data not found: set CHAINTRAIL_DATA or provide ../shared/data")


def machine(**versions: str) -> dict[str, object]:
    """CPU model, cores, RAM, Python, platform and load, plus the given library versions."""
    model, ram_kib = "unknown", 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_kib / 2**20, 1),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **versions,
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
