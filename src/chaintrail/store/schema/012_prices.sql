-- Price tables the investigator imports (docs/prices.md): daily prices of a crypto asset in a
-- fiat currency, exact decimals, each row traced to the file it came from. Reports value
-- payments with them; without them a report shows no fiat value at all.

CREATE SEQUENCE price_import_id_seq START 1;

-- One row per distinct (file content, default asset/currency) imported; re-importing is a no-op.
CREATE TABLE price_imports (
    id             BIGINT PRIMARY KEY,
    path           VARCHAR NOT NULL,      -- absolute path at the first import
    sha256         VARCHAR NOT NULL,      -- of the file bytes
    defaults       VARCHAR NOT NULL,      -- canonical JSON {asset, currency} given on the command line
    imported_at    TIMESTAMPTZ NOT NULL,
    tool_version   VARCHAR NOT NULL,
    rows           INTEGER NOT NULL,      -- data rows read (blank lines not counted)
    accepted       INTEGER NOT NULL,
    known          INTEGER NOT NULL,      -- rows an earlier import already gave, same price
    rejected       INTEGER NOT NULL,
    provenance_id  BIGINT NOT NULL        -- provenance row (kind 'file') of the file
);

-- At most one price per (asset, currency, day): a later file that disagrees is rejected.
CREATE TABLE prices (
    asset          VARCHAR NOT NULL,      -- upper-case symbol, e.g. 'BTC'
    currency       VARCHAR NOT NULL,      -- ISO 4217 code of the quote, e.g. 'USD'
    day            DATE NOT NULL,         -- the UTC day the price is for
    price          DECIMAL(38, 12) NOT NULL,  -- of one whole unit of the asset, exact
    price_text     VARCHAR NOT NULL,      -- as written in the file (trimmed)
    import_id      BIGINT NOT NULL,
    row_number     INTEGER NOT NULL,      -- as a spreadsheet shows it (header = row 1)
    provenance_id  BIGINT NOT NULL
);

CREATE TABLE price_rejects (
    import_id      BIGINT NOT NULL,
    row_number     INTEGER NOT NULL,
    raw            VARCHAR NOT NULL,      -- the line exactly as read
    reason         VARCHAR NOT NULL,      -- code, e.g. 'invalid_price'
    message        VARCHAR NOT NULL,
    provenance_id  BIGINT NOT NULL
);
