"""Attribution: tags (GraphSense TagPack assertions about addresses), actors, and their import,
lookup and export. Start from ``ws.tags`` (:class:`~chaintrail.tags.service.TagService`)."""

from chaintrail.tags.model import CONFIDENCE_LEVELS, TLP_LEVELS, Actor, Confidence, Tag

__all__ = ["CONFIDENCE_LEVELS", "TLP_LEVELS", "Actor", "Confidence", "Tag"]
