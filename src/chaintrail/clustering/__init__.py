"""Address clustering: union-find over the store, explained link by link."""

from chaintrail.clustering.builder import ClusterRun, GuardWarning
from chaintrail.clustering.explain import Explanation, Link
from chaintrail.clustering.service import Cluster, ClusterInfo, ClusterService
from chaintrail.clustering.unionfind import UnionFind, components

__all__ = [
    "Cluster",
    "ClusterInfo",
    "ClusterRun",
    "ClusterService",
    "Explanation",
    "GuardWarning",
    "Link",
    "UnionFind",
    "components",
]
