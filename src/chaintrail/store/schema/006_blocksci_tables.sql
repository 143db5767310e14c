-- Normalized BlockSci table exports (chaintrail ingest blocksci-tables, docs/ingest.md).
-- Such tables give txids, heights, values, addresses and who spent what, but no block hashes,
-- times, headers, scripts or transaction fields. Those stay NULL (never invented), and the one
-- thing that must be made up to hold the rows together, a block row per height, is flagged.

ALTER TABLE blocks ADD COLUMN synthetic BOOLEAN DEFAULT false;
ALTER TABLE blocks ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE blocks ALTER COLUMN time DROP NOT NULL;
ALTER TABLE blocks ALTER COLUMN merkle_root DROP NOT NULL;
ALTER TABLE blocks ALTER COLUMN version DROP NOT NULL;
ALTER TABLE blocks ALTER COLUMN bits DROP NOT NULL;
ALTER TABLE blocks ALTER COLUMN nonce DROP NOT NULL;
ALTER TABLE transactions ALTER COLUMN version DROP NOT NULL;
ALTER TABLE transactions ALTER COLUMN locktime DROP NOT NULL;
ALTER TABLE transactions ALTER COLUMN size DROP NOT NULL;
ALTER TABLE transactions ALTER COLUMN vsize DROP NOT NULL;
ALTER TABLE transactions ALTER COLUMN weight DROP NOT NULL;
ALTER TABLE inputs ALTER COLUMN sequence DROP NOT NULL;
ALTER TABLE outputs ALTER COLUMN script_hex DROP NOT NULL;

-- One row per table folder loaded; re-running with the same files and the same raw blocks in
-- the store changes nothing.
CREATE TABLE blocksci_imports (
    folder          VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,    -- SHA-256 of the sorted "sha256  file" lines
    raw_signature   VARCHAR NOT NULL,    -- SHA-256 of the raw blocks the load deferred to
    imported_at     TIMESTAMPTZ NOT NULL,
    report          VARCHAR NOT NULL,    -- the ingest report, JSON
    provenance_ids  BIGINT[] NOT NULL    -- the provenance rows of the five CSVs
);

-- Every transaction of the tables, with the txid it is stored under.
CREATE TABLE blocksci_txs (
    tx_index      BIGINT NOT NULL,
    table_hash    VARCHAR NOT NULL,      -- as in tx_hash.csv (63 or 64 hex characters)
    txid          VARCHAR NOT NULL,      -- as stored in transactions/inputs/outputs
    hash_status   VARCHAR NOT NULL,      -- 'exact' | 'repaired' | 'truncated'
    from_raw      BOOLEAN NOT NULL,      -- rows come from raw blocks; the tables' copy skipped
    block_height  BIGINT NOT NULL,
    position      INTEGER NOT NULL,
    provenance_id BIGINT NOT NULL        -- tx_hash.csv
);

-- Rows the tables hold that were kept with a remark: exact duplicates (stored once), addresses
-- missing from adr_hash (stored as NULL).
CREATE TABLE blocksci_issues (
    provenance_id BIGINT NOT NULL,       -- the CSV file
    line          BIGINT NOT NULL,       -- 1-based line in that file (the header is line 1)
    issue         VARCHAR NOT NULL,      -- 'duplicate_row' | 'unknown_address'
    detail        VARCHAR NOT NULL
);

-- Outputs a source says are spent by a transaction that is not in the store (BlockSci tables:
-- spent in a later year). The spend is a fact; the spender's txid is not known.
CREATE TABLE spent_outside (
    txid          VARCHAR NOT NULL,
    vout          INTEGER NOT NULL,
    spender_ref   VARCHAR NOT NULL,      -- how the source names the spender: 'blocksci:tx_index:N'
    provenance_id BIGINT NOT NULL
);
