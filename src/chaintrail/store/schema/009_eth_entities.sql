-- Account-model entities (see docs/heuristics.md#ethereum-deposit-addresses): exchange deposit
-- addresses detected by their forwarding to one hot wallet, and the customer clusters of the
-- deposit-reuse heuristic with the link behind every merge. A run recomputes them from the
-- whole store (deterministically) and replaces the previous run's rows; cluster_id is the
-- smallest member id when the clustered addresses are numbered in lexicographic order.

CREATE TABLE eth_entity_runs (
    id            BIGINT NOT NULL,
    chain         VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    tool_version  VARCHAR NOT NULL,
    heuristics    VARCHAR NOT NULL,     -- JSON {name: version}
    parameters    VARCHAR NOT NULL,     -- JSON: window, tolerance, minimum deposits
    block_from    BIGINT,               -- data the run saw (NULL: no transfers)
    block_to      BIGINT,
    deposits      BIGINT NOT NULL,
    addresses     BIGINT NOT NULL,      -- addresses in clusters
    clusters      BIGINT NOT NULL,
    links         BIGINT NOT NULL
);

-- One row per (deposit address, asset) that met the forwarding rule.
CREATE TABLE eth_deposits (
    chain          VARCHAR NOT NULL,
    address        VARCHAR NOT NULL,    -- the deposit address (lower-case)
    hot_wallet     VARCHAR NOT NULL,    -- where it forwards
    asset          VARCHAR NOT NULL,    -- 'ETH' or the token contract
    received       VARCHAR NOT NULL,    -- exact decimal text (tokens may exceed 2^128)
    forwarded      VARCHAR NOT NULL,    -- to the hot wallet, plus the fees paid (ETH)
    transfers_in   INTEGER NOT NULL,
    transfers_out  INTEGER NOT NULL,
    first_block    BIGINT NOT NULL,
    last_block     BIGINT NOT NULL,
    hot_wallet_tagged BOOLEAN NOT NULL, -- the hot wallet has an exchange/hot_wallet tag
    run_id         BIGINT NOT NULL
);

CREATE TABLE eth_clusters (
    chain       VARCHAR NOT NULL,
    address     VARCHAR NOT NULL,
    cluster_id  BIGINT NOT NULL,
    run_id      BIGINT NOT NULL
);

-- One row per sender linked to a deposit address: the evidence an explanation follows.
CREATE TABLE eth_cluster_links (
    chain             VARCHAR NOT NULL,
    address_a         VARCHAR NOT NULL, -- the sender
    address_b         VARCHAR NOT NULL, -- the deposit address
    hot_wallet        VARCHAR NOT NULL,
    transaction_hash  VARCHAR NOT NULL, -- the sender's first transfer to the deposit address
    block_number      BIGINT NOT NULL,
    heuristic         VARCHAR NOT NULL, -- 'eth_deposit_reuse'
    version           INTEGER NOT NULL,
    confidence        INTEGER NOT NULL, -- 0-100
    run_id            BIGINT NOT NULL
);
