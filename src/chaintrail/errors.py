"""The one exception tree of chaintrail.

Every error a user can meet is defined here, carries a stable snake_case ``code`` (used in JSON
output and listed in ``docs/errors.md``), a one-line ``message`` that says what happened, a
``hint`` that says what to do, and the CLI exit code / HTTP status it maps to. Library code raises
the leaf classes; only the CLI and web edges translate them::

    ChaintrailError                      exit 70 / 500
    ├── UsageError                       exit 2 / 400  bad input the user can fix
    │   ├── UnknownChainError
    │   ├── InvalidTxidError
    │   ├── InvalidAddressError
    │   ├── UnsupportedFormatError       a file whose format cannot be recognised
    │   ├── BlockParseError              truncated/corrupt raw block bytes (file, offset)
    │   ├── MerkleMismatchError          a block whose transactions do not hash to its merkle root
    │   ├── InvalidSourceDataError       non-JSON or wrong-shape JSON (file, line, field)
    │   ├── BlocksciTableMissingError  MalformedBlocksciRowError   BlockSci table folders
    │   ├── InvalidEthDataError  MalformedEthRecordError   Ethereum files, records
    │   ├── ConflictingBlockError        an Ethereum file contradicting stored blocks (a reorg)
    │   ├── ChainMismatchError           a node on another network than the store
    │   ├── NodeConfigError              a node URL, cookie file or credentials that cannot work
    │   ├── TagFileError  UnsupportedTagFormatError  InvalidTagOptionError   tag imports
    │   ├── InvalidTokenMetadataError  TokenMetadataConflictError   tokens add
    │   ├── ReportFileError  ReportMappingError  CaseExistsError   victim reports, cases
    │   ├── PriceFileError               a price table that cannot be imported at all
    │   ├── UnknownScenarioError         a simulator scenario name that does not exist
    │   ├── NoPaymentsError  InvalidTraceOptionError   trace/path sources and options
    │   ├── UnknownPolicyError           a trace policy name that is not registered
    │   └── EvidenceBundleError  PublicKeyError   an unreadable bundle, a bad --public-key
    ├── NotFoundError                    exit 1 / 404
    │   ├── TxNotFoundError  AddressNotFoundError  TableNotFoundError
    │   ├── CaseNotFoundError            cases show with an unknown report or case id
    ├── WorkspaceError                   exit 3 / 409
    │   ├── WorkspaceNotFoundError  WorkspaceExistsError  WorkspaceLockedError
    │   ├── SchemaTooNewError  MigrationFailedError  WorkspaceStorageError
    │   ├── AuditKeyError                the audit signing key is missing or not the log's
    ├── SourceError                      exit 1 / 502  a data source (node) failed; .retryable
    │   ├── SourceUnavailableError  SourceAuthError  RpcError  ReorgTooDeepError
    ├── AnalysisError                    exit 1 / 422  an analysis cannot go on with these data
    │   ├── TraceInvariantError          a trace step whose amounts do not add up (conservation)
    │   └── PolicyNotSupportedError      a trace policy used on a chain model it does not support
    ├── IntegrityError                   exit 1 / 422  evidence that does not verify
    │   └── AuditChainBrokenError  EvidenceMismatchError
"""

from __future__ import annotations

from typing import ClassVar


class ChaintrailError(Exception):
    """Base of every chaintrail error: a message, a hint, a stable code and exit code."""

    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 70
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_json(self) -> dict[str, object]:
        """The error as the JSON envelope the CLI and web print."""
        return {
            "ok": False,
            "error": self.message,
            "hint": self.hint,
            "code": self.code,
            "status": self.http_status,
        }


# --- usage / bad input -------------------------------------------------------------------------


class UsageError(ChaintrailError):
    """Bad input the user can fix."""

    code = "usage_error"
    exit_code = 2
    http_status = 400


class UnknownChainError(UsageError):
    code = "unknown_chain"

    def __init__(self, chain: str) -> None:
        self.chain = chain
        super().__init__(f"Unknown chain {chain!r}.", hint="Known chains: btc.")


class InvalidTxidError(UsageError):
    code = "invalid_txid"

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"{text!r} is not a transaction id.",
            hint="A txid is 64 hexadecimal characters.",
        )


