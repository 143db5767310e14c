"""A real Ethereum node for tests: Anvil on a loopback port, and contracts compiled with solc-js.

Both tools come from npm, pinned, into the project-local ``.tools/node_modules`` (``make test``
installs them). Anvil's binary ships inside the platform package
``@foundry-rs/anvil-<os>-<arch>`` (``bin/anvil``); it is run directly, not through the Node.js
wrapper, so stopping the process stops the node. Where the tools are missing (a machine without
npm) :func:`missing_tools` says why, and the tests skip with that reason.

:class:`Anvil` starts the node with ``--port 0`` (the kernel picks a free port, read back from
the "Listening on" line: no race for a port), the well-known test mnemonic (deterministic
accounts, 10,000 ETH each), a fixed genesis timestamp, and stops it on exit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "node_modules"
CONTRACTS = Path(__file__).resolve().parent / "data" / "eth" / "contracts"
#: Foundry's default development mnemonic: the same ten accounts on every run.
MNEMONIC = "test test test test test test test test test test test junk"
GENESIS_TIME = 1_700_000_000
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_LISTENING = re.compile(rb"Listening on 127\.0\.0\.1:(\d+)")


def anvil_binary() -> Path | None:
    """The Anvil binary from the npm platform package, else ``anvil`` on PATH."""
    system = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    arch = _ARCH.get(platform.machine().lower())
    if system and arch:
        candidate = TOOLS / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("anvil")
    return Path(found) if found else None


def missing_tools() -> str | None:
    """Why the Anvil tests cannot run here, or None when they can.

    With ``CHAINTRAIL_REQUIRE_ANVIL=1`` (set by ``.ci/run``) a missing tool is an error, not a
    skip: CI must run the integration tests against the real node.
    """
    why = _why_missing()
    if why is not None and os.environ.get("CHAINTRAIL_REQUIRE_ANVIL") == "1":
        raise RuntimeError(f"CHAINTRAIL_REQUIRE_ANVIL=1 but {why}")
    return why


def _why_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed (needed for solc-js); `make test` installs the rest"
    if anvil_binary() is None:
        return f"Anvil is not installed in {TOOLS} (run `make test`, which needs npm)"
    if not (TOOLS / "solc" / "index.js").is_file():
        return f"solc-js is not installed in {TOOLS} (run `make test`, which needs npm)"
    return None


@dataclass(frozen=True)
class Contract:
    """A compiled contract: its ABI and creation bytecode (0x-hex)."""

    abi: list[dict[str, Any]]
    bytecode: str


def compile_contracts(folder: Path = CONTRACTS) -> dict[str, Contract]:
    """Every ``*.sol`` in ``folder`` compiled by solc-js (standard JSON, no optimiser)."""
    sources = {p.name: {"content": p.read_text()} for p in sorted(folder.glob("*.sol"))}
    request = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": False},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    script = (
        "const solc = require(process.argv[1]);"
        "process.stdout.write(solc.compile(require('fs').readFileSync(0, 'utf8')));"
    )
    done = subprocess.run(
        ["node", "-e", script, str(TOOLS / "solc")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    output = json.loads(done.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("solc: " + "; ".join(e["formattedMessage"] for e in errors))
    return {
        name: Contract(c["abi"], "0x" + c["evm"]["bytecode"]["object"])
        for unit in output["contracts"].values()
        for name, c in unit.items()
    }


def cli(*args: str) -> str:
    """``chaintrail ARGS`` in-process, its stdout (for module-scoped fixtures, which cannot use
    capsys); the command must succeed."""
    from chaintrail.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    assert code == 0, out.getvalue()
    return out.getvalue()


def calldata(signature: str, types: Sequence[str] = (), args: Sequence[object] = ()) -> str:
    """ABI-encoded call: the 4-byte selector of ``signature`` and its arguments."""
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, args)).hex()


class Anvil:
    """A running Anvil node on 127.0.0.1; use as a context manager."""

    def __init__(self, *extra: str) -> None:
        binary = anvil_binary()
        if binary is None:
            raise RuntimeError(missing_tools() or "no Anvil binary")
        self.process = subprocess.Popen(
            [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--accounts",
                "10",
                "--mnemonic",
                MNEMONIC,
                "--timestamp",
                str(GENESIS_TIME),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self._wait_for_port()}"
        self._http = httpx.Client(timeout=30.0)
        self._next_id = 0
        self.accounts: list[str] = self.rpc("eth_accounts")

    def _wait_for_port(self, seconds: float = 30.0) -> int:
        """Read Anvil's output until it names its port (it is serving from then on)."""
        assert self.process.stdout is not None
        found: list[int] = []
        listening = threading.Event()
        out = self.process.stdout

        def read() -> None:
            for line in out:
                match = _LISTENING.search(line)
                if match and not found:
                    found.append(int(match.group(1)))
                    listening.set()
            # the loop also drains the pipe, so a chatty node never blocks on a full one

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        listening.wait(seconds)
        if not found:
            self.stop()
            raise RuntimeError(f"Anvil did not start listening within {seconds:.0f} s")
        return found[0]

    def rpc(self, method: str, *params: object) -> Any:
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        answer = self._http.post(self.url, json=body).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def send(
        self,
        sender: str,
        to: str | None = None,
        *,
        value: int = 0,
        data: str = "0x",
        gas: int | None = None,
    ) -> str:
        """``eth_sendTransaction`` from an unlocked account; the transaction hash."""
        tx: dict[str, object] = {"from": sender, "value": hex(value), "data": data}
        if to is not None:
            tx["to"] = to
        if gas is not None:
            tx["gas"] = hex(gas)
        return str(self.rpc("eth_sendTransaction", tx))

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        result = self.rpc("eth_getTransactionReceipt", tx_hash)
        assert result is not None, f"no receipt for {tx_hash}"
        return dict(result)

    def deploy(
        self,
        sender: str,
        contract: Contract,
        types: Sequence[str] = (),
        args: Sequence[object] = (),
    ) -> tuple[str, str]:
        """Deploy (mining a block): the contract's address and the transaction's hash."""
        data = contract.bytecode + encode(types, args).hex()
        tx = self.send(sender, data=data, gas=3_000_000)
        self.mine()
        address = self.receipt(tx)["contractAddress"]
        assert address, f"deployment {tx} created no contract"
        return str(address), tx

    def call(self, to: str, data: str, block: str = "latest") -> str:
        return str(self.rpc("eth_call", {"to": to, "data": data}, block))

    def balance(self, address: str, block: str = "latest") -> int:
        return int(self.rpc("eth_getBalance", address, block), 16)

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(10)  # the pipe is at its end once the node has exited
        if self.process.stdout is not None:
            self.process.stdout.close()
        if hasattr(self, "_http"):
            self._http.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TracelessProxy:
    """A loopback JSON-RPC proxy in front of a real node that refuses the trace methods
    (``debug_*``, ``trace_*``) the way Geth refuses an unknown method (-32601): how a node
    without trace support answers. Everything else goes to the node as it was sent."""

    def __init__(self, upstream: str) -> None:
        http = httpx.Client(timeout=30.0)
        self._http = http

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                calls = json.loads(self.rfile.read(int(self.headers["content-length"])))
                single = isinstance(calls, dict)
                items = [calls] if single else calls
                passed = [c for c in items if not _is_trace(c["method"])]
                answers = (
                    {a["id"]: a for a in http.post(upstream, json=passed).json()} if passed else {}
                )
                out = [answers.get(c["id"]) or _refused(c) for c in items]
                body = json.dumps(out[0] if single else out).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> TracelessProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._http.close()


def _is_trace(method: str) -> bool:
    return method.startswith(("debug_", "trace_"))


def _refused(call: dict[str, Any]) -> dict[str, Any]:
    message = f"the method {call['method']} does not exist/is not available"
    return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": message}}
