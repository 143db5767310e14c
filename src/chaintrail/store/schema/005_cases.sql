-- Case intake (docs/cases.md): victim-report files, the reports accepted from them (verbatim and
-- normalised), the rows rejected (verbatim, with the reason), cases with their members and
-- notes, and what on-chain verification found for each report.

CREATE SEQUENCE report_import_id_seq START 1;
CREATE SEQUENCE verification_run_id_seq START 1;
CREATE SEQUENCE case_note_id_seq START 1;

-- One row per distinct (file content, layout) imported; re-importing the same is a no-op.
CREATE TABLE report_imports (
    id             BIGINT PRIMARY KEY,
    path           VARCHAR NOT NULL,      -- absolute path at the first import
    sha256         VARCHAR NOT NULL,      -- of the file bytes
    format         VARCHAR NOT NULL,      -- 'csv' | 'xlsx' | 'json'
    layout         VARCHAR NOT NULL,      -- canonical JSON: column mapping, timezone, encoding
    layout_sha256  VARCHAR NOT NULL,
    imported_at    TIMESTAMPTZ NOT NULL,
    tool_version   VARCHAR NOT NULL,
    rows           INTEGER NOT NULL,      -- data rows read (blank lines not counted)
    accepted       INTEGER NOT NULL,
    rejected       INTEGER NOT NULL,
    provenance_id  BIGINT NOT NULL        -- provenance row (kind 'file') of the file
);

CREATE TABLE reports (
    report_id       VARCHAR NOT NULL,
    import_id       BIGINT NOT NULL,
    row_number      INTEGER NOT NULL,     -- as a spreadsheet shows it (header = row 1); JSON: index + 1
    raw             VARCHAR NOT NULL,     -- the row exactly as read
    fields          VARCHAR NOT NULL,     -- JSON {field: text as given} after the column mapping
    reported_at     TIMESTAMPTZ,
    victim_name     VARCHAR,
    country         VARCHAR,
    chain           VARCHAR NOT NULL,     -- 'btc' | 'eth' | 'tron'
    asset           VARCHAR NOT NULL,     -- upper-case symbol
    amount_text     VARCHAR,              -- the amount as given (trimmed)
    amount          HUGEINT,              -- in base units of the asset; NULL: none or unknown asset
    decimals        INTEGER,              -- of the asset; NULL for an unknown asset
    tx_hash         VARCHAR,
    from_address    VARCHAR,
    to_address      VARCHAR,
    description     VARCHAR,
    flags           VARCHAR[] NOT NULL,   -- accepted with a remark: 'unknown_asset', ...
    normalisations  VARCHAR NOT NULL,     -- JSON [{field, from, to, rule}]
    duplicate_of    VARCHAR,              -- report_id of the earlier report of the same payment
    provenance_id   BIGINT NOT NULL
);

CREATE TABLE report_rejects (
    import_id      BIGINT NOT NULL,
    row_number     INTEGER NOT NULL,
    report_id      VARCHAR,               -- as given, NULL when the row has none
    raw            VARCHAR NOT NULL,
    fields         VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,      -- the first problem's code
    message        VARCHAR NOT NULL,
    problems       VARCHAR NOT NULL,      -- JSON [{code, field, message}], every problem found
    provenance_id  BIGINT NOT NULL
);

CREATE TABLE cases (
    case_id    VARCHAR NOT NULL,
    title      VARCHAR NOT NULL,
    status     VARCHAR NOT NULL,          -- 'open' | 'closed'
    assignee   VARCHAR,
    opened_at  TIMESTAMPTZ NOT NULL,
    closed_at  TIMESTAMPTZ
);

CREATE TABLE case_reports (
    case_id    VARCHAR NOT NULL,
    report_id  VARCHAR NOT NULL,
    added_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE case_notes (
    id          BIGINT NOT NULL,
    case_id     VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    author      VARCHAR NOT NULL,
    text        VARCHAR NOT NULL
);

CREATE TABLE verification_runs (
    id            BIGINT PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    tool_version  VARCHAR NOT NULL,
    parameters    VARCHAR NOT NULL,       -- JSON: tolerance, time window
    height_to     BIGINT,                 -- best-chain tip the store reached
    reports       INTEGER NOT NULL
);

CREATE TABLE report_verifications (
    run_id           BIGINT NOT NULL,
    report_id        VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,    -- 'verified' | 'not_found' | 'unsupported'
    method           VARCHAR,             -- 'txid' | 'address_amount'
    reasons          VARCHAR[] NOT NULL,  -- 'amount_differs', 'txid_typo_recovered', ...
    txid             VARCHAR,
    vout             INTEGER,
    address          VARCHAR,
    verified_amount  HUGEINT,             -- base units, as on chain
    block_height     BIGINT,
    block_time       TIMESTAMPTZ,
    duplicate_of     VARCHAR,             -- earlier report matched to the same payment
    detail           VARCHAR NOT NULL     -- JSON: reported vs found, candidates, messages
);
