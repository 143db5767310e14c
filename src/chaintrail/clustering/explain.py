"""Why are two addresses in one cluster? The shortest chain of recorded links between them.

Every link a heuristic made is a row of ``cluster_links`` (address, address, txid, heuristic,
version, confidence). Within the cluster of the first address, a breadth-first search over those
links finds the shortest chain to the second; each step is one piece of evidence an investigator
can check on chain (the transaction and the rule that joined the two addresses).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import duckdb


@dataclass(frozen=True, slots=True)
class Link:
    address_a: str
    address_b: str
    txid: str
    height: int | None
    heuristic: str
    version: int
    confidence: int

    def to_json(self) -> dict[str, Any]:
        return {"address_a": self.address_a, "address_b": self.address_b, "txid": self.txid,
                "height": self.height, "heuristic": self.heuristic, "version": self.version,
                "confidence": self.confidence}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Explanation:
    address_a: str
    address_b: str
    linked: bool
    cluster_id: int | None
    path: tuple[Link, ...]

    @property
    def confidence(self) -> int:
        """The weakest link of the chain (100 for the same address, 0 when not linked)."""
        if not self.linked:
            return 0
        return min((link.confidence for link in self.path), default=100)

    def to_json(self) -> dict[str, Any]:
        return {"address_a": self.address_a, "address_b": self.address_b, "linked": self.linked,
                "cluster_id": self.cluster_id, "confidence": self.confidence,
                "steps": len(self.path), "path": [p.to_json() for p in self.path]}  # fmt: skip


def shortest_path(
    con: duckdb.DuckDBPyConnection, id_a: int, id_b: int, cluster_id: int
) -> list[tuple[int, int, str, int | None, str, int, int]]:
    """Links (a, b, txid, height, heuristic, version, confidence) from id_a to id_b, oriented
    along the path; the cluster's links only. Ties go to the first-recorded link."""
    rows = con.execute(
        """select l.address_a, l.address_b, l.txid, l.height, l.heuristic, l.version,
                  l.confidence
           from cluster_links l join clusters c on c.address_id = l.address_a
           where c.cluster_id = ? order by l.run_id, l.height, l.txid, l.address_a, l.address_b""",
        [cluster_id],
    ).fetchall()
    adjacency: dict[int, list[int]] = {}
    for k, (a, b, *_rest) in enumerate(rows):
        adjacency.setdefault(a, []).append(k)
        adjacency.setdefault(b, []).append(k)
    came: dict[int, tuple[int, int] | None] = {id_a: None}
    queue = deque([id_a])
    while queue and id_b not in came:
        node = queue.popleft()
        for k in adjacency.get(node, []):
            a, b = rows[k][0], rows[k][1]
            other = b if a == node else a
            if other not in came:
                came[other] = (node, k)
                queue.append(other)
    if id_b not in came:
        return []
    path = []
    node = id_b
    while (step := came[node]) is not None:
        prev, k = step
        a, b, txid, height, heuristic, version, confidence = rows[k]
        path.append((prev, node, txid, height, heuristic, version, confidence))
        node = prev
    return path[::-1]
