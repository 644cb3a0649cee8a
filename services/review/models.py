"""Every table of review, for Alembic's metadata and for tests: each part keeps its own
models (``services/review/<part>/models.py``); this module only gathers them."""

from services.review.alliances.models import (
    Alliance,
    AllianceDocument,
    AllianceStatusChange,
    AllianceTerm,
    Milestone,
    Roundtable,
    RoundtableMembership,
    TeamMeeting,
)
from services.review.base import (
    AuditEntry,
    Base,
    OutboxEvent,
    ProcessedEvent,
    RejectedEvent,
    StaffConflict,
)
from services.review.decisions.models import PreparedDecision
from services.review.queue.models import (
    QueueAdjustment,
    QueuedProposal,
    ReviewComment,
    ScoringConfig,
)
from services.review.roundtables.models import RoundtableMeeting, RoundtableProduct
from services.review.staff.models import StaffUser

__all__ = [
    "Alliance",
    "AllianceDocument",
    "AllianceStatusChange",
    "AllianceTerm",
    "AuditEntry",
    "Base",
    "Milestone",
    "OutboxEvent",
    "PreparedDecision",
    "ProcessedEvent",
    "QueueAdjustment",
    "QueuedProposal",
    "RejectedEvent",
    "ReviewComment",
    "Roundtable",
    "RoundtableMeeting",
    "RoundtableMembership",
    "RoundtableProduct",
    "ScoringConfig",
    "StaffConflict",
    "StaffUser",
    "TeamMeeting",
]