class InvalidAddressError(UsageError):
    code = "invalid_address"

    def __init__(self, chain: str, text: str) -> None:
        self.chain = chain
        self.text = text
        super().__init__(f"{text!r} is not a valid {chain} address.")


class UnsupportedFormatError(UsageError):
    code = "unsupported_format"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: {detail}",
            hint="Give blk*.dat files, raw blocks (binary or hex) or getblock JSON/JSONL.",
        )


class BlockParseError(UsageError):
    """Raw block bytes that cannot be decoded: truncated, corrupt or with a wrong magic."""

    code = "block_parse_error"

    def __init__(self, reason: str, *, source: str = "<bytes>", offset: int | None = None) -> None:
        self.reason = reason
        self.source = source
        self.offset = offset
        where = source if offset is None else f"{source} at byte {offset:,}"
        super().__init__(
            f"Cannot parse block data in {where}: {reason}.",
            hint="The file is truncated or corrupt; copy it again from the node's blocks folder.",
        )


class MerkleMismatchError(UsageError):
    code = "merkle_mismatch"

    def __init__(self, block_hash: str, expected: str, computed: str, *, source: str) -> None:
        self.block_hash = block_hash
        self.expected = expected
        self.computed = computed
        self.source = source
        super().__init__(
            f"Block {block_hash} in {source}: merkle root {expected} does not match "
            f"its transactions ({computed}).",
            hint="The block data is corrupt or was altered; nothing of this block was stored.",
        )


class InvalidSourceDataError(UsageError):
    """JSON (file or RPC response) that is not JSON or not the expected shape."""

    code = "invalid_source_data"

    def __init__(self, source: str, reason: str, *, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = source if line is None else f"{source}, line {line}"
        super().__init__(
            f"{where}: {reason}.",
            hint="Expected Bitcoin Core 'getblock' output (verbosity 2 or 3), one block per "
            "file or one per line.",
        )


class ChainMismatchError(UsageError):
    code = "chain_mismatch"

    def __init__(self, source: str, stored: str, given: str) -> None:
        self.source = source
        self.stored = stored
        self.given = given
        super().__init__(
            f"{source} is on {given}, but this workspace holds {stored} blocks.",
            hint="Use one workspace per network; for raw blocks and JSON pass --network.",
        )


class NodeConfigError(UsageError):
    """Node connection settings that cannot work: a bad URL, an unreadable cookie file, half a
    set of credentials."""

    code = "node_config_error"

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"{where}: {reason}.",
            hint="Pass --url http://HOST:8332 with --user/--password, or --cookie with the "
            "node's .cookie file (in its data directory, readable by you).",
        )


class UnknownScenarioError(UsageError):
    """``chaintrail simulate --scenario`` with a name the simulator does not know."""

    code = "unknown_scenario"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"Unknown simulator scenario {name!r}.", hint="Use one of: " + ", ".join(known) + "."
        )
        self.name = name
        self.known = known


class UnknownPolicyError(UsageError):
    """A trace policy name (``--policy``) that is not registered."""

    code = "unknown_policy"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"Unknown trace policy {name!r}.", hint="Use one of: " + ", ".join(known) + "."
        )
        self.name = name
        self.known = known


class BlocksciTableMissingError(UsageError):
    """A BlockSci table folder without one of the five tables, or a table with other columns."""

    code = "blocksci_table_missing"

    def __init__(self, folder: str, reason: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"{folder}: {reason}.",
            hint="Give the folder holding tx_hash.csv, tx_height.csv, adr_hash.csv, "
            "tx_output.csv and tx_input.csv (or a folder with one such folder per year).",
        )


class MalformedBlocksciRowError(UsageError):
    """A row of a BlockSci table that does not parse or contradicts the other tables or the raw
    blocks in the store. Nothing of the folder is stored."""

    code = "malformed_blocksci_row"

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(
            f"{source}, line {line}: {reason}.",
            hint="Fix or re-export the table; nothing of this folder was stored.",
        )


