-- Blocks known only in part: a transaction fetched on demand (Esplora, see docs/ingest.md,
-- "On-demand fetching") is stored in its real block, but the block row then holds only the
-- transactions fetched so far. tx_count stays the block's real count as the server stated it.
ALTER TABLE blocks ADD COLUMN partial BOOLEAN NOT NULL DEFAULT false;
