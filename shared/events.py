"""The event catalog: versioned schemas, the envelope, and who subscribes to what.

Every event travels as a JSON envelope::

    {"event_id": UUID, "type": "proposal.submitted", "version": 1,
     "occurred_at": ISO-8601 with offset, "producer": "intake", "payload": {...}}

The payload schema is chosen by ``(type, version)``. A new incompatible payload gets a new
version; consumers keep accepting the versions they know.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared.config import SERVICES
from shared.proposal import ProposalSchema


class MalformedEvent(Exception):
    """An event that does not match the catalog; ``errors`` says where."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__(f"malformed event: {errors}")
        self.errors = errors


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True, validate=validate.OneOf(SERVICES))
    payload = fields.Dict(required=True)


class ProposalSubmittedV1(Schema):
    """A proposal was submitted (``proposal.submitted``) or resubmitted (same payload)."""

    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    submitted_at = fields.AwareDateTime(required=True)
    status_url = fields.String(load_default="", validate=validate.Length(max=2000))
    proposal = fields.Nested(ProposalSchema, required=True)


class ProposalDraftSavedV1(Schema):
    """An applicant saved a draft (``proposal.draft_saved``): e-mail the link to resume it."""

    proposal_id = fields.UUID(required=True)
    contact_name = fields.String(load_default="", validate=validate.Length(max=200))
    contact_email = fields.Email(required=True)
    organization_name = fields.String(load_default="", validate=validate.Length(max=200))
    resume_url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    saved_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    # The language the contact chose on the form (shared/i18n.py); "en" in older events.
    contact_language = fields.String(load_default="en", validate=validate.OneOf(["en", "es"]))


class ApplicantSchema(Schema):
    """Who hears about a decision: the proposal's contact."""

    contact_name = fields.String(load_default="", validate=validate.Length(max=200))
    contact_email = fields.Email(required=True)
    organization_name = fields.String(load_default="", validate=validate.Length(max=200))
    status_url = fields.String(load_default="", validate=validate.Length(max=2000))
    # The language the contact reads our messages in (shared/i18n.py); "en" in older events.
    contact_language = fields.String(load_default="en", validate=validate.OneOf(["en", "es"]))


class ProposalChangesRequestedV1(ApplicantSchema):
    """A reviewer asked the applicant for changes (``proposal.changes_requested``)."""

    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    message = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    requested_at = fields.AwareDateTime(required=True)


class ProposalDeclinedV1(ApplicantSchema):
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    decided_at = fields.AwareDateTime(required=True)


class ProposalApprovedV1(ApplicantSchema):
    """The proposal is approved (``proposal.approved``): its alliance awaits the signing of
    the agreement, which ``alliance.signed`` announces later with the signing date. ``liaison``
    (with the staff ``id``) is the alliance's liaison: notify lets them read the proposal's
    messages; absent from events older than the field. ``signing_date`` is only in events
    from before approval and signing were two steps (they came together then)."""

    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    alliance_id = fields.UUID(required=True)
    division = fields.String(required=True, validate=validate.Length(min=1, max=64))
    division_label = fields.String(load_default="", validate=validate.Length(max=200))
    signing_date = fields.Date(load_default=None, allow_none=True)
    term_years = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10))
    message = fields.String(load_default="", validate=validate.Length(max=10000))
    decided_at = fields.AwareDateTime(required=True)
    liaison = fields.Nested(lambda: PersonSchema(), load_default=None, allow_none=True)
    # The office it belongs to (shared/offices.py); "" in events older than offices: the top.
    office = fields.String(load_default="", validate=validate.Length(max=64))


class PersonSchema(Schema):
    """A partner's contact or a liaison. A liaison's ``id`` is their staff id: notify knows by
    it who is whose (a liaison reads the messages of their own alliances)."""

    id = fields.UUID(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(max=200))
    title = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.Email(required=True)
    phone = fields.String(load_default="", validate=validate.Length(max=40))
    # The language messages to the person are in (a partner's contact chose it on the form;
    # shared/i18n.py); "en" in older events and for staff.
    language = fields.String(load_default="en", validate=validate.OneOf(["en", "es"]))


