-- Account-model (Ethereum and other EVM chains) tables. Every row carries `chain` ('eth', later
-- other EVM chains and TRON) and the provenance_id of the file or answer it came from.
-- Addresses and hashes are lower-case 0x-hex (EIP-55 checksums are for display only).
-- Amounts of the native asset (wei) are UHUGEINT: consensus bounds every balance, and so every
-- value, gas price and fee a valid transaction can carry, by the supply (< 2^128 wei). Token
-- amounts are uint256 and may exceed 2^128: `value` is their exact decimal text and `value_u128`
-- the same number as UHUGEINT when it fits (NULL when it does not), for arithmetic in SQL.
-- Like the Bitcoin tables: no keys or indexes; the writer stores each block hash once.

CREATE TABLE eth_blocks (
    chain             VARCHAR NOT NULL,
    number            BIGINT NOT NULL,
    hash              VARCHAR NOT NULL,
    parent_hash       VARCHAR NOT NULL,
    time              TIMESTAMPTZ NOT NULL,
    miner             VARCHAR,
    difficulty        UHUGEINT,
    size              BIGINT,
    gas_limit         BIGINT NOT NULL,
    gas_used          BIGINT NOT NULL,
    base_fee_per_gas  UHUGEINT,            -- NULL before London (EIP-1559)
    transaction_count INTEGER NOT NULL,
    provenance_id     BIGINT NOT NULL
);

CREATE TABLE eth_transactions (
    chain                    VARCHAR NOT NULL,
    hash                     VARCHAR NOT NULL,
    block_number             BIGINT NOT NULL,
    block_hash               VARCHAR NOT NULL,
    transaction_index        INTEGER NOT NULL,
    from_address             VARCHAR NOT NULL,
    to_address               VARCHAR,      -- NULL for a contract creation
    value                    UHUGEINT NOT NULL,
    nonce                    UBIGINT NOT NULL,
    gas                      BIGINT NOT NULL,  -- gas limit
    gas_price                UHUGEINT,
    max_fee_per_gas          UHUGEINT,
    max_priority_fee_per_gas UHUGEINT,
    transaction_type         INTEGER NOT NULL,
    input                    VARCHAR NOT NULL,
    status                   SMALLINT,     -- 1 ok, 0 reverted; NULL: no receipt, or pre-Byzantium
    gas_used                 BIGINT,       -- from the receipt; NULL while unknown
    effective_gas_price      UHUGEINT,     -- from the receipt (else gas_price before London)
    fee                      UHUGEINT,     -- gas_used * effective_gas_price; NULL while unknown
    provenance_id            BIGINT NOT NULL
);

CREATE TABLE eth_receipts (
    chain               VARCHAR NOT NULL,
    transaction_hash    VARCHAR NOT NULL,
    block_number        BIGINT NOT NULL,
    block_hash          VARCHAR NOT NULL,
    transaction_index   INTEGER NOT NULL,
    status              SMALLINT,
    gas_used            BIGINT NOT NULL,
    cumulative_gas_used BIGINT NOT NULL,
    effective_gas_price UHUGEINT,
    contract_address    VARCHAR,
    root                VARCHAR,
    provenance_id       BIGINT NOT NULL
);

CREATE TABLE eth_logs (
    chain             VARCHAR NOT NULL,
    block_number      BIGINT NOT NULL,
    block_hash        VARCHAR NOT NULL,
    transaction_hash  VARCHAR NOT NULL,
    transaction_index INTEGER NOT NULL,
    log_index         INTEGER NOT NULL,
    address           VARCHAR NOT NULL,
    topics            VARCHAR[] NOT NULL,
    data              VARCHAR NOT NULL,
    provenance_id     BIGINT NOT NULL
);

CREATE TABLE token_transfers (
    chain             VARCHAR NOT NULL,
    block_number      BIGINT NOT NULL,
    block_hash        VARCHAR NOT NULL,
    transaction_hash  VARCHAR NOT NULL,
    transaction_index INTEGER NOT NULL,
    log_index         INTEGER NOT NULL,
    token_address     VARCHAR NOT NULL,
    token_standard    VARCHAR NOT NULL,    -- 'erc20' | 'erc721'
    from_address      VARCHAR NOT NULL,
    to_address        VARCHAR NOT NULL,
    value             VARCHAR NOT NULL,    -- erc20: amount in base units; erc721: the token id
    value_u128        UHUGEINT,
    provenance_id     BIGINT NOT NULL
);

CREATE TABLE native_transfers (
    chain             VARCHAR NOT NULL,
    block_number      BIGINT NOT NULL,
    block_hash        VARCHAR,             -- NULL for a callTracer trace not yet matched to its block
    transaction_hash  VARCHAR,             -- NULL for rewards and unmatched callTracer traces
    transaction_index INTEGER,
    trace_address     VARCHAR,             -- '' top-level call, '0,1' nested; NULL: from the tx
    kind              VARCHAR NOT NULL,    -- 'transaction' | 'call' | 'create' | 'suicide' | 'reward'
    call_type         VARCHAR,             -- call, callcode, delegatecall, staticcall
    from_address      VARCHAR,             -- NULL for rewards
    to_address        VARCHAR,
    value             UHUGEINT NOT NULL,
    status            SMALLINT,            -- 1 moved, 0 failed (moved nothing); NULL unknown
    error             VARCHAR,
    source            VARCHAR NOT NULL,    -- 'transaction' | 'geth' | 'parity'
    provenance_id     BIGINT NOT NULL
);

CREATE TABLE tokens (
    chain         VARCHAR NOT NULL,
    address       VARCHAR NOT NULL,
    symbol        VARCHAR,
    name          VARCHAR,
    decimals      INTEGER,
    source        VARCHAR NOT NULL,        -- 'eth_call' | 'manual' | 'tag'
    provenance_id BIGINT
);

-- Records that could not be stored as facts: kept verbatim with the reason, never dropped.
CREATE TABLE eth_rejects (
    chain         VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,        -- 'block' | 'transaction' | 'receipt' | 'log' | 'trace' | 'line'
    code          VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,        -- where in the input: 'line 12', 'result.transactions[3]'
    record        VARCHAR NOT NULL,        -- the record as JSON text
    provenance_id BIGINT NOT NULL
);
