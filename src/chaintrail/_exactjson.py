"""JSON decoding that keeps amounts exact and knows where each value sits in the text.

Bitcoin Core prints BTC amounts as JSON numbers (``0.29000000``). Decoding them as ``float``
loses satoshis, so every JSON document chaintrail reads from a Bitcoin source goes through
:data:`DECODER`: numbers with a fraction or exponent become :class:`decimal.Decimal`, and the
non-standard constants ``NaN``/``Infinity`` are refused.

The span helpers return the character offsets of each value, so a caller can report the line of a
bad block in a JSON-lines file and hash the exact bytes of one element of a batch response.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from decimal import Decimal
from typing import Any

_WHITESPACE = " \t\n\r"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


#: The one decoder: decimals exact, NaN/Infinity refused, control characters in strings refused.
DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def loads(text: str) -> Any:
    """Decode one JSON document exactly; raises ``ValueError`` (incl. JSONDecodeError)."""
    return DECODER.decode(text)


def skip_whitespace(text: str, pos: int) -> int:
    """The first offset at or after ``pos`` that is not JSON whitespace."""
    end = len(text)
    while pos < end and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def iter_array(text: str, start: int) -> Generator[tuple[Any, int, int], None, int]:
    """Each element of the JSON array whose ``[`` is at ``start``, with its character span.

    Yields ``(value, start, end)`` and returns the offset just after the closing ``]``; raises
    ``ValueError`` (a JSONDecodeError with ``pos``) when the text is not a well-formed array.
    Elements are decoded one by one, so the array is never decoded twice.
    """
    if text[start : start + 1] != "[":
        raise json.JSONDecodeError("expected '['", text, start)
    pos = skip_whitespace(text, start + 1)
    if text[pos : pos + 1] == "]":
        return pos + 1
    while True:
        value, end = DECODER.raw_decode(text, pos)
        yield value, pos, end
        pos = skip_whitespace(text, end)
        mark = text[pos : pos + 1]
        if mark == "]":
            return pos + 1
        if mark != ",":
            raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        pos = skip_whitespace(text, pos + 1)


def line_of(text: str, pos: int) -> int:
    """1-based line number of character offset ``pos``."""
    return text.count("\n", 0, pos) + 1
