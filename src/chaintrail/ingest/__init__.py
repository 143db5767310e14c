"""Ingest: sources that read blocks, and the pipeline that writes them into the store."""
