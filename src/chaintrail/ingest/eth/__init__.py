"""Ethereum ingest: saved JSON-RPC answers and ethereum-etl exports into the store."""
