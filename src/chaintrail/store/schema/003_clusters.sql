-- Address clustering (see docs/heuristics.md): dense address ids, the cluster of every address,
-- every link a heuristic made (the evidence behind each cluster), CoinJoin labels, and one
-- provenance row per clustering run with its supercluster-guard warnings.

-- Every address seen in the best chain, numbered densely in order of first appearance
-- (height, position of the transaction in its block, inputs before outputs, index).
CREATE TABLE addresses (
    id            BIGINT NOT NULL,
    address       VARCHAR NOT NULL,
    first_height  BIGINT,
    first_txid    VARCHAR NOT NULL
);

-- The cluster of every address: cluster_id is the smallest address id in the cluster.
CREATE TABLE clusters (
    address_id  BIGINT NOT NULL,
    cluster_id  BIGINT NOT NULL
);

-- One row per link a heuristic made between two addresses: the evidence explain follows.
CREATE TABLE cluster_links (
    address_a   BIGINT NOT NULL,        -- addresses.id
    address_b   BIGINT NOT NULL,        -- addresses.id
    txid        VARCHAR NOT NULL,
    height      BIGINT,
    heuristic   VARCHAR NOT NULL,       -- name or spec, e.g. 'multi_input'
    version     INTEGER NOT NULL,
    confidence  INTEGER NOT NULL,       -- 0-100
    run_id      BIGINT NOT NULL
);

-- Transactions the CoinJoin detectors labelled (whirlpool_tx0 with is_coinjoin = false).
CREATE TABLE coinjoins (
    txid         VARCHAR NOT NULL,
    height       BIGINT,
    kind         VARCHAR NOT NULL,
    is_coinjoin  BOOLEAN NOT NULL,
    version      INTEGER NOT NULL,
    run_id       BIGINT NOT NULL
);

-- The blocks clustering has covered: a run adds the best-chain blocks not listed here yet.
CREATE TABLE cluster_blocks (
    hash    VARCHAR NOT NULL,
    height  BIGINT,
    run_id  BIGINT NOT NULL
);

CREATE TABLE cluster_runs (
    id            BIGINT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    tool_version  VARCHAR NOT NULL,
    rules         VARCHAR NOT NULL,     -- JSON list of the rule specs
    heuristics    VARCHAR NOT NULL,     -- JSON {name: version}
    parameters    VARCHAR NOT NULL,     -- JSON: guard settings and the like
    height_from   BIGINT,               -- first height this run added (NULL: nothing new)
    height_to     BIGINT,               -- data height the clusters now cover
    addresses     BIGINT NOT NULL,      -- addresses after the run
    clusters      BIGINT NOT NULL,      -- clusters after the run
    links_added   BIGINT NOT NULL,
    coinjoins     VARCHAR NOT NULL      -- JSON {kind: count} labelled by this run
);

CREATE TABLE cluster_warnings (
    run_id         BIGINT NOT NULL,
    kind           VARCHAR NOT NULL,    -- 'size_jump' | 'large_merge'
    cluster_id     BIGINT NOT NULL,
    size           BIGINT NOT NULL,     -- size after the step
    largest_part   BIGINT NOT NULL,     -- largest cluster that went into it
    parts          INTEGER NOT NULL,    -- clusters merged in the step
    height_from    BIGINT,              -- the guard step (block heights)
    height_to      BIGINT
);
