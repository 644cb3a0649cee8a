"""What the alliance pages and the staff API accept, and what the API answers.

One input schema per action serves the HTML form and the JSON API alike, with the same
messages (the form's text is decoded first: ``forms.form_input``). The dump schemas turn the
domain's objects into the JSON the API answers and the pages render; ``@bp.response`` puts
them in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema, fields, missing, validate

from services.review import people
from services.review.alliances import domain as agreements
from shared.config import load_agency_profile
from shared.schemas import InputSchema


def _required(message: str) -> dict[str, Any]:
    return {"required": message, "null": message}


# -- what the endpoints and forms accept ------------------------------------------------------


class AllianceQuery(InputSchema):
    status = fields.String(load_default="", validate=validate.OneOf(["", *agreements.STATUSES]))
    mine = fields.Boolean(load_default=False)
    office = fields.String(load_default="", validate=validate.Length(max=64))


class MoveIn(InputSchema):
    """The Coordinator moves an alliance to another office, saying why."""

    office = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        error_messages=_required("Choose the office it moves to."),
    )
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class MilestoneIn(InputSchema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the milestone a title."),
    )
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    target_date = fields.Date(required=True, error_messages=_required("Give the target date."))
    responsible = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Say who is responsible: a person, the partner or the agency."),
    )
    status = fields.String(
        load_default="planned", validate=validate.OneOf(list(agreements.MILESTONE_STATUSES))
    )
    done_on = fields.Date(load_default=None, allow_none=True)


class MilestoneChangeIn(InputSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    target_date = fields.Date()
    responsible = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(list(agreements.MILESTONE_STATUSES)))
    done_on = fields.Date(allow_none=True)


class MeetingIn(InputSchema):
    met_on = fields.Date(required=True, error_messages=_required("Give the date the team met."))
    note = fields.String(load_default="", validate=validate.Length(max=10000))


class DocumentIn(InputSchema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        error_messages=_required("Give the document a title."),
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(agreements.DOCUMENT_KINDS)),
        error_messages=_required("Choose agreement, work_plan or other."),
    )
    url = fields.String(load_default="", validate=validate.Length(max=2000))
    description = fields.String(load_default="", validate=validate.Length(max=10000))


class SigningIn(InputSchema):
    """The signing of an approved alliance: the day the agreement was signed, and the initial
    term in years (the approval's when left out)."""

    signing_date = fields.Date(
        required=True,
        error_messages={
            **_required("Give the date the agreement was signed."),
            "invalid": "Give a date (YYYY-MM-DD).",
        },
    )
    term_years = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        # one to five years, or the approval's term: the domain says which (record_signing)
        error_messages={"invalid": "Give a whole number."},
        metadata={"description": "1 to 5; the approval's term when left out."},
    )


class RenewalIn(InputSchema):
    signing_date = fields.Date(
        required=True, error_messages=_required("Give the new signing date.")
    )
    term_years = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            agreements.RENEWAL_TERM_YEARS.start,
            agreements.RENEWAL_TERM_YEARS.stop - 1,
            error="A renewal is for {min} to {max} years.",
        ),
        error_messages={**_required("Give the term in years."), "invalid": "Give a whole number."},
    )


class ConclusionIn(InputSchema):
    concluded_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


class TerminationIn(InputSchema):
    notice_date = fields.Date(
        required=True, error_messages=_required("Give the date of the written notice.")
    )
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


class AmbassadorIn(InputSchema):
    designated_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=10000))


# -- what the API answers ---------------------------------------------------------------------


class Label(fields.String):
    """The name people read for the slug in the attribute ``source``, from ``labels``."""

    def __init__(
        self,
        labels: Mapping[str, str] | Callable[[], Mapping[str, str]],
        *,
        source: str,
        fallback: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dump_only=True, **kwargs)
        self.labels = labels
        self.source = source
        self.fallback = fallback  # for a slug with no label: this, or the slug itself

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return super().get_value(obj, self.source, accessor, default)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        labels = self.labels() if callable(self.labels) else self.labels
        return labels.get(value, value if self.fallback is None else self.fallback)