class AllianceSignedV1(Schema):
    """An agreement was signed (``alliance.signed``): what reporting needs (notify hears of it
    through reporting's ``alliance.reports_scheduled``, which carries the report calendar)."""

    alliance_id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner = fields.Dict(required=True)  # organization: name, type, address, website
    contact = fields.Nested(PersonSchema, required=True)
    liaison = fields.Nested(PersonSchema, required=True)
    goals = fields.List(fields.Dict(), required=True)
    hazards = fields.List(fields.String(), load_default=list)
    division = fields.String(required=True, validate=validate.Length(min=1, max=64))
    division_label = fields.String(load_default="", validate=validate.Length(max=200))
    signing_date = fields.Date(required=True)
    term_years = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10))
    ends_on = fields.Date(required=True)
    # The office it belongs to (shared/offices.py); "" in events older than offices: the top.
    office = fields.String(load_default="", validate=validate.Length(max=64))
    # An alliance the agency had before this system (services/review/imports): the day it was
    # imported (reports due before it are the agency's past records, not owed here), and
    # whether its people get the welcome (an import sends none unless asked).
    imported_on = fields.Date(load_default=None, allow_none=True)
    welcome = fields.Boolean(load_default=True)
    # Reports stay owed, but no reminder due before this day goes out (the demo's past, which
    # its own submissions then fill in: deploy/demo.py).
    reminders_from = fields.Date(load_default=None, allow_none=True)


class AllianceMovedV1(Schema):
    """Staff moved an alliance to another office (``alliance.moved``, produced by review in the
    transaction of the move, which its audit trail records): reporting and notify file it, its
    reports and its messages under the new office from then on."""

    alliance_id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    from_office = fields.String(required=True, validate=validate.Length(min=1, max=64))
    office = fields.String(required=True, validate=validate.Length(min=1, max=64))
    office_name = fields.String(load_default="", validate=validate.Length(max=200))
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    moved_by = fields.String(load_default="", validate=validate.Length(max=200))
    moved_at = fields.AwareDateTime(required=True)


class MessageSentV1(Schema):
    """Notify delivered a message (``message.sent``); intake shows the partner's own on the
    status page. ``recipient`` is "partner" (the applicant, the partner's contact) or "staff"
    (the Coordinator, a liaison); "" in events older than the field (intake then goes by the
    address)."""

    message_id = fields.UUID(required=True)
    proposal_id = fields.UUID(load_default=None, allow_none=True)
    reference = fields.String(load_default="", validate=validate.Length(max=40))
    template = fields.String(required=True, validate=validate.Length(min=1, max=100))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    to_address = fields.String(required=True, validate=validate.Length(min=1, max=254))
    recipient = fields.String(load_default="", validate=validate.OneOf(["", "partner", "staff"]))
    sent_at = fields.AwareDateTime(required=True)


# -- The agreement's life, produced by review (services/review/alliances/domain.py) ------
# Reporting will subscribe to all four (``reporting.alliance_changed``, not built yet) to
# stop or extend the report schedule; notify tells the partner's contact and the liaison.


class AllianceChangeV1(Schema):
    """What every change to a signed alliance carries: who it is and who to tell."""

    alliance_id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Nested(PersonSchema, required=True)  # the partner's contact
    liaison = fields.Nested(PersonSchema, required=True)
    decided_at = fields.AwareDateTime(required=True)


class AllianceRenewedV1(AllianceChangeV1):
    """A renewal was decided (``alliance.renewed``): a new term from a new signing date.

    ``renewal`` counts renewals (1 for the first). Reporting will derive the reports owed over
    the new term, from ``signing_date`` through ``ends_on`` (the term's last day).
    """

    renewal = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    signing_date = fields.Date(required=True)
    term_years = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10))
    ends_on = fields.Date(required=True)
    previous_ends_on = fields.Date(required=True)


class AllianceConcludedV1(AllianceChangeV1):
    """The agency concluded the alliance (``alliance.concluded``) on ``concluded_on``.

    Every report obligation ends that day: reporting will make nothing due after it.
    """

    concluded_on = fields.Date(required=True)


class AllianceTerminatedV1(AllianceChangeV1):
    """The agency terminated the alliance with 30 days' written notice (``alliance.terminated``).

    ``effective_on`` is ``notice_date`` + 30 days: the alliance and every report obligation
    end that day; reporting will make nothing due after it.
    """

    notice_date = fields.Date(required=True)
    effective_on = fields.Date(required=True)


class AllianceAmbassadorDesignatedV1(AllianceChangeV1):
    """The partner was named an Ambassador (``alliance.ambassador_designated``).

    Ambassadors report no more: every report obligation ends on ``designated_on`` and
    reporting will make nothing due after it.
    """

    designated_on = fields.Date(required=True)


