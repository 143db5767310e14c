"""Ethereum (and EVM) data: JSON-RPC and ethereum-etl shapes decoded to exact Python values.

Quantities become ``int`` (wei, gas, token base units: never floats), addresses and hashes
lower-case ``0x`` hex, and every record that does not decode raises
:class:`~chaintrail.errors.MalformedEthRecordError` naming the field, so ingest can keep it as a
reject instead of guessing.
"""