class Itself(fields.Nested):
    """Some of the object's own attributes, grouped under one key."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj


def _division_labels() -> Mapping[str, str]:
    return load_agency_profile().divisions


class AllianceLiaisonOut(Schema):
    id = fields.UUID(attribute="liaison_id")
    name = fields.String(attribute="liaison_name")


class AllianceLiaisonContactOut(AllianceLiaisonOut):
    email = fields.String(attribute="liaison_email")


class PartnerContactOut(Schema):
    name = fields.String(dump_default="")
    title = fields.String(dump_default="")
    email = fields.String(dump_default="")
    phone = fields.String(dump_default="")
    language = fields.String(
        dump_default="en", metadata={"description": "The language the contact reads: en or es."}
    )


class ImplementationTeamOut(Schema):
    liaison = Itself(AllianceLiaisonContactOut)
    partner_contact = fields.Nested(PartnerContactOut, attribute="contact")


class AllianceSummaryOut(Schema):
    """One line of a staff list of alliances."""

    id = fields.UUID()
    reference = fields.String()
    partner_name = fields.String()
    status = fields.String()
    status_label = Label(agreements.STATUSES, source="status")
    division = fields.String()
    division_label = Label(_division_labels, source="division")
    office = fields.Function(
        lambda alliance: alliance.office or load_agency_profile().offices.top.slug,
        metadata={"description": "The office the alliance belongs to (a slug)."},
    )
    office_name = fields.Function(lambda alliance: people.office_name(alliance.office))
    liaison = Itself(AllianceLiaisonOut)
    signing_date = fields.Date(
        allow_none=True, metadata={"description": "None while the alliance awaits its signing."}
    )
    term_years = fields.Integer()
    ends_on = fields.Date(
        allow_none=True, metadata={"description": "None while the alliance awaits its signing."}
    )
    renewals = fields.Integer()
    ended_on = fields.Date(allow_none=True)


class AllianceListOut(Schema):
    alliances = fields.List(fields.Nested(AllianceSummaryOut))
    count = fields.Integer()


class MilestoneOut(Schema):
    id = fields.UUID()
    title = fields.String()
    description = fields.String()
    target_date = fields.Date()
    responsible = fields.String()
    status = fields.String()
    status_label = Label(agreements.MILESTONE_STATUSES, source="status")
    done_on = fields.Date(allow_none=True)


class MilestoneListOut(Schema):
    milestones = fields.List(fields.Nested(MilestoneOut))


class MeetingOut(Schema):
    id = fields.UUID()
    met_on = fields.Date()
    note = fields.String()


class MeetingListOut(Schema):
    meetings = fields.List(fields.Nested(MeetingOut))


class DocumentOut(Schema):
    id = fields.UUID()
    title = fields.String()
    kind = fields.String()
    kind_label = Label(agreements.DOCUMENT_KINDS, source="kind")
    url = fields.String()
    description = fields.String()
    added_by = fields.String()
    added_at = fields.DateTime()


class DocumentListOut(Schema):
    documents = fields.List(fields.Nested(DocumentOut))


class AllianceTermOut(Schema):
    number = fields.Integer()
    kind = fields.String()  # initial | renewal
    signing_date = fields.Date()
    term_years = fields.Integer()
    ends_on = fields.Date()


class AllianceStatusChangeOut(Schema):
    status = fields.String()
    decided_on = fields.Date()
    effective_on = fields.Date()
    reason = fields.String()
    decided_by = fields.String()


class AmbassadorEligibilityOut(Schema):
    eligible = fields.Boolean()
    reason = fields.String()


class RoundtableParticipationOut(Schema):
    membership_id = fields.UUID(attribute="membership.id")
    roundtable_id = fields.UUID(attribute="roundtable.id")
    name = fields.String(attribute="roundtable.name")
    workgroup = fields.Boolean()
    joined_on = fields.Date(attribute="membership.joined_on")
    left_on = fields.Date(attribute="membership.left_on", allow_none=True)


class AllianceHistoryEntryOut(Schema):
    action = fields.String()
    actor = fields.String()
    changes = fields.Dict()
    note = fields.String()
    at = fields.DateTime()


class AlliancePageOut(AllianceSummaryOut):
    """Everything staff see about one alliance (``agreements.AlliancePage``)."""

    proposal_id = fields.UUID()
    approved_on = fields.Date(metadata={"description": "The day the approval was released."})
    partner = fields.Dict()
    goals = fields.List(fields.Dict())
    hazards = fields.List(fields.String())
    team = Itself(ImplementationTeamOut)
    terms = fields.List(fields.Nested(AllianceTermOut))
    status_change = fields.Nested(AllianceStatusChangeOut, allow_none=True)
    ambassador_eligibility = fields.Nested(AmbassadorEligibilityOut)
    milestones = fields.List(fields.Nested(MilestoneOut))
    meetings = fields.List(fields.Nested(MeetingOut))
    documents = fields.List(fields.Nested(DocumentOut))
    roundtables = fields.List(fields.Nested(RoundtableParticipationOut))
    history = fields.List(fields.Nested(AllianceHistoryEntryOut))
    names = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "The name to show for each staff e-mail address on the page "
            "(history actors, decided_by, added_by)."
        },
    )