# -- end of the agreement's life block -------------------------------------------------------


class StaffConflictDeclaredV1(Schema):
    """A staff member declared a conflict of interest with an organization
    (``staff.conflict_declared``): every service hides that organization's proposals from them.

    ``organization_key`` is ``shared.domain.organization_key(organization_name)``, the key
    consumers match a proposal's organization against.
    """

    staff_id = fields.UUID(required=True)
    organization_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    organization_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    declared_at = fields.AwareDateTime(required=True)


class StaffPasswordLinkV1(Schema):
    """Review made a staff member a single-use link to set their password
    (``staff.password_link``, in the transaction that stores the link): the Coordinator's
    ``invitation`` of a new person (``invited_by``: the Coordinator's name), or a ``reset``
    asked for on "Forgot your password?". Notify e-mails it to the person; the link is a
    bearer credential, so it is never shown in the message log and no webhook carries this
    event. ``roles`` are the labels of the person's roles."""

    staff_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["invitation", "reset"]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    roles = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    invited_by = fields.String(load_default="", validate=validate.Length(max=200))
    set_password_url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    expires_at = fields.AwareDateTime(required=True)


class CoordinatorSchema(Schema):
    """One active Coordinator, as ``staff.coordinators_changed`` lists them."""

    id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    # The office they coordinate; "" (and in events older than offices): the top office.
    office = fields.String(load_default="", validate=validate.Length(max=64))


class StaffCoordinatorsChangedV1(Schema):
    """The set of active Coordinators changed (``staff.coordinators_changed``, produced by
    review's staff accounts in the transaction of the change: an account created, its roles
    changed, deactivated or reactivated; also once by review's migration 0009 for the
    Coordinators an upgraded system already had). ``coordinators`` is the whole list as it is
    now, by name; notify sends the Coordinator's mail to each of them (empty: to
    COORDINATOR_EMAIL)."""

    coordinators = fields.List(fields.Nested(CoordinatorSchema), required=True)
    changed_at = fields.AwareDateTime(required=True)


class StaffMemberSchema(Schema):
    """A staff member an event is about, by staff id, name and address."""

    id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)


class ProposalAssignedV1(Schema):
    """The Coordinator gave a proposal to a reviewer (``proposal.assigned``, produced by
    review's queue in the transaction of the assignment; never for a reviewer's claim for
    themselves). ``assigned_by`` is the Coordinator's name. Notify tells the ``assignee`` by
    e-mail, with a link to the proposal's staff page."""

    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    organization_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    assignee = fields.Nested(StaffMemberSchema, required=True)
    assigned_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    assigned_at = fields.AwareDateTime(required=True)


class ReportEventBase(Schema):
    """What every ``report.*`` event carries: the report, its alliance, the proposal the
    alliance came from (``proposal_id``, as ``alliance.signed`` named it) and who to tell."""

    report_id = fields.UUID(required=True)
    alliance_id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Nested(PersonSchema, required=True)
    liaison = fields.Nested(PersonSchema, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["quarterly", "annual"]))
    term = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    # The office it belongs to (shared/offices.py); "" in events older than offices: the top.
    office = fields.String(load_default="", validate=validate.Length(max=64))


class ReportDeadlineV1(ReportEventBase):
    """A report's deadline moment came (``report.due_soon``, ``report.due``,
    ``report.overdue``, ``report.escalated``; produced by reporting's deadline sweep, exactly
    once per report and reminder). Notify tells the partner's contact with a copy to the
    liaison, or the Coordinator for an escalation.

    ``days`` is the reminder's offset from the due date (``REPORT_REMINDER_DAYS``);
    ``report_url`` is the partner's signed, expiring link to the report form ("" until the
    form exists).
    """

    due_date = fields.Date(required=True)
    reminder = fields.String(
        required=True, validate=validate.OneOf(["due_soon", "due", "overdue", "escalated"])
    )
    days = fields.Integer(required=True, strict=True)
    report_url = fields.String(load_default="", validate=validate.Length(max=2000))


