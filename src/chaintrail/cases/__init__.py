"""Cases: victim-report intake, on-chain verification, and the cases reports belong to.

``ws.cases`` (:class:`~chaintrail.cases.service.CaseService`) imports report files (CSV, XLSX,
JSON) row by row, keeping every rejected row verbatim with its reason, and matches each report
to the payment it describes. See ``docs/cases.md``.
"""

from chaintrail.cases.matching import MatchOptions, Payment
from chaintrail.cases.model import (
    FIELDS,
    ImportReport,
    Normalisation,
    Problem,
    Rejection,
    Report,
    Verification,
)
from chaintrail.cases.read import Layout, make_layout
from chaintrail.cases.service import CaseService, VerifyReport

__all__ = [
    "FIELDS",
    "CaseService",
    "ImportReport",
    "Layout",
    "MatchOptions",
    "Normalisation",
    "Payment",
    "Problem",
    "Rejection",
    "Report",
    "Verification",
    "VerifyReport",
    "make_layout",
]
