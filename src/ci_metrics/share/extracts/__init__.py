"""Partner CSV extracts under data-sharing agreements, with disclosure control.

See ``docs/extracts.md``. Entry points for the CLI and the flow:
:func:`produce_extracts` and :func:`list_agreements`; for the report:
:func:`apply_disclosure_control` and :func:`build_partner_frame`.
"""

from ci_metrics.share.extracts.agreements import (
    DEFAULT_AGREEMENTS_DIR,
    Agreement,
    AgreementError,
    AgreementStatus,
    list_agreements,
    load_agreement,
)
from ci_metrics.share.extracts.disclosure import DisclosureRules, apply_disclosure_control
from ci_metrics.share.extracts.produce import (
    EXTRACTS_DDL,
    PartnerExtractResult,
    build_partner_frame,
    produce_extracts,
)

__all__ = [
    "DEFAULT_AGREEMENTS_DIR",
    "EXTRACTS_DDL",
    "Agreement",
    "AgreementError",
    "AgreementStatus",
    "DisclosureRules",
    "PartnerExtractResult",
    "apply_disclosure_control",
    "build_partner_frame",
    "list_agreements",
    "load_agreement",
    "produce_extracts",
]
