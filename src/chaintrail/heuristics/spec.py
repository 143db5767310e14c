"""A tiny safe parser for heuristic spec strings such as ``"(optimal & address_type).unique()
| address_reuse"`` (never ``eval``).

Grammar, with Python's precedence (``-`` binds tighter than ``&``, which binds tighter than
``|``)::

    expr   := and ('|' and)*
    and    := sub ('&' sub)*
    sub    := unary ('-' unary)*
    unary  := atom ('.unique()')*
    atom   := NAME | '(' expr ')'

A NAME is a registered heuristic's full name (``change.optimal``, ``coinjoin.whirlpool``) or,
for change heuristics, its short name (``optimal``). The spec of a parsed rule parses back to
the same rule.
"""

from __future__ import annotations

import re

from chaintrail.errors import InvalidSpecError
from chaintrail.heuristics import change, coinjoin
from chaintrail.heuristics.base import AllOf, AnyOf, Heuristic, Unique, Without

_NAME = re.compile(r"[A-Za-z_]\w*(?:\.(?!unique\(\))[A-Za-z_]\w*)*")


def registry() -> dict[str, Heuristic]:
    """Every heuristic a spec may name, by full name."""
    leaves: list[Heuristic] = [*change.ALL, *coinjoin.DETECTORS, coinjoin.whirlpool_tx0]
    out = {h.name: h for h in leaves}
    out["coinjoin.any"] = coinjoin.any
    return out


def _resolve(name: str, pos: int, spec: str) -> Heuristic:
    known = registry()
    for candidate in (name, f"change.{name}"):
        if candidate in known:
            return known[candidate]
    raise InvalidSpecError(spec, pos, f"unknown heuristic {name!r}", known=sorted(known))


def _tokens(spec: str) -> list[tuple[str, str, int]]:
    """(kind, text, position): kinds 'name', 'unique', 'op', 'end'."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(spec):
        if spec[pos].isspace():
            pos += 1
            continue
        if spec.startswith(".unique()", pos):
            out.append(("unique", ".unique()", pos))
            pos += len(".unique()")
            continue
        if spec[pos] in "|&()-":
            out.append(("op", spec[pos], pos))
            pos += 1
            continue
        m = _NAME.match(spec, pos)
        if m is None:
            raise InvalidSpecError(spec, pos, f"unexpected character {spec[pos]!r}")
        name = m.group(0)
        out.append(("name", name, pos))
        pos = m.end()
    out.append(("end", "", len(spec)))
    return out


class _Parser:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.toks = _tokens(spec)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expr(self) -> Heuristic:
        parts = [self.and_()]
        while self.peek()[:2] == ("op", "|"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def and_(self) -> Heuristic:
        parts = [self.sub()]
        while self.peek()[:2] == ("op", "&"):
            self.take()
            parts.append(self.sub())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def sub(self) -> Heuristic:
        left = self.unary()
        while self.peek()[:2] == ("op", "-"):
            self.take()
            left = Without(left, self.unary())
        return left

    def unary(self) -> Heuristic:
        h = self.atom()
        while self.peek()[0] == "unique":
            self.take()
            h = Unique(h)
        return h

    def atom(self) -> Heuristic:
        kind, text, pos = self.take()
        if kind == "name":
            return _resolve(text, pos, self.spec)
        if (kind, text) == ("op", "("):
            inner = self.expr()
            kind2, text2, pos2 = self.take()
            if (kind2, text2) != ("op", ")"):
                raise InvalidSpecError(self.spec, pos2, "expected ')'")
            return inner
        what = "end of the spec" if kind == "end" else repr(text)
        raise InvalidSpecError(self.spec, pos, f"expected a heuristic name or '(', got {what}")


def parse(spec: str) -> Heuristic:
    """The heuristic a spec string names; :class:`InvalidSpecError` with the position."""
    if not spec.strip():
        raise InvalidSpecError(spec, 0, "empty spec")
    p = _Parser(spec)
    rule = p.expr()
    kind, text, pos = p.peek()
    if kind != "end":
        raise InvalidSpecError(spec, pos, f"unexpected {text!r}")
    return rule