class ReportSubmittedV1(ReportEventBase):
    """The partner submitted a report through its signed link (``report.submitted``, produced
    by reporting in the transaction that stores the version). ``version`` counts from 1 (a
    resubmission after a revision request is 2, ...); ``on_time``: submitted before the end of
    its due date in the agency's time zone."""

    due_date = fields.Date(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    submitted_at = fields.AwareDateTime(required=True)
    on_time = fields.Boolean(required=True)


class ReportReviewedV1(ReportEventBase):
    """The liaison (or the Coordinator) read a submitted report: ``report.accepted``, or
    ``report.revision_requested`` with ``comments`` and the report's new ``due_date`` (the
    request day + REPORT_REVISION_DAYS) and ``report_url`` (the partner's signed link to edit
    and resubmit). Produced by reporting; notify tells the partner's contact."""

    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    comments = fields.String(load_default="", validate=validate.Length(max=10000))
    due_date = fields.Date(required=True)
    report_url = fields.String(load_default="", validate=validate.Length(max=2000))
    reviewed_by = fields.String(required=True, validate=validate.Length(min=1, max=254))
    reviewed_at = fields.AwareDateTime(required=True)


class ReportLinkResentV1(ReportEventBase):
    """A staff member (the alliance's liaison or the Coordinator) had a new link to a report's
    form sent to the partner (``report.link_resent``, produced by reporting in the transaction
    that records the request). ``report_url`` is the fresh signed link; ``status`` is the
    report's status as staff see it (``overdue`` once past its due date); ``sent_by`` is the
    name of the person who asked. Notify sends the link to the partner's contact."""

    due_date = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.Length(min=1, max=20))
    report_url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    sent_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sent_at = fields.AwareDateTime(required=True)


class ScheduledReportSchema(Schema):
    """One report of a term's calendar, as ``alliance.reports_scheduled`` lists it."""

    report_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["quarterly", "annual"]))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    due_date = fields.Date(required=True)


class AllianceReportsScheduledV1(Schema):
    """Reporting stored a term's reports (``alliance.reports_scheduled``, produced by reporting
    in the transaction that adds them, on ``alliance.signed`` for ``term`` 0 and on
    ``alliance.renewed`` for term n; never again for a term already scheduled). Notify sends
    the signed-alliance welcome (term 0) or the renewed term's calendar to the partner's
    contact and the liaison.

    ``reports`` in due-date order; ``report_url`` is the partner's signed, expiring link to the
    first report due ("" when the term owes none). ``division_label`` and ``term_years`` are
    what the welcome says of the alliance.
    """

    alliance_id = fields.UUID(required=True)
    proposal_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Nested(PersonSchema, required=True)
    liaison = fields.Nested(PersonSchema, required=True)
    division = fields.String(required=True, validate=validate.Length(min=1, max=64))
    division_label = fields.String(load_default="", validate=validate.Length(max=200))
    term = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    term_years = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10))
    signing_date = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reports = fields.List(fields.Nested(ScheduledReportSchema), required=True)
    report_url = fields.String(load_default="", validate=validate.Length(max=2000))
    # False for an imported alliance whose people get no welcome (AllianceSignedV1.welcome).
    welcome = fields.Boolean(load_default=True)
    office = fields.String(load_default="", validate=validate.Length(max=64))


class EvaluationRatingSchema(Schema):
    """One fundamental requirement of an annual evaluation, as the partner reads it."""

    requirement = fields.String(required=True, validate=validate.Length(min=1, max=300))
    rating = fields.String(required=True, validate=validate.Length(min=1, max=100))
    justification = fields.String(load_default="", validate=validate.Length(max=10000))


class EvaluationSharedV1(Schema):
    """The liaison (or the Coordinator) shared an agreement year's annual evaluation with the
    partner (``evaluation.shared``, produced by reporting the first time only, in the
    transaction that records ``shared_at``). ``ratings`` in the requirements' order, each
    ``requirement`` and ``rating`` as their labels read; notify tells the partner's contact
    with a copy to the liaison."""

    evaluation_id = fields.UUID(required=True)
    alliance_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    partner_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact = fields.Nested(PersonSchema, required=True)
    liaison = fields.Nested(PersonSchema, required=True)
    term = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    ratings = fields.List(
        fields.Nested(EvaluationRatingSchema), required=True, validate=validate.Length(min=1)
    )
    shared_at = fields.AwareDateTime(required=True)


