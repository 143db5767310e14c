"""The local store: one embedded DuckDB database per workspace, with recorded migrations."""
