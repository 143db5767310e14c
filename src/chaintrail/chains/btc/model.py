"""Bitcoin blocks normalised to the store's rows, the contract between every source and the store.

Every Bitcoin source (raw ``blk*.dat`` files, raw block files, ``getblock`` JSON, a live node)
produces :class:`BlockData` values, so the pipeline, height assignment, input resolution and the
store see one shape whatever the origin. Rows are kept **columnar** (one list per column) because
the store loads them through Arrow in bulk; building Python objects per input would dominate the
ingest time on blocks with thousands of inputs.

Amounts are integer satoshis. A value or address that the source does not know (the prevout of an
input in a raw block) is ``None`` and the input is marked unresolved; the pipeline resolves it from
outputs already in the store and never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Column names of the three row groups, in store order (without block/provenance bookkeeping).
TX_COLUMNS = (
    "txid",
    "wtxid",
    "position",
    "version",
    "locktime",
    "size",
    "vsize",
    "weight",
    "is_coinbase",
    "input_count",
    "output_count",
    "output_value",
)
INPUT_COLUMNS = (
    "txid",
    "index",
    "spent_txid",
    "spent_vout",
    "sequence",
    "is_coinbase",
    "coinbase_script",
    "value",
    "address",
    "script_type",
)
OUTPUT_COLUMNS = ("txid", "vout", "value", "address", "script_type", "script_hex")


def _columns(names: tuple[str, ...]) -> dict[str, list[object]]:
    return {name: [] for name in names}


@dataclass(slots=True)
class BlockData:
    """One block as rows for ``blocks``, ``transactions``, ``inputs`` and ``outputs``.

    ``txs``, ``inputs`` and ``outputs`` map each column name of :data:`TX_COLUMNS`,
    :data:`INPUT_COLUMNS` and :data:`OUTPUT_COLUMNS` to a list of equal length.

    Transaction columns: ``txid``/``wtxid`` lower-case hex (display order); ``position`` index in
    the block; ``size`` total serialized bytes, ``vsize`` = ceil(weight/4), ``weight`` =
    3 * stripped size + size; ``output_value`` satoshis.

    Input columns: one row per vin entry, the coinbase input included (``is_coinbase`` true,
    ``spent_txid``/``spent_vout`` None, ``coinbase_script`` hex of its script). ``value``,
    ``address`` and ``script_type`` describe the spent output when the source knows it
    (verbosity-3 JSON), else None. ``sequence`` is the uint32 nSequence.

    Output columns: ``address`` is None where a script has no address (multisig, nulldata,
    nonstandard); bare P2PK outputs carry the P2PKH address derived from the key, with
    ``script_type`` "pubkey" marking it as derived (as Bitcoin Core did before 0.21).
    ``script_type`` uses Bitcoin Core's names (see :mod:`chaintrail.chains.btc.script`).
    """

    hash: str
    prev_hash: str
    merkle_root: str
    version: int
    time: int
    bits: int
    nonce: int
    size: int | None
    stripped_size: int | None
    weight: int | None
    #: Height stated by the source (JSON/RPC); None for raw bytes.
    height: int | None = None
    #: Height read from the coinbase script (BIP34), when it decodes; the pipeline decides
    #: whether to trust it.
    coinbase_height: int | None = None
    #: True when the merkle root was recomputed from raw transaction bytes (or from the txids of
    #: a JSON block) and matched.
    merkle_verified: bool = False
    txs: dict[str, list[object]] = field(default_factory=lambda: _columns(TX_COLUMNS))
    inputs: dict[str, list[object]] = field(default_factory=lambda: _columns(INPUT_COLUMNS))
    outputs: dict[str, list[object]] = field(default_factory=lambda: _columns(OUTPUT_COLUMNS))

    @property
    def tx_count(self) -> int:
        return len(self.txs["txid"])


@dataclass(frozen=True, slots=True)
class SourcedBlock:
    """A block together with where it came from (for the provenance row).

    ``sha256`` is the hash of the raw bytes the block was read from: the whole file for files,
    the block's element of the HTTP response for RPC. ``raw`` holds those bytes when the source
    cannot be read again later (a node's answer), so the store can archive them as evidence.
    """

    block: BlockData
    kind: str  # "file" | "rpc"
    source: str  # path or URL (+ method)
    sha256: str
    retrieved_at: float  # unix seconds
    detail: str = ""  # of the raw input: "blk file", "raw block", "getblock verbosity 3; ..."
    locator: str = ""  # where in the raw input this block is, e.g. "offset 1234"
    network: str = "mainnet"  # see chaintrail.chains.btc.networks
    raw: bytes | None = None
