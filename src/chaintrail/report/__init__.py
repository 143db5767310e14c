"""Court reports and freeze requests for a triaged case (``chaintrail report``,
``chaintrail freeze-requests``).

The report states the case's triage figures, the flow of funds, the endpoints and the method
with its measured error rates, in Korean, Japanese, Chinese or English, as HTML or PDF. Other
outputs that embed a report (the evidence bundle) call :func:`render_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chaintrail.errors import UsageError
from chaintrail.report.data import gather
from chaintrail.report.document import build
from chaintrail.report.freeze import Letter, letters
from chaintrail.report.html import render_html
from chaintrail.report.i18n import LANGUAGES, catalog, check_language
from chaintrail.report.pdf import render_pdf

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: The output formats.
FORMATS: Final = ("pdf", "html")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"Unknown format {fmt!r}.", hint=f"Choose one of: {', '.join(FORMATS)}.")
    return fmt


def _render(doc: dict[str, Any], fmt: str) -> bytes:
    return render_pdf(doc) if fmt == "pdf" else render_html(doc)


def render_report(
    ws: Workspace,
    case_id: str,
    lang: str,
    fmt: str,
    *,
    timezone: str | None = None,
    validation: Path | None = None,
    currency: str | None = None,
) -> bytes:
    """The report of ``case_id`` in ``lang`` (ko, ja, zh, en) as ``fmt`` (pdf, html) bytes.

    ``timezone`` (IANA) is the case's local time zone; default: the zone of most victims'
    country, else the language's. ``validation`` is the validation results file whose error
    rates the methodology quotes (default: the source tree's docs/validation-results.json).
    ``currency`` is the fiat currency of values (default: the language's: KRW, JPY, CNY, USD);
    values are shown only when prices of the case's asset were imported (``prices import``).
    """
    check_language(lang)
    check_format(fmt)
    cat = catalog(lang)
    data = gather(ws, case_id, fallback_zone=cat.default_timezone, timezone=timezone,
                  validation=validation,
                  currency=currency or cat.t("meta.currency"))  # fmt: skip
    return _render(build(data, cat), fmt)


@dataclass(frozen=True, slots=True)
class FreezeRequests:
    """The letters written for one case; ``files`` relative to the output folder."""

    case_id: str
    assets: list[str]
    letters: list[Letter]
    files: list[str]

    def to_json(self) -> dict[str, Any]:
        """Amounts as triage writes them: one integer for a one-asset case, else per asset."""
        one = len(self.assets) == 1
        return {
            "case_id": self.case_id, "asset": self.assets[0] if one else self.assets,
            "files": self.files,
            "letters": [{"kind": x.kind, "exchange": x.exchange, "letter": x.stem,
                         "amount": x.amounts.get(self.assets[0], 0) if one else x.amounts,
                         "amount_text": x.amount_text, "transactions": x.transactions,
                         "deposit_addresses": x.deposit_addresses} for x in self.letters],
        }  # fmt: skip


def write_freeze_requests(
    ws: Workspace,
    case_id: str,
    out_dir: Path,
    *,
    lang: str = "en",
    fmt: str = "html",
    timezone: str | None = None,
) -> FreezeRequests:
    """Write one letter (``NN-exchange.html|pdf``) and one CSV annex (``NN-exchange.csv``) per
    exchange the case's money reached, and per token issuer that can still freeze traced
    balances (``NN-issuer-usdt``), into ``out_dir`` (created if missing)."""
    check_language(lang)
    check_format(fmt)
    cat = catalog(lang)
    data = gather(ws, case_id, fallback_zone=cat.default_timezone, timezone=timezone)
    found = letters(data, cat)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for x in found:
        (out_dir / f"{x.stem}.{fmt}").write_bytes(_render(x.doc, fmt))
        (out_dir / f"{x.stem}.csv").write_bytes(x.annex)
        files += [f"{x.stem}.{fmt}", f"{x.stem}.csv"]
    return FreezeRequests(case_id, data.assets, found, files)


__all__ = ["FORMATS", "LANGUAGES", "FreezeRequests", "render_report", "write_freeze_requests"]
