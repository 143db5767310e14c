"""The OFAC SDN digital-currency address lists, as ``sanction`` tags.

The lists are 0xB10C's nightly extraction of the addresses in the US Treasury's SDN list
(github.com/0xB10C/ofac-sanctioned-digital-currency-addresses, branch ``lists``): one file per
asset, ``sanctioned_addresses_<ASSET>.txt`` (one address a line) and the same as a JSON array
(``.json``). Each address becomes a tag with category ``sanction``, confidence
``authority_data`` (60) and, as source, the list file's URL in that repository, so a list
re-imported from another folder is recognised as the same tags. The lists carry no names: the
label says which list the address is on.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Final

from chaintrail.tags.tagpack import (
    TAG_SCHEMA,
    FileProblem,
    ParsedFile,
    Rejection,
    rows_to_table,
    tag_row,
)

FILE_NAME: Final = re.compile(r"^sanctioned_addresses_([A-Z0-9]+)\.(txt|json)$")
SOURCE_URL: Final = (
    "https://github.com/0xB10C/ofac-sanctioned-digital-currency-addresses/blob/lists/{name}"
)
#: OFAC's asset codes that differ from the currency codes tags use.
_CURRENCY: Final = {"XBT": "BTC"}
_TRON: Final = re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")


def is_ofac_list(path: Path) -> bool:
    return FILE_NAME.match(path.name) is not None


def _network(asset: str, address: str) -> str:
    """Stablecoins are listed per asset: their network is told by the address form."""
    if asset in ("USDT", "USDC"):
        if address.lower().startswith("0x"):
            return "ETH"
        if _TRON.match(address):
            return "TRX"
    return _CURRENCY.get(asset, asset)


def parse_ofac_file(path: str) -> ParsedFile | FileProblem:
    p = Path(path)
    match = FILE_NAME.match(p.name)
    if match is None:
        return FileProblem(path, "not an OFAC list (sanctioned_addresses_<ASSET>.txt/.json)",
                           unsupported=True)  # fmt: skip
    asset, ext = match.groups()
    try:
        data = p.read_bytes()
    except OSError as e:
        return FileProblem(path, f"cannot read the file: {e.strerror or e}")
    try:
        text = data.decode("utf-8")
        if ext == "json":
            loaded = json.loads(text)
            if not isinstance(loaded, list):
                return FileProblem(path, "an OFAC .json list must be a JSON array")
            items: list[Any] = loaded
        else:
            items = [line.strip() for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return FileProblem(path, f"cannot read the list: {e}")
    currency = _CURRENCY.get(asset, asset)
    base = {
        "currency": currency,
        "label": f"OFAC SDN list: sanctioned {asset} address",
        "category": "sanction",
        "confidence": "authority_data",
        "source": SOURCE_URL.format(name=p.name),
        "is_public": True,
        "tlp": "CLEAR",
    }
    rows, rejections = [], []
    for i, address in enumerate(items):
        m = {**base, "address": address}
        if isinstance(address, str):
            m["network"] = _network(asset, address.strip())
        row = tag_row(m, i)
        if isinstance(row, str):
            rejections.append(Rejection(path, i, i + 1 if ext == "txt" else None, row,
                                        str(address), currency))  # fmt: skip
        else:
            rows.append(row)
    return ParsedFile(
        path, "ofac", hashlib.sha256(data).hexdigest(),
        title=f"OFAC SDN digital currency addresses ({asset})",
        creator="US Treasury OFAC, via 0xB10C/ofac-sanctioned-digital-currency-addresses",
        description=None, entries=len(items), tags=rows_to_table(rows, TAG_SCHEMA),
        rejections=rejections,
    )  # fmt: skip
