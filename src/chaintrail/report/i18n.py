"""Text catalogs of reports and letters: one YAML file per language, loaded from the package.

Court paperwork is read in the investigator's language, so no text a reader sees lives in code:
the code names a key (``report.summary``) and the catalog gives the words. Every catalog has the
same keys as the English one (a test checks it), so a missing translation fails loudly instead of
printing a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

from chaintrail.errors import UsageError

#: The report languages, in the order the command line lists them.
LANGUAGES: Final = ("ko", "ja", "zh", "en")


@dataclass(frozen=True, slots=True)
class Catalog:
    """One language's texts; ``t("report.summary", victims=3)`` fills the placeholders."""

    lang: str
    texts: dict[str, Any]

    def t(self, key: str, **values: object) -> str:
        node: Any = self.texts
        for part in key.split("."):
            node = node[part]
        return str(node).format(**values) if values else str(node)

    @property
    def default_timezone(self) -> str:
        return self.t("meta.default_timezone")


def check_language(lang: str) -> str:
    """``lang`` if it is a report language, else a UsageError (exit 2) naming the choices."""
    if lang not in LANGUAGES:
        raise UsageError(
            f"Unknown report language {lang!r}.",
            hint=f"Choose one of: {', '.join(LANGUAGES)}.",
        )
    return lang


@cache
def catalog(lang: str) -> Catalog:
    """The catalog of ``lang`` (checked), read once per process."""
    check_language(lang)
    text = resources.files("chaintrail.report").joinpath("i18n", f"{lang}.yaml").read_text("utf-8")
    return Catalog(lang, yaml.safe_load(text))


def keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Every dotted key of a catalog tree (to compare catalogs)."""
    out: set[str] = set()
    for k, v in tree.items():
        name = f"{prefix}{k}"
        out |= keys(v, f"{name}.") if isinstance(v, dict) else {name}
    return out


__all__ = ["LANGUAGES", "Catalog", "catalog", "check_language", "keys"]
