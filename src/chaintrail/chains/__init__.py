"""Per-chain models and codecs."""
