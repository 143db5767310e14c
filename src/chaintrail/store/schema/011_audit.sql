-- The audit log (docs/audit.md): one header naming the workspace's Ed25519 public key and the
-- signed head of the chain, and the append-only, hash-chained, signed entries, one per command
-- that changed a case. Rows are only ever inserted (entries) or moved forward (the head).

CREATE TABLE audit_header (
    format          VARCHAR NOT NULL,      -- 'chaintrail-audit/1'
    public_key      VARCHAR NOT NULL,      -- raw Ed25519 public key, 64 hex digits
    key_id          VARCHAR NOT NULL,      -- first 16 hex digits of SHA-256 of the raw key
    created_at      TIMESTAMPTZ NOT NULL,
    header_hash     VARCHAR NOT NULL,      -- SHA-256 of the canonical JSON of the four above
    head_seq        BIGINT NOT NULL,       -- seq of the last entry; 0 while there is none
    head_hash       VARCHAR NOT NULL,      -- entry_hash of the last entry (header_hash: none)
    head_signature  VARCHAR NOT NULL       -- Ed25519 signature of the canonical head, hex
);

CREATE TABLE audit_log (
    seq            BIGINT NOT NULL,        -- 1, 2, 3, ... without gaps
    recorded_at    TIMESTAMPTZ NOT NULL,   -- when (UTC)
    actor          VARCHAR NOT NULL,       -- who: the investigator setting, else the OS user
    command        VARCHAR NOT NULL,       -- what: 'cases.import', 'cases.note', ...
    arguments      VARCHAR NOT NULL,       -- canonical JSON of the command's arguments
    result         VARCHAR NOT NULL,       -- canonical JSON: what it produced (ids, counts)
    case_ids       VARCHAR[] NOT NULL,     -- the cases it changed (empty: workspace-wide)
    inputs_sha256  VARCHAR NOT NULL,       -- SHA-256 of its inputs (file bytes, or arguments)
    prev_hash      VARCHAR NOT NULL,       -- entry_hash of the entry before (header_hash for 1)
    entry_hash     VARCHAR NOT NULL,       -- SHA-256 of the canonical JSON of the fields above
    signature      VARCHAR NOT NULL        -- Ed25519 signature of entry_hash, hex
);
