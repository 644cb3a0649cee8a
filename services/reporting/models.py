"""Every table of reporting, for Alembic's metadata and for tests: each part keeps its own
models (``services/reporting/<part>/models.py``); this module only gathers them."""

from services.reporting.alliances.models import Alliance
from services.reporting.base import (
    Base,
    OutboxEvent,
    ProcessedEvent,
    RejectedEvent,
    StaffConflict,
)
from services.reporting.evaluations.models import Evaluation
from services.reporting.proposals.models import ReportingProposal
from services.reporting.reports.models import (
    Report,
    ReportDraft,
    ReportLinkResend,
    ReportReminder,
    ReportReview,
    ReportVersion,
)

__all__ = [
    "Alliance",
    "Base",
    "Evaluation",
    "OutboxEvent",
    "ProcessedEvent",
    "RejectedEvent",
    "Report",
    "ReportDraft",
    "ReportLinkResend",
    "ReportReminder",
    "ReportReview",
    "ReportVersion",
    "ReportingProposal",
    "StaffConflict",
]
