"""Block sources: raw files, Bitcoin Core JSON and a live Bitcoin Core node."""