class InvalidEthDataError(UsageError):
    """An Ethereum input file that is not JSON, or not a JSON-RPC answer or ethereum-etl export
    chaintrail can read."""

    code = "invalid_eth_data"

    def __init__(self, source: str, reason: str, *, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = source if line is None else f"{source}, line {line}"
        super().__init__(
            f"{where}: {reason}.",
            hint="Give saved JSON-RPC answers (eth_getBlockByNumber, eth_getTransactionReceipt, "
            "eth_getBlockReceipts, debug_traceBlockByNumber, trace_block) to 'ingest eth-files', "
            "ethereum-etl JSON-lines exports to 'ingest eth-etl'.",
        )


class MalformedEthRecordError(UsageError):
    """One Ethereum record (block, transaction, receipt, log, trace) with a field that does not
    decode. Ingest keeps such a record in ``eth_rejects`` with this message and goes on."""

    code = "malformed_eth_record"

    def __init__(self, kind: str, field: str, reason: str) -> None:
        self.kind = kind
        self.field = field
        self.reason = reason
        super().__init__(
            f"Malformed {kind}: {field} {reason}.",
            hint="The record is kept in eth_rejects with this reason; check the source.",
        )


class ConflictingBlockError(UsageError):
    """An Ethereum file whose blocks contradict stored ones (another hash at a stored height,
    or not linked to the stored blocks around it): one of the two copies was reorged away.
    Refused unless ``--replace-reorged``; also refused then when the rollback would exceed
    ``max_reorg_depth``."""

    code = "conflicting_block"

    def __init__(
        self,
        source: str,
        detail: str,
        conflicts: int,
        fork_height: int,
        *,
        depth: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.source = source
        self.detail = detail
        self.conflicts = conflicts
        self.fork_height = fork_height
        self.depth = depth
        self.limit = limit
        more = f" (and {conflicts - 1:,} more)" if conflicts > 1 else ""
        if depth is None:
            super().__init__(
                f"{source}: {detail}{more}; nothing of this file was stored.",
                hint="If the file holds the chain's current branch, re-run with "
                f"--replace-reorged: the stored blocks above height {fork_height:,} are rolled "
                "back (recorded in reorgs); otherwise leave the file out.",
            )
            return
        super().__init__(
            f"{source}: {detail}{more}; replacing it would roll back {depth:,} stored blocks "
            f"above height {fork_height:,}, more than max_reorg_depth ({limit:,}).",
            hint="Check that the file is from this chain; if the reorg is real, set "
            f"CHAINTRAIL_MAX_REORG_DEPTH to at least {depth:,} and re-run.",
        )


class InvalidOutPointError(UsageError):
    """A trace source that is neither ``TXID:VOUT`` (64 hex digits, a colon, a non-negative
    vout) nor ``TXID:ADDRESS``."""

    code = "invalid_outpoint"

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(
            f"Invalid outpoint {text!r}.",
            hint="Give a source as TXID:VOUT, e.g. 4a5e1e4b…da33b:0 (64 hex digits, a colon, "
            "the output index), or TXID:ADDRESS for the outputs paying ADDRESS.",
        )


class OutPointNotFoundError(UsageError):
    """A trace source whose transaction is not in the store, or has no such output."""

    code = "outpoint_not_found"

    def __init__(self, chain: str, outpoint: str, *, tx_known: bool) -> None:
        self.chain = chain
        self.outpoint = outpoint
        self.tx_known = tx_known
        txid, _, vout = outpoint.partition(":")
        output = f"output {vout}" if vout.isdigit() else f"output paying {vout}"
        what = (f"Transaction {txid} has no {output}" if tx_known
                else f"Transaction {txid} is not in the {chain} store")  # fmt: skip
        super().__init__(
            f"{what}: cannot trace from {outpoint}.",
            hint="Check the outpoint, or ingest the block that contains the transaction.",
        )


class UnknownAssetError(UsageError):
    """An account-model trace ``--asset`` that is neither ETH, a token address seen in the store,
    nor the symbol of a token in the ``tokens`` table."""

    code = "unknown_asset"

    def __init__(self, chain: str, text: str) -> None:
        self.chain = chain
        self.text = text
        super().__init__(
            f"Asset {text!r} is not known in the {chain} store.",
            hint="Give --asset ETH, a token contract address (0x + 40 hex digits), or a symbol "
            "of the tokens table ('chaintrail tokens add ADDRESS --symbol S --decimals D').",
        )


class AmbiguousAssetError(UsageError):
    """A token symbol that names more than one token contract in the store."""

    code = "ambiguous_asset"

    def __init__(self, chain: str, symbol: str, candidates: list[str]) -> None:
        self.chain = chain
        self.symbol = symbol
        self.candidates = candidates
        super().__init__(
            f"Symbol {symbol!r} names {len(candidates)} tokens in the {chain} store: "
            f"{', '.join(candidates)}.",
            hint="Give --asset as the token contract address of the one you mean.",
        )


class TransferNotFoundError(UsageError):
    """An account-model trace source (``TXHASH`` or ``TXHASH:INDEX``) whose transaction is not
    in the store, or that moved none of the asset (at that index)."""

    code = "transfer_not_found"

    def __init__(self, chain: str, source: str, asset: str, *, tx_known: bool) -> None:
        self.chain = chain
        self.source = source
        self.asset = asset
        self.tx_known = tx_known
        txh = source.partition(":")[0]
        what = (f"Transaction {txh} moved no {asset} there" if tx_known
                else f"Transaction {txh} is not in the {chain} store")  # fmt: skip
        super().__init__(
            f"{what}: cannot trace from {source}.",
            hint="Check the hash, the index (log index for tokens, trace address such as 0,1 "
            "or - for the top-level value of ETH) and --asset, or ingest the block.",
        )


class NoPaymentsError(UsageError):
    """A trace or path source (an address or cluster) that received nothing in the store's best
    chain, at all or within the time window given."""

    code = "no_payments"

    def __init__(self, chain: str, subject: str, *, window: str | None = None) -> None:
        self.chain = chain
        self.subject = subject
        self.window = window
        what = (f"{subject} does not appear in the {chain} store" if window is None
                else f"{subject} received no payment {window} in the {chain} store")  # fmt: skip
        super().__init__(
            f"{what}: nothing to trace from.",
            hint="Check the address (or cluster id) and the --since/--until window, or ingest "
            "the blocks where it was paid.",
        )


class InvalidTraceOptionError(UsageError):
    """Trace or path options that contradict each other or do not parse (a time bound, a
    window whose start is after its end, two kinds of source at once)."""

    code = "invalid_trace_option"

    def __init__(self, problem: str, hint: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}.", hint=hint)


class ReportFileError(UsageError):
    """A victim-report file that cannot be imported at all: missing, unreadable, not CSV/XLSX/
    JSON, or without the columns its mapping names. (Single bad rows are rejected and kept.)"""

    code = "invalid_report_file"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path}: {reason}.",
            hint="Fix the file or its column mapping (--map COLUMN=FIELD, --mapping FILE) and "
            "import again; nothing was imported by this command.",
        )


