-- Case triage (docs/cases.md#triage): who opened a case and who placed each report in it (so
-- that triage never moves what an investigator placed by hand), why a case was closed, and
-- each triage run with its per-case figures and the merges that made each scheme.

CREATE SEQUENCE triage_run_id_seq START 1;

ALTER TABLE cases ADD COLUMN origin VARCHAR DEFAULT 'hand';      -- 'hand' | 'triage'
ALTER TABLE cases ADD COLUMN close_reason VARCHAR;
ALTER TABLE case_reports ADD COLUMN placed_by VARCHAR DEFAULT 'hand';  -- 'hand' | 'triage'

CREATE TABLE triage_runs (
    id                   BIGINT PRIMARY KEY,
    started_at           TIMESTAMPTZ NOT NULL,
    tool_version         VARCHAR NOT NULL,
    parameters           VARCHAR NOT NULL,   -- JSON: policy, stop rules, convergence hops
    height_to            BIGINT,             -- best-chain tip the store reached
    verification_run_id  BIGINT              -- the verification run triaged
);

CREATE TABLE case_triage (
    run_id    BIGINT NOT NULL,
    case_id   VARCHAR NOT NULL,
    rank      INTEGER NOT NULL,              -- 1 = highest priority
    figures   VARCHAR NOT NULL               -- JSON: the case as 'cases triage --json' gives it
);

CREATE TABLE scheme_merges (
    run_id     BIGINT NOT NULL,
    case_id    VARCHAR NOT NULL,
    report_a   VARCHAR NOT NULL,
    report_b   VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,             -- 'same_address' | 'same_cluster' | 'convergence' | 'duplicate'
    detail     VARCHAR NOT NULL              -- JSON: the address, cluster or convergence point
);
