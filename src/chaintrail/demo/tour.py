"""The steps of the demo, each a real ``chaintrail`` command run in this process.

Running the commands rather than calling the Python API shows the reader exactly what to type
to do the same on their own data; each command is printed before it runs. The demo stops at
the first command that fails and returns its exit code.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from chaintrail.cli import main
from chaintrail.demo import (
    FAMOUS_TXID,
    LANGUAGES,
    SIM_BLOCKS,
    SIM_SCALE,
    SIM_SEED,
    extra_blocks,
    shipped_blocks,
)
from chaintrail.report.pdf import cjk_fonts_present
from chaintrail.workspace import Workspace


class StepFailed(Exception):
    """A command of the demo exited non-zero; ``code`` is its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the demo writes: two workspaces, the simulated economy and the outputs."""

    root: Path

    @property
    def real(self) -> Path:
        return self.root / "real"

    @property
    def sim(self) -> Path:
        return self.root / "sim"

    @property
    def case(self) -> Path:
        return self.root / "case"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def eth_sim(self) -> Path:
        return self.root / "sim-eth"

    @property
    def eth_case(self) -> Path:
        return self.root / "case-eth"


def heading(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


def cli(*args: str) -> None:
    """Print and run one command; StepFailed when it exits non-zero."""
    print(f"\n$ chaintrail {' '.join(args)}", flush=True)
    code = main(list(args))
    if code != 0:
        raise StepFailed(code)


def real_blocks(layout: Layout, shared: Path) -> None:
    """Part 1: real mainnet blocks, their provenance, the first payment between two people."""
    heading("Part 1: real Bitcoin blocks (shipped with the package, offline)")
    w = ("-w", str(layout.real))
    blocks = [str(shipped_blocks())] + [str(p) for p in extra_blocks(shared)]
    cli(*w, "init")
    cli(*w, "ingest", "btc-blocks", *blocks)
    cli(*w, "stats")  # the sources: each file's path, read time and SHA-256
    cli(*w, "tx", FAMOUS_TXID)
    cli(*w, "trace", "--from", f"{FAMOUS_TXID}:1", "--max-hops", "5")


def top_case(case_ws: Path, out: Path, name: str = "triage.json") -> str:
    """The case the triage ranked first; writes every case's triage figures to ``name``."""
    with Workspace.open(case_ws) as ws:
        ids = [c["case_id"] for c in ws.cases.list()["cases"]]
        ranked = sorted(
            (t for t in (ws.cases.show(i)["triage"] for i in ids) if t is not None),
            key=lambda t: int(t["rank"]),
        )
    (out / name).write_text(
        json.dumps({"cases": ranked}, indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    if not ranked:
        raise StepFailed(1)
    return str(ranked[0]["case_id"])


def investigation(layout: Layout, *, scale: float, seed: int) -> None:
    """Part 2: a scam wave from victim reports to freeze letters and a verified evidence bundle."""
    heading(
        "Part 2: an investigation on a simulated scam-wave economy\n"
        "(the real blocks hold no scheme; the simulator writes blocks, its service tags and the "
        "victims' reports)"
    )
    w = ("-w", str(layout.case))
    truth = layout.sim / "truth"
    cli("simulate", "--scenario", "scam-wave", "--seed", str(seed), "--blocks", str(SIM_BLOCKS),
        "--scale", str(scale), "-o", str(layout.sim))  # fmt: skip
    cli(*w, "init")
    cli(*w, "ingest", "btc-blocks", str(layout.sim / "blocks"))
    cli(*w, "tags", "import", str(truth / "tagpack.yaml"))
    cli(*w, "cluster")

    heading("Victim reports: import (bad rows are kept and explained), then on-chain verification")
    cli(*w, "cases", "import", str(truth / "reports.csv"))
    cli(*w, "cases", "rejected")
    cli(*w, "cases", "verify")

    heading("Triage: one case per scheme, traced to exchanges and ranked by what can be recovered")
    cli(*w, "cases", "triage")
    layout.out.mkdir(parents=True, exist_ok=True)
    case = top_case(layout.case, layout.out)
    print(f"\nThe top case is {case}; every case's figures: {layout.out / 'triage.json'}")

    heading(f"Paperwork for {case}: reports in four languages, freeze letters, evidence bundle")
    fmt = "pdf" if cjk_fonts_present() else "html"
    if fmt == "html":
        print(
            "\nNOTE: the Noto CJK fonts are not installed ('make sysdeps' installs "
            "fonts-noto-cjk), so the reports are written as HTML instead of PDF."
        )
    for lang in LANGUAGES:
        report = layout.out / f"report-{case}-{lang}.{fmt}"
        cli(*w, "report", case, "--lang", lang, "--format", fmt, "-o", str(report))
    cli(*w, "freeze-requests", case, "-o", str(layout.out / "freeze"))
    bundle = layout.out / f"evidence-{case}.zip"
    cli(*w, "evidence", case, "--format", fmt, "-o", str(bundle))
    cli("evidence", "verify", str(bundle))
    cli(*w, "audit", "verify")


def ethereum(layout: Layout, *, seed: int) -> None:
    """Part 3: a USDT and ether scam on Ethereum, from reports to letters to the exchanges."""
    heading(
        "Part 3: a stablecoin scam on Ethereum (simulated: exchanges sweeping customers' deposit\n"
        "addresses, merchants, and a scam laundering USDT and ether through hops to mule accounts)"
    )
    w = ("-w", str(layout.eth_case))
    sim, truth = layout.eth_sim, layout.eth_sim / "truth"
    cli("simulate", "--scenario", "eth-exchanges", "--seed", str(seed), "-o", str(sim))
    token = json.loads((truth / "summary.json").read_text(encoding="utf-8"))["token"]
    cli(*w, "init")
    cli(*w, "ingest", "eth-etl", *(str(sim / "etl" / f) for f in
                                   ("blocks.json", "transactions.json", "logs.json")))  # fmt: skip
    # an ethereum-etl export carries no token metadata: the investigator names the token
    cli(*w, "tokens", "add", token, "--symbol", "USDT", "--decimals", "6", "--name",
        "Tether USD (simulated)")  # fmt: skip
    cli(*w, "tags", "import", str(truth / "tagpack.yaml"))
    cli(*w, "cluster")  # detects the exchanges' deposit addresses by their sweeps
    cli(*w, "cases", "import", str(truth / "reports.csv"))
    cli(*w, "cases", "verify")
    cli(*w, "cases", "triage")
    case = top_case(layout.eth_case, layout.out, "triage-eth.json")
    figures = json.loads((layout.out / "triage-eth.json").read_text(encoding="utf-8"))
    deposit = next(e["address"] for e in figures["cases"][0]["endpoints"] if e.get("hot_wallet"))
    cli(*w, "address", deposit, "--limit", "5")  # a detected deposit address and its hot wallet
    fmt = "pdf" if cjk_fonts_present() else "html"
    cli(*w, "report", case, "--lang", "ko", "--format", fmt, "-o",
        str(layout.out / f"report-{case}-ko.{fmt}"))  # fmt: skip
    cli(*w, "freeze-requests", case, "-o", str(layout.out / "freeze-eth"))
    bundle = layout.out / f"evidence-{case}.zip"
    cli(*w, "evidence", case, "--format", fmt, "-o", str(bundle))
    cli("evidence", "verify", str(bundle))


def closing(layout: Layout) -> None:
    """Where every output and workspace lies."""
    heading("Where everything is")
    for path in sorted(layout.out.rglob("*")):
        if path.is_file():
            print(f"  {path}  ({path.stat().st_size:,} bytes)")
    print(f"\nworkspaces: {layout.real} (real blocks), {layout.case} (the investigation), "
          f"{layout.eth_case} (Ethereum)")  # fmt: skip
    print(f"simulated economies and their ground truth: {layout.sim}, {layout.eth_sim}")


def run_demo(root: Path, shared: Path, *, scale: float = SIM_SCALE, seed: int = SIM_SEED) -> int:
    """Rebuild ``root`` from scratch and run the three parts; the exit code of the first
    failure."""
    shutil.rmtree(root, ignore_errors=True)
    layout = Layout(root)
    try:
        real_blocks(layout, shared)
        investigation(layout, scale=scale, seed=seed)
        ethereum(layout, seed=seed)
        closing(layout)
    except StepFailed as failed:
        return failed.code
    return 0


__all__ = ["Layout", "StepFailed", "run_demo"]