class PriceFileError(UsageError):
    """A price file that cannot be imported at all: unreadable, not UTF-8, or without the
    columns its layout needs. (Single bad rows are rejected and kept.)"""

    code = "invalid_price_file"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path}: {reason}.",
            hint="A price file is CSV with the header date,asset,currency,price (asset and "
            "currency may be given by --asset/--currency instead); nothing was imported.",
        )


class CaseExistsError(UsageError):
    """Opening a case with an id that a case or report already has."""

    code = "case_exists"

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(
            f"A case or report with id {case_id!r} already exists.",
            hint="Choose another case id; 'chaintrail cases list' shows the ids in use.",
        )


class ReportMappingError(UsageError):
    """A column mapping for ``cases import`` that cannot work."""

    code = "invalid_report_mapping"

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"Report column mapping: {problem}.",
            hint="Map file columns to the intake fields report_id, reported_at, victim_name, "
            "country, chain, asset, amount, tx_hash, from_address, to_address, description "
            "(see docs/cases.md).",
        )


class TagFileError(UsageError):
    """A tag file that cannot be imported at all: unreadable, not YAML, or a pack header without
    a title/creator. (Single bad tags are rejected and reported, not raised.)"""

    code = "invalid_tag_file"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path}: {reason}.",
            hint="Fix the file and import again; nothing was imported by this command.",
        )