# (type, version) -> payload schema class
CATALOG: dict[tuple[str, int], type[Schema]] = {
    ("proposal.submitted", 1): ProposalSubmittedV1,
    # A resubmission after changes were requested: the same payload, with the new version.
    ("proposal.resubmitted", 1): ProposalSubmittedV1,
    ("proposal.draft_saved", 1): ProposalDraftSavedV1,
    ("proposal.changes_requested", 1): ProposalChangesRequestedV1,
    ("proposal.declined", 1): ProposalDeclinedV1,
    ("proposal.approved", 1): ProposalApprovedV1,
    ("proposal.assigned", 1): ProposalAssignedV1,
    ("alliance.signed", 1): AllianceSignedV1,
    ("message.sent", 1): MessageSentV1,
    # -- the agreement's life
    ("alliance.renewed", 1): AllianceRenewedV1,
    ("alliance.concluded", 1): AllianceConcludedV1,
    ("alliance.terminated", 1): AllianceTerminatedV1,
    ("alliance.ambassador_designated", 1): AllianceAmbassadorDesignatedV1,
    ("alliance.moved", 1): AllianceMovedV1,
    # -- end of the agreement's life
    ("staff.conflict_declared", 1): StaffConflictDeclaredV1,
    ("staff.coordinators_changed", 1): StaffCoordinatorsChangedV1,
    ("staff.password_link", 1): StaffPasswordLinkV1,
    # -- report deadlines: one payload, the type says which moment came
    ("report.due_soon", 1): ReportDeadlineV1,
    ("report.due", 1): ReportDeadlineV1,
    ("report.overdue", 1): ReportDeadlineV1,
    ("report.escalated", 1): ReportDeadlineV1,
    # -- the partner's report and the liaison's review
    ("report.submitted", 1): ReportSubmittedV1,
    ("report.accepted", 1): ReportReviewedV1,
    ("report.revision_requested", 1): ReportReviewedV1,
    # a new link to a report's form, sent at a staff member's request
    ("report.link_resent", 1): ReportLinkResentV1,
    # -- the annual evaluation shared with the partner
    ("evaluation.shared", 1): EvaluationSharedV1,
    # -- a term's report calendar, stored by reporting
    ("alliance.reports_scheduled", 1): AllianceReportsScheduledV1,
}

# event type -> the tasks that consume it. A task's queue is the part of its name before
# the first dot, which is the consuming service.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    # reporting counts proposals by status and state for the dashboard
    "proposal.submitted": (
        "review.proposal_submitted",
        "notify.proposal_submitted",
        "reporting.proposal_submitted",
    ),
    "proposal.resubmitted": (
        "review.proposal_resubmitted",
        "notify.proposal_resubmitted",
        "reporting.proposal_resubmitted",
    ),
    "proposal.draft_saved": ("notify.draft_saved",),
    "proposal.changes_requested": (
        "intake.changes_requested",
        "notify.changes_requested",
        "reporting.changes_requested",
    ),
    "proposal.declined": (
        "intake.proposal_declined",
        "notify.proposal_declined",
        "reporting.proposal_declined",
    ),
    "proposal.approved": (
        "intake.proposal_approved",
        "notify.proposal_approved",
        "reporting.proposal_approved",
    ),
    # notify tells the reviewer the Coordinator gave the proposal to
    "proposal.assigned": ("notify.proposal_assigned",),
    # notify welcomes the partner and the liaison on alliance.reports_scheduled instead
    "alliance.signed": ("reporting.alliance_signed",),
    "message.sent": ("intake.message_sent",),
    # -- the agreement's life; reporting schedules or cuts the reports
    "alliance.renewed": ("reporting.alliance_renewed", "notify.alliance_renewed"),
    "alliance.concluded": ("reporting.alliance_concluded", "notify.alliance_concluded"),
    "alliance.terminated": ("reporting.alliance_terminated", "notify.alliance_terminated"),
    "alliance.ambassador_designated": (
        "reporting.ambassador_designated",
        "notify.ambassador_designated",
    ),
    # reporting and notify file the alliance under its new office
    "alliance.moved": ("reporting.alliance_moved", "notify.alliance_moved"),
    # -- end of the agreement's life
    "staff.conflict_declared": ("notify.conflict_declared", "reporting.conflict_declared"),
    # notify sends the Coordinator's mail to the active Coordinators by name
    "staff.coordinators_changed": ("notify.coordinators_changed",),
    # notify e-mails a staff member's invitation or password reset link (never a webhook)
    "staff.password_link": ("notify.staff_password_link",),
    # -- report deadlines: the contact and the liaison, or the Coordinator
    "report.due_soon": ("notify.report_due_soon",),
    "report.due": ("notify.report_due",),
    "report.overdue": ("notify.report_overdue",),
    "report.escalated": ("notify.report_escalated",),
    # -- the partner's report and the liaison's review: the liaison, the contact
    "report.submitted": ("notify.report_submitted",),
    "report.accepted": ("notify.report_accepted",),
    "report.revision_requested": ("notify.report_revision_requested",),
    # a new link to a report's form: the partner's contact
    "report.link_resent": ("notify.report_link_resent",),
    # -- the annual evaluation: the partner's contact, a copy to the liaison
    "evaluation.shared": ("notify.evaluation_shared",),
    # -- a term's report calendar: the welcome, or the renewed term's calendar
    "alliance.reports_scheduled": ("notify.reports_scheduled",),
}


