-- Distinct counterparties of every cluster, precomputed by each clustering run for the trace's
-- hub rule (docs/trace-policies.md), which would otherwise count them over the whole inputs/outputs
-- tables for every batch of a trace. One row per cluster with at least one counterparty.
CREATE TABLE cluster_counterparties (
    cluster_id      BIGINT NOT NULL,    -- clusters.cluster_id
    counterparties  BIGINT NOT NULL     -- distinct addresses outside the cluster it traded with
);

-- What each rebuild of cluster_counterparties covered: the table answers for the store only
-- while these counts still match it (a later ingest or fetch makes the trace count live again).
CREATE TABLE counterparty_runs (
    run_id          BIGINT NOT NULL,    -- cluster_runs.id of the clustering run that built it
    cluster_blocks  BIGINT NOT NULL,    -- rows of cluster_blocks covered
    inputs          BIGINT NOT NULL,    -- rows of inputs covered
    outputs         BIGINT NOT NULL,    -- rows of outputs covered
    clusters        BIGINT NOT NULL,    -- rows written to cluster_counterparties
    seconds         DOUBLE NOT NULL     -- time the rebuild took
);
