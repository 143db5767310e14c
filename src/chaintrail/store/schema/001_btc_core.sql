-- Bitcoin core tables. Names follow blockchain-etl where they fit; account-model chains get
-- prefixed tables of their own (eth_blocks, ...). Amounts are integer satoshis (BIGINT).
-- No primary keys or indexes: DuckDB loads columnar batches fastest without them, and
-- idempotence is enforced by the writer (a block hash is inserted once).

CREATE SEQUENCE provenance_id_seq START 1;

-- Facts about the workspace itself, e.g. btc_network (set by the first Bitcoin ingest).
CREATE TABLE meta (
    key   VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);

CREATE TABLE provenance (
    id            BIGINT PRIMARY KEY,
    kind          VARCHAR NOT NULL,      -- 'file' | 'rpc'
    source        VARCHAR NOT NULL,      -- path, or URL + method + params
    retrieved_at  TIMESTAMPTZ NOT NULL,
    sha256        VARCHAR NOT NULL,      -- of the raw file bytes or the raw response body
    tool_version  VARCHAR NOT NULL,
    detail        VARCHAR,
    archived      VARCHAR               -- raw/<sha256>.gz in the workspace: the exact bytes hashed
);

CREATE TABLE blocks (
    hash            VARCHAR NOT NULL,
    height          BIGINT,              -- NULL while unknown (see height_source)
    prev_hash       VARCHAR NOT NULL,
    time            TIMESTAMPTZ NOT NULL,
    merkle_root     VARCHAR NOT NULL,
    version         BIGINT NOT NULL,
    bits            BIGINT NOT NULL,
    nonce           BIGINT NOT NULL,
    tx_count        INTEGER NOT NULL,
    size            BIGINT,
    stripped_size   BIGINT,
    weight          BIGINT,
    height_source   VARCHAR NOT NULL,    -- 'source' | 'genesis' | 'chain' | 'bip34' | 'unknown'
    merkle_verified BOOLEAN NOT NULL,
    provenance_id   BIGINT NOT NULL,
    source_locator  VARCHAR NOT NULL,    -- where in the raw input: 'offset 1234', '' for one block
    in_best_chain   BOOLEAN NOT NULL DEFAULT true  -- false: a stale block (lost a race; blk files)
);

CREATE TABLE transactions (
    txid          VARCHAR NOT NULL,
    wtxid         VARCHAR NOT NULL,
    block_hash    VARCHAR NOT NULL,
    block_height  BIGINT,
    position      INTEGER NOT NULL,
    version       BIGINT NOT NULL,
    locktime      BIGINT NOT NULL,
    size          INTEGER NOT NULL,
    vsize         INTEGER NOT NULL,
    weight        INTEGER NOT NULL,
    is_coinbase   BOOLEAN NOT NULL,
    input_count   INTEGER NOT NULL,
    output_count  INTEGER NOT NULL,
    output_value  BIGINT NOT NULL,
    input_value   BIGINT,               -- NULL for coinbase and while any input is unresolved
    fee           BIGINT,               -- input_value - output_value; NULL as input_value
    provenance_id BIGINT NOT NULL
);

CREATE TABLE inputs (
    txid            VARCHAR NOT NULL,
    "index"         INTEGER NOT NULL,
    spent_txid      VARCHAR,            -- NULL for the coinbase input
    spent_vout      BIGINT,
    sequence        BIGINT NOT NULL,
    is_coinbase     BOOLEAN NOT NULL,
    coinbase_script VARCHAR,            -- hex, coinbase input only
    value           BIGINT,             -- of the spent output; NULL while unresolved
    address         VARCHAR,
    script_type     VARCHAR,
    resolved        BOOLEAN NOT NULL,   -- prevout known (true for coinbase: it spends nothing)
    block_hash      VARCHAR NOT NULL,
    block_height    BIGINT,
    provenance_id   BIGINT NOT NULL
);

CREATE TABLE outputs (
    txid          VARCHAR NOT NULL,
    vout          INTEGER NOT NULL,
    value         BIGINT NOT NULL,
    address       VARCHAR,              -- NULL for multisig, nulldata, nonstandard
    script_type   VARCHAR NOT NULL,
    script_hex    VARCHAR NOT NULL,
    block_hash    VARCHAR NOT NULL,
    block_height  BIGINT,
    provenance_id BIGINT NOT NULL
);

-- Reorgs seen while following a node: the orphaned blocks were rolled back.
CREATE TABLE reorgs (
    detected_at   TIMESTAMPTZ NOT NULL,
    fork_height   BIGINT NOT NULL,      -- last height both chains share
    depth         INTEGER NOT NULL,     -- blocks rolled back
    orphaned      VARCHAR[] NOT NULL,   -- hashes rolled back, lowest first
    source        VARCHAR NOT NULL
);
