"""chaintrail: an open, evidence-grade crypto-crime investigation workbench."""

from chaintrail._version import __version__

__all__ = ["__version__"]