class UnsupportedTagFormatError(UsageError):
    code = "unsupported_tag_format"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: {detail}.",
            hint="Give TagPack or ActorPack YAML (.yaml/.yml), OFAC lists "
            "(sanctioned_addresses_<ASSET>.txt/.json) or address lists (.csv/.txt).",
        )


class InvalidTagOptionError(UsageError):
    code = "invalid_tag_option"

    def __init__(self, option: str, value: str, hint: str) -> None:
        self.option = option
        self.value = value
        super().__init__(f"Invalid --{option} {value!r}.", hint=hint[0].upper() + hint[1:] + ".")


class InvalidTokenMetadataError(UsageError):
    code = "invalid_token_metadata"

    def __init__(self, field: str, value: str, hint: str) -> None:
        self.field = field
        hint = hint[0].upper() + hint[1:] + "."
        super().__init__(f"Invalid token {field} {value!r}.", hint=hint)


class TokenMetadataConflictError(UsageError):
    """``tokens add`` contradicting metadata a node answered: never overwritten silently."""

    code = "token_metadata_conflict"

    def __init__(self, address: str, source: str, differences: list[str]) -> None:
        self.address = address
        self.differences = differences
        super().__init__(
            f"Token {address} already has {source} metadata that differs "
            f"({'; '.join(differences)}).",
            hint="Nothing was changed. Check the contract; give only the fields the node left "
            "unknown, or the same values.",
        )


class EvidenceBundleError(UsageError):
    """``evidence verify`` with a file that is not an evidence bundle: missing, not a zip, or
    without a readable ``manifest.json``. (A bundle whose files were changed is not this error:
    that is ``evidence_mismatch``.)"""

    code = "invalid_evidence_bundle"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: {detail}",
            hint="Give the zip file 'chaintrail evidence CASE_ID -o FILE' wrote.",
        )


class PublicKeyError(UsageError):
    """A ``--public-key`` that is not an Ed25519 public key (PEM file, or 64 hex digits)."""

    code = "invalid_public_key"

    def __init__(self, text: str, detail: str) -> None:
        self.text = text
        super().__init__(
            f"--public-key {text!r}: {detail}",
            hint="Give the workspace's keys/audit_ed25519.pub (PEM) or the 64 hex digits "
            "'chaintrail audit verify' prints as public_key.",
        )


class InvalidSpecError(UsageError):
    """A heuristic spec string (``--change "optimal & address_type"``) that does not parse."""

    code = "invalid_spec"

    def __init__(
        self, spec: str, position: int, problem: str, *, known: list[str] | None = None
    ) -> None:
        self.spec = spec
        self.position = position
        names = ", ".join(n.removeprefix("change.") for n in known) if known else None
        super().__init__(
            f"Invalid heuristic spec at position {position}: {problem}.\n  {spec}\n  "
            + " " * position
            + "^",
            hint=(f"Known heuristics: {names}." if names else "Combine names with | & - "
                  "and parentheses, e.g. \"(optimal & address_type).unique()\"."),
        )  # fmt: skip


# --- not found ---------------------------------------------------------------------------------


class NotFoundError(ChaintrailError):
    code = "not_found"
    exit_code = 1
    http_status = 404


class TxNotFoundError(NotFoundError):
    code = "tx_not_found"

    def __init__(self, chain: str, txid: str, *, height_max: int | None = None) -> None:
        self.chain = chain
        self.txid = txid
        synced = "empty" if height_max is None else f"synced to height {height_max:,}"
        ingest = ("'chaintrail ingest eth-rpc --url URL --from N --to N' or 'chaintrail ingest "
                  "eth-etl PATH'") if chain == "eth" else ("'chaintrail ingest btc-blocks PATH' or "
                  "'chaintrail ingest btc-rpc --url URL --from H --to H'")  # fmt: skip
        super().__init__(
            f"Transaction {txid} not found in the {chain} store ({synced}).",
            hint=f"Ingest the block that contains it: {ingest}.",
        )