# -- webhooks: notify sends these types to the endpoints the Coordinator registered
# (services/notify/webhooks), each through a consumer of its own, after the others above.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "proposal.submitted",
    "proposal.resubmitted",
    "proposal.approved",
    "proposal.declined",
    "proposal.changes_requested",
    "alliance.signed",
    "alliance.renewed",
    "alliance.concluded",
    "alliance.terminated",
    "report.submitted",
    "report.accepted",
    "report.revision_requested",
    "report.overdue",
    "report.escalated",
)


def webhook_consumer(event_type: str) -> str:
    """The notify task that records ``event_type``'s webhook deliveries."""
    return f"notify.webhooks_{event_type.replace('.', '_')}"


for _type in WEBHOOK_EVENT_TYPES:
    SUBSCRIPTIONS[_type] = (*SUBSCRIPTIONS.get(_type, ()), webhook_consumer(_type))
# -- end of webhooks


def queue_of(task_name: str) -> str:
    service = task_name.split(".", 1)[0]
    if service not in SERVICES:
        raise ValueError(f"task {task_name!r} does not start with a service name")
    return service


def subscribers(event_type: str) -> tuple[str, ...]:
    return SUBSCRIPTIONS.get(event_type, ())


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    producer: str
    payload: dict[str, Any]

    def to_message(self) -> dict[str, Any]:
        """The envelope as JSON-ready data (what goes over the broker and into the outbox)."""
        schema = payload_schema(CATALOG[(self.type, self.version)])
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "payload": schema.dump(self.payload),
        }


@cache
def payload_schema(schema_class: type[Schema]) -> Schema:
    """The one instance of a payload schema: building one (and each schema it nests) cost
    more than the checking; loads and dumps keep no state in it."""
    return schema_class()


def new_event(type: str, *, producer: str, payload: dict[str, Any], version: int = 1) -> Event:
    """Build an event, checking the payload against the catalog now, not at the consumer."""
    schema_class = CATALOG.get((type, version))
    if schema_class is None:
        raise ValueError(f"no event {type!r} version {version} in the catalog")
    if producer not in SERVICES:
        raise ValueError(f"unknown producer {producer!r}")
    schema = payload_schema(schema_class)
    dumped = schema.dump(payload)
    errors = schema.validate(dumped)
    if errors:
        raise MalformedEvent({"payload": errors})
    return Event(
        event_id=uuid.uuid4(),
        type=type,
        version=version,
        occurred_at=datetime.now(UTC),
        producer=producer,
        payload=payload,
    )


def field_messages(err: ValidationError) -> dict[str, Any]:
    """marshmallow's ``normalized_messages()``, which has no type hints."""
    messages: dict[str, Any] = err.normalized_messages()  # type: ignore[no-untyped-call]
    return messages


def parse_event(raw: Any, *, expected_type: str | None = None) -> Event:
    """Check an incoming envelope and its payload; raise MalformedEvent with the details."""
    if not isinstance(raw, dict):
        raise MalformedEvent({"_schema": ["an event must be a JSON object"]})
    try:
        envelope = payload_schema(EnvelopeSchema).load(raw)
    except ValidationError as err:
        raise MalformedEvent(field_messages(err)) from None
    if expected_type is not None and envelope["type"] != expected_type:
        raise MalformedEvent({"type": [f"expected {expected_type!r}"]})
    schema_class = CATALOG.get((envelope["type"], envelope["version"]))
    if schema_class is None:
        raise MalformedEvent(
            {"type": [f"unknown event {envelope['type']!r} version {envelope['version']}"]}
        )
    try:
        payload = payload_schema(schema_class).load(envelope["payload"])
    except ValidationError as err:
        raise MalformedEvent({"payload": field_messages(err)}) from None
    return Event(
        event_id=envelope["event_id"],
        type=envelope["type"],
        version=envelope["version"],
        occurred_at=envelope["occurred_at"],
        producer=envelope["producer"],
        payload=payload,
    )
