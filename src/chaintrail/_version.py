"""The package version, read by pyproject and recorded in every provenance row."""

__version__ = "0.1.0"