class AddressNotFoundError(NotFoundError):
    code = "address_not_found"

    def __init__(self, chain: str, address: str) -> None:
        self.chain = chain
        self.address = address
        super().__init__(
            f"Address {address} does not appear in the {chain} store.",
            hint="Check the address, or ingest the blocks where it was used.",
        )


class TableNotFoundError(NotFoundError):
    code = "table_not_found"

    def __init__(self, table: str, known: list[str]) -> None:
        self.table = table
        super().__init__(f"No table named {table!r}.", hint="Tables: " + ", ".join(known) + ".")


class ClustersNotBuiltError(NotFoundError):
    code = "clusters_not_built"

    def __init__(self) -> None:
        super().__init__(
            "No clusters are built in this workspace (none yet, or they were cleared because "
            "clustered blocks left the best chain).",
            hint="Run 'chaintrail cluster'.",
        )


class ClusterNotFoundError(NotFoundError):
    code = "cluster_not_found"

    def __init__(self, cluster_id: int) -> None:
        self.cluster_id = cluster_id
        super().__init__(
            f"No cluster with id {cluster_id}.",
            hint="Cluster ids are address ids: see 'chaintrail address ADDR' or "
            "'chaintrail export clusters'.",
        )


class CaseNotFoundError(NotFoundError):
    """``cases show`` with an id that is neither a report nor a case of the workspace."""

    code = "case_not_found"

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        super().__init__(
            f"No report or case with id {identifier!r}.",
            hint="See 'chaintrail cases list' for the ids; rejected rows are listed by "
            "'chaintrail cases rejected'.",
        )


# --- workspace ---------------------------------------------------------------------------------


class WorkspaceError(ChaintrailError):
    code = "workspace_error"
    exit_code = 3
    http_status = 409


class WorkspaceNotFoundError(WorkspaceError):
    code = "workspace_not_found"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"No chaintrail workspace at {path}.",
            hint="Create one with 'chaintrail init' (or pass -w PATH / set CHAINTRAIL_WORKSPACE).",
        )


class WorkspaceExistsError(WorkspaceError):
    code = "workspace_exists"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"A workspace already exists at {path}.")


class WorkspaceLockedError(WorkspaceError):
    code = "workspace_locked"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"The workspace at {path} is in use by another writer.",
            hint="Wait for the running ingest to finish; a killed process releases the lock.",
        )


class SchemaTooNewError(WorkspaceError):
    code = "schema_too_new"

    def __init__(self, path: str, found: int, supported: int) -> None:
        super().__init__(
            f"The workspace at {path} has schema version {found}; this chaintrail knows up to "
            f"{supported}.",
            hint="Upgrade chaintrail.",
        )


class MigrationFailedError(WorkspaceError):
    code = "migration_failed"

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(
            f"Migration {name} failed: {reason}", hint="The workspace was not changed."
        )


class WorkspaceStorageError(WorkspaceError):
    code = "workspace_storage_error"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"Cannot use the database at {path}: {reason}")


class AuditKeyError(WorkspaceError):
    """The workspace's audit signing key is missing, unreadable, or not the key its audit log
    header names, so nothing can be signed in its name."""

    code = "audit_key_error"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(
            f"Audit key {path}: {detail}",
            hint="Restore the workspace's keys/ folder from its backup; a copy of the store "
            "without its key can be verified ('chaintrail audit verify') but not written to.",
        )


# --- sources -----------------------------------------------------------------------------------


class SourceError(ChaintrailError):
    code = "source_error"
    exit_code = 1
    http_status = 502
    retryable: bool = False


class SourceUnavailableError(SourceError):
    code = "source_unavailable"
    retryable = True

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(
            f"Node at {url} is unavailable: {reason}.",
            hint="Check that the node runs and the URL and port are right, then re-run the same "
            "command: ingest resumes where it stopped.",
        )


class SourceAuthError(SourceError):
    code = "source_auth_failed"

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"Node at {url} refused the credentials (HTTP 401).",
            hint="Check --user/--password, or pass --cookie with the node's .cookie file.",
        )


