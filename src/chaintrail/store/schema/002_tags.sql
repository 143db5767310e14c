-- Attribution: tags (assertions about addresses, GraphSense TagPack fields), actors, and the
-- files they came from. A tag is identified by its content (tag_key): importing a file twice,
-- or two files that assert the same thing, stores it once.

CREATE SEQUENCE tag_source_id_seq START 1;

CREATE TABLE tag_sources (
    id            BIGINT PRIMARY KEY,
    kind          VARCHAR NOT NULL,      -- 'tagpack' | 'actorpack' | 'ofac' | 'csv'
    path          VARCHAR NOT NULL,      -- absolute path of the file as imported
    sha256        VARCHAR NOT NULL,      -- of the file bytes; one row per distinct file
    imported_at   TIMESTAMPTZ NOT NULL,
    tool_version  VARCHAR NOT NULL,
    title         VARCHAR,
    creator       VARCHAR,
    description   VARCHAR,
    entries       INTEGER NOT NULL,      -- tags (or actors) in the file
    rejected      INTEGER NOT NULL       -- of those, refused by validation at import
);

CREATE TABLE tags (
    tag_key            VARCHAR NOT NULL,  -- content key: 32 hex of SHA-256 over the assertion
    currency           VARCHAR NOT NULL,
    network            VARCHAR NOT NULL,
    address            VARCHAR NOT NULL,  -- as given
    address_norm       VARCHAR NOT NULL,  -- 0x and bech32 lower-case, others as given
    label              VARCHAR NOT NULL,
    category           VARCHAR,
    abuse              VARCHAR,
    actor              VARCHAR,
    source             VARCHAR NOT NULL,
    confidence         VARCHAR NOT NULL,
    confidence_level   INTEGER NOT NULL,
    tag_type           VARCHAR,
    concepts           VARCHAR[] NOT NULL,
    context            VARCHAR,
    lastmod            DATE,
    is_public          BOOLEAN NOT NULL,
    tlp                VARCHAR,
    is_cluster_definer BOOLEAN,
    validated          BOOLEAN NOT NULL,  -- false: no address validator for the network yet
    pack_id            BIGINT NOT NULL,   -- tag_sources.id
    position           INTEGER NOT NULL   -- index in the file's tags list / data row
);

CREATE TABLE actors (
    actor_key      VARCHAR NOT NULL,
    id             VARCHAR NOT NULL,
    uri            VARCHAR,
    label          VARCHAR NOT NULL,
    categories     VARCHAR[] NOT NULL,
    jurisdictions  VARCHAR[] NOT NULL,
    aliases        VARCHAR[] NOT NULL,
    context        VARCHAR,               -- JSON
    pack_id        BIGINT NOT NULL,
    position       INTEGER NOT NULL
);