class RpcError(SourceError):
    """The node answered with a JSON-RPC error object."""

    code = "rpc_error"

    def __init__(self, url: str, method: str, rpc_code: int | None, rpc_message: str) -> None:
        self.url = url
        self.method = method
        self.rpc_code = rpc_code
        self.rpc_message = rpc_message
        super().__init__(
            f"Node at {url} answered {method} with error {rpc_code}: {rpc_message}",
            hint="A pruned node no longer has old blocks, and a syncing one not yet the new "
            "ones: ingest the heights it has (--from/--to); blocks stored so far are kept.",
        )


class ReorgTooDeepError(SourceError):
    """A reorg deeper than the configured limit: refused rather than rolled back."""

    code = "reorg_too_deep"

    def __init__(self, url: str, fork_height: int, depth: int, limit: int) -> None:
        self.url = url
        self.fork_height = fork_height
        self.depth = depth
        self.limit = limit
        super().__init__(
            f"Node at {url} disagrees with {depth:,} stored blocks above height "
            f"{fork_height:,}; reorgs deeper than {limit:,} blocks are not rolled back.",
            hint="Check that the node is on the same chain and fully synced; if the reorg is "
            "real, re-run with CHAINTRAIL_MAX_REORG_DEPTH set above the depth.",
        )


class FetchNeedsWriteError(SourceError):
    """On-demand fetching stores what it fetches, so it needs the workspace open for writing."""

    code = "fetch_needs_write"
    exit_code = 2

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"Fetching missing spends from {url} needs the workspace open for writing.",
            hint="Open the workspace with write=True, or trace offline (--offline, offline=True).",
        )


# --- analysis ----------------------------------------------------------------------------------


class AnalysisError(ChaintrailError):
    """An analysis that cannot go on with the data it was given."""

    code = "analysis_error"
    exit_code = 1
    http_status = 422


class TraceInvariantError(AnalysisError):
    """Amounts of one trace step that do not add up: invalid input (a negative value, slices that
    do not sum to their coin's value, outputs worth more than the inputs) or a policy that lost
    or created taint (a conservation failure). Never caught-and-continued."""

    code = "trace_invariant"

    def __init__(self, policy: str, reason: str) -> None:
        self.policy = policy
        self.reason = reason
        super().__init__(
            f"Trace policy {policy!r}: {reason}.",
            hint="The transaction's amounts or the taint carried into it are inconsistent; "
            "nothing was attributed for this step. Check the store (re-ingest the block) and "
            "report it if the data are right.",
        )


class PolicyNotSupportedError(AnalysisError):
    code = "policy_not_supported"

    def __init__(self, policy: str, model: str, supported: list[str]) -> None:
        self.policy = policy
        self.model = model
        self.supported = supported
        super().__init__(
            f"Trace policy {policy!r} does not support the {model!r} chain model.",
            hint=f"It supports: {', '.join(supported)}; choose another policy for this chain.",
        )


# --- integrity ---------------------------------------------------------------------------------


class IntegrityError(ChaintrailError):
    """Evidence that does not verify: a tampered audit chain or evidence bundle. Never
    caught-and-continued. Exit 1 (a verification that fails is the command's domain answer, as
    the issue's contract for ``evidence verify`` says); 2 stays for an unreadable bundle."""

    code = "integrity_error"
    exit_code = 1
    http_status = 422


class AuditChainBrokenError(IntegrityError):
    code = "audit_chain_broken"

    def __init__(self, problems: int) -> None:
        self.problems = problems
        super().__init__(
            f"The audit log does not verify: {problems} problem(s) found.",
            hint="Each problem names the entry; an altered, inserted or removed entry or a "
            "chain signed by another key means the store was changed outside chaintrail.",
        )


class EvidenceMismatchError(IntegrityError):
    code = "evidence_mismatch"

    def __init__(self, path: str, problems: int) -> None:
        self.path = path
        self.problems = problems
        super().__init__(
            f"The evidence bundle {path} does not verify: {problems} problem(s) found.",
            hint="Each problem names the file; ask the sender for the original bundle.",
        )


def all_error_classes() -> list[type[ChaintrailError]]:
    """Every error class of the tree (for the docs-coverage test and the error reference)."""
    found: list[type[ChaintrailError]] = []
    stack: list[type[ChaintrailError]] = [ChaintrailError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)
