"""What to say to whom: one builder per event, each recording its messages (``record_message``)
once per cause; the templates are rendered by ``render.py`` from ``templates/email/``.

Each builder takes the caller's session, the event, the settings and the agency's profile, and
returns the ids of the messages to deliver once the transaction commits (the caller queues
them). Nothing here commits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify.messages import calendars
from services.notify.messages.render import branding, catalog, render, templates
from services.notify.models import AllianceLiaison, FiledOffice, Message
from services.notify.staff.coordinators import coordinator_recipients
from shared.agency import GOAL_CATEGORIES, ORGANIZATION_TYPES, AgencyProfile
from shared.config import Settings
from shared.db import utcnow
from shared.domain import organization_key
from shared.events import Event
from shared.staff_shell import absolute_url

log = logging.getLogger(__name__)


def record_message(
    session: Session,
    *,
    cause: str,
    template: str,
    to_address: str,
    context: dict[str, Any],
    proposal_id: uuid.UUID | None = None,
    alliance_id: uuid.UUID | None = None,
    reference: str = "",
    organization: str = "",
    recipient: str = "",
    held: bool = False,
    calendar: Callable[[], str] | None = None,
    language: str = "en",
) -> uuid.UUID | None:
    """Store a message unless one exists for ``cause``. Returns the new id or None.

    A ``held`` message (decisions) waits for staff to preview, edit and release it; the
    others are ``pending`` and go out at once. ``organization`` is the organization's name,
    or its key (``organization_key`` folds either the same way); when an event does not name
    it, a message about the same proposal may. ``calendar`` gives the ``.ics`` text to attach,
    called only when the message is new (a redelivered event leaves the entries as they are).
    ``recipient`` says who the address is: "partner" (the applicant, the partner's contact) or
    "staff" (the Coordinator, a liaison); intake lists only the partner's on its status page.
    """
    if session.scalars(select(Message.id).where(Message.cause == cause)).first() is not None:
        return None
    subject, text, html = render(template, context, language=language)
    key = organization_key(organization)
    if not key and proposal_id is not None:
        key = known_organization(session, proposal_id)
    message_id = uuid.uuid4()
    inserted = session.execute(
        insert(Message)
        .values(
            id=message_id,
            cause=cause,
            template=template,
            proposal_id=proposal_id,
            alliance_id=alliance_id,
            reference=reference,
            recipient=recipient,
            organization_key=key,
            to_address=to_address,
            subject=subject,
            text_body=text,
            html_body=html,
            calendar=calendar() if calendar is not None else "",
            status="held" if held else "pending",
            attempts=0,
            ambiguous_deliveries=0,
            created_at=utcnow(),
            next_attempt_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["cause"])
        .returning(Message.id)
    ).first()
    return inserted[0] if inserted else None


def known_organization(session: Session, proposal_id: uuid.UUID) -> str:
    """The organization key the newest message about ``proposal_id`` carries, or ""."""
    return (
        session.scalars(
            select(Message.organization_key)
            .where(Message.proposal_id == proposal_id, Message.organization_key != "")
            .order_by(Message.created_at.desc())
            .limit(1)
        ).first()
        or ""
    )


PARTNER = "partner"
STAFF = "staff"


def recipient_of(role: str) -> str:
    """The recipient kind of a builder's role: the partner's ``contact``, or staff."""
    return PARTNER if role == "contact" else STAFF


def staff_report_url(settings: Settings, report_id: Any) -> str:
    """A report's page in reporting's staff pages (sign-in first): what staff copies link."""
    return absolute_url(settings.public_base_url, "reporting", f"/staff/reports/{report_id}")


def staff_proposal_url(settings: Settings, proposal_id: Any) -> str:
    """A proposal's page in review's staff pages (sign-in first)."""
    return absolute_url(settings.public_base_url, "review", f"/staff/proposals/{proposal_id}")


def record_liaison(session: Session, payload: dict[str, Any]) -> None:
    """Remember who is whose from an event naming an alliance and its liaison: the liaison's
    staff id (or, from an older event without one, their address) and, when the event names
    it, the proposal the alliance came from. The newest event's liaison wins."""
    liaison = payload.get("liaison") or {}
    if not liaison:
        return
    values: dict[str, Any] = {
        "liaison_id": liaison.get("id"),
        "liaison_email": str(liaison.get("email") or "")[:254],
        "updated_at": utcnow(),
    }
    proposal_id = payload.get("proposal_id")
    if proposal_id is not None:
        values["proposal_id"] = proposal_id
    statement = insert(AllianceLiaison).values(alliance_id=payload["alliance_id"], **values)
    # An older event (an address, no id) about the same liaison keeps the id known.
    same_person = and_(
        statement.excluded.liaison_id.is_(None),
        AllianceLiaison.liaison_email == statement.excluded.liaison_email,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["alliance_id"],
            set_={
                **values,
                "liaison_id": case(
                    (same_person, AllianceLiaison.liaison_id),
                    else_=statement.excluded.liaison_id,
                ),
            },
        )
    )


def record_office(session: Session, office: str, *subjects: uuid.UUID | None) -> None:
    """File proposals and alliances (their ids) under ``office``, as an event named it; an
    event from before offices names none and changes nothing."""
    for subject_id in subjects:
        if not office or subject_id is None:
            continue
        statement = insert(FiledOffice).values(
            subject_id=subject_id, office=office, updated_at=utcnow()
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["subject_id"],
                set_={
                    "office": statement.excluded.office,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


def alliance_moved(session: Session, *, event: Event) -> None:
    """Staff moved an alliance to another office: its messages, and those of the proposal it
    came from, are that office's now."""
    payload = event.payload
    record_office(session, payload["office"], payload["alliance_id"], payload["proposal_id"])


def proposal_received(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """A receipt to the applicant's contact and an alert to each active Coordinator."""
    payload = event.payload
    proposal = payload["proposal"]
    context = {
        **branding(settings, profile),
        "reference": payload["reference"],
        "version": payload["version"],
        "submitted_at": payload["submitted_at"].astimezone(settings.agency_timezone),
        "status_url": payload.get("status_url") or "",
        "organization": proposal["organization"],
        "organization_type": ORGANIZATION_TYPES.get(
            proposal["organization"]["type"], proposal["organization"]["type"]
        ),
        "contact": proposal["contact"],
        "goals": [
            {**goal, "category_label": GOAL_CATEGORIES.get(goal["category"], goal["category"])}
            for goal in proposal["goals"]
        ],
        "division": profile.divisions.get(
            proposal["requested_division"], proposal["requested_division"]
        ),
    }
    proposal_id = payload["proposal_id"]
    record_office(session, proposal.get("requested_office") or "", proposal_id)
    # The Coordinator acts on the proposal's own staff page (sign-in first, if need be).
    context["review_url"] = staff_proposal_url(settings, proposal_id)
    key = f"{proposal_id}:v{payload['version']}"
    created = [
        record_message(
            session,
            cause=f"proposal.submitted:{key}:receipt",
            template="proposal_receipt",
            to_address=proposal["contact"]["email"],
            recipient=PARTNER,
            context=context,
            proposal_id=proposal_id,
            reference=payload["reference"],
            organization=proposal["organization"]["name"],
            # In the language the contact chose on the form (shared/i18n.py).
            language=proposal["contact"].get("language", "en"),
        ),
    ]
    # The alert goes to every active Coordinator by name (services/notify/staff/coordinators.py).
    created += [
        record_message(
            session,
            cause=f"proposal.submitted:{key}:{coordinator.cause_suffix}",
            template="proposal_coordinator_alert",
            to_address=coordinator.email,
            recipient=STAFF,
            context={**context, "recipient_name": coordinator.name},
            proposal_id=proposal_id,
            reference=payload["reference"],
            organization=proposal["organization"]["name"],
        )
        for coordinator in coordinator_recipients(
            session, settings=settings, office=proposal.get("requested_office") or ""
        )
    ]
    return [message_id for message_id in created if message_id is not None]


def draft_saved(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The link to resume a saved draft, to the address the applicant gave."""
    payload = event.payload
    context = {
        **branding(settings, profile),
        "contact_name": payload["contact_name"],
        "organization_name": payload["organization_name"],
        "resume_url": payload["resume_url"],
        "expires_at": payload["expires_at"].astimezone(settings.agency_timezone),
    }
    created = record_message(
        session,
        cause=f"proposal.draft_saved:{event.event_id}",
        template="draft_link",
        to_address=payload["contact_email"],
        recipient=PARTNER,
        context=context,
        proposal_id=payload["proposal_id"],
        organization=payload["organization_name"],
        language=payload.get("contact_language", "en"),
    )
    return [created] if created else []


def decision_made(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The decision message to the applicant, held for staff to release."""
    payload = event.payload
    template = {
        "proposal.changes_requested": "decision_changes_requested",
        "proposal.declined": "decision_declined",
        "proposal.approved": "decision_approved",
    }[event.type]
    context = {**branding(settings, profile), **payload, "tz": settings.agency_timezone}
    if payload.get("alliance_id") is not None:
        record_liaison(session, payload)
        record_office(session, payload.get("office", ""), payload["alliance_id"])
    created = record_message(
        session,
        cause=f"{event.type}:{payload['proposal_id']}:v{payload['version']}",
        template=template,
        to_address=payload["contact_email"],
        recipient=PARTNER,
        context=context,
        proposal_id=payload["proposal_id"],
        alliance_id=payload.get("alliance_id"),
        reference=payload["reference"],
        organization=payload["organization_name"],
        held=True,
        language=payload.get("contact_language", "en"),
    )
    del created  # held: nothing to deliver until staff release it
    return []


def reports_scheduled(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """Reporting stored a term's report calendar (``alliance.reports_scheduled``).

    Term 0: the welcome to the partner's contact (with the link to the first report's form)
    and to the liaison, under the causes ``alliance.signed`` recorded them with before, so a
    system upgraded mid-way never welcomes anyone twice. A renewed term: its calendar to both.
    """
    payload = event.payload
    alliance_id = payload["alliance_id"]
    record_liaison(session, payload)
    record_office(session, payload.get("office", ""), alliance_id, payload["proposal_id"])
    if payload["term"] == 0 and not payload.get("welcome", True):
        return []  # an imported alliance: its people know the program already
    if payload["term"] == 0:
        recipients = [
            (f"alliance.signed:{alliance_id}:contact", "alliance_signed_partner", "contact"),
            (f"alliance.signed:{alliance_id}:liaison", "alliance_signed_liaison", "liaison"),
        ]
    else:
        key = f"alliance.reports_scheduled:{alliance_id}:term{payload['term']}"
        recipients = [
            (f"{key}:contact", "alliance_term_calendar", "contact"),
            (f"{key}:liaison", "alliance_term_calendar", "liaison"),
        ]
    # The partner's welcome never overtakes its approval letter: while the letter is held
    # for a last look, the welcome is held too, and goes out right after it (release_held).
    letter_held = payload["term"] == 0 and approval_letter_held(session, payload["proposal_id"])
    created = []
    for cause, template, role in recipients:
        person = payload[role]
        context = {
            **branding(settings, profile),
            **payload,
            "recipient_name": person["name"],
            "to_liaison": role == "liaison",
        }
        # The partner's link opens the first report's form only; the later reports' reminders
        # each bring their own.
        first_url = payload.get("report_url") or ""
        language = person.get("language", "en") if role == "contact" else "en"
        events = [
            report_event(
                {**payload, **report},
                role=role,
                form_url=first_url if index == 0 else "",
                settings=settings,
                agency=profile.name,
                language=language,
            )
            for index, report in enumerate(payload["reports"])
        ]
        created.append(
            record_message(
                session,
                cause=cause,
                template=template,
                to_address=person["email"],
                recipient=recipient_of(role),
                context=context,
                proposal_id=payload["proposal_id"],
                alliance_id=alliance_id,
                reference=payload["reference"],
                organization=payload["partner_name"],
                calendar=partial(report_calendar, session, events, settings, profile),
                held=letter_held and role == "contact",
                language=language,
            )
        )
    if letter_held:
        return [message_id for message_id in created[1:] if message_id is not None]
    return [message_id for message_id in created if message_id is not None]


APPROVAL_LETTER = "decision_approved"
PARTNER_WELCOME = "alliance_signed_partner"


def approval_letter_held(session: Session, proposal_id: Any) -> bool:
    """Whether the proposal's approval letter still waits for staff to release it."""
    if proposal_id is None:
        return False
    return (
        session.scalar(
            select(Message.id).where(
                Message.proposal_id == proposal_id,
                Message.template == APPROVAL_LETTER,
                Message.status == "held",
            )
        )
        is not None
    )


def report_event(
    report: dict[str, Any],
    *,
    role: str,
    form_url: str,
    settings: Settings,
    agency: str,
    language: str = "en",
) -> calendars.ReportEvent:
    """``report``'s entry in the calendar of ``role`` (contact, liaison or coordinator):
    ``report`` has the report's fields and its alliance's (partner_name, reference, contact).

    The partner's entry links the report's form (its signed link) when there is one; staff
    entries link the report's staff page (sign-in first), never the partner's link. The
    partner's entry is in their ``language`` (the same catalog as the e-mails).
    """
    words = catalog(language)
    day = templates(language).filters["day"]
    due = report["due_date"]
    # English starts the summary with "Annual"; Spanish puts the word after "informe".
    kind = report["kind"].capitalize() if language == "en" else words.gettext(report["kind"])
    names = {
        "kind": kind,
        "lower_kind": kind.lower(),
        "partner": report["partner_name"],
        "agency": agency,
        "reference": report["reference"],
        "start": day(report["period_start"]),
        "end": day(report["period_end"]),
        "due": day(due),
    }
    summary = (
        words.gettext("%(kind)s report due: alliance of %(partner)s and %(agency)s (%(reference)s)")
        % names
    )
    lines = [
        words.gettext(
            "The %(lower_kind)s report of the alliance between %(partner)s and %(agency)s "
            "(%(reference)s) for %(start)s through %(end)s is due on %(due)s."
        )
        % names
    ]
    if role == "contact":
        url = form_url
        if url:
            lines.append(words.gettext("Fill in the report here: %(url)s") % {"url": url})
        else:
            lines.append(words.gettext("Each reminder of this report brings the link to its form."))
    else:
        url = staff_report_url(settings, report["report_id"])
        lines.append(f"Partner contact: {report['contact']['name']} ({report['contact']['email']})")
        lines.append(f"The report in the staff pages: {url}")
    return calendars.ReportEvent(
        report_id=report["report_id"],
        due_date=due,
        summary=summary,
        description="\n".join(lines),
        url=url,
        alarm=words.gettext("In a week: %(summary)s") % {"summary": summary},
    )


def report_calendar(
    session: Session,
    events: list[calendars.ReportEvent],
    settings: Settings,
    profile: AgencyProfile,
) -> str:
    return calendars.render(
        session, events, public_base_url=settings.public_base_url, agency=profile.name
    )


# -- the agreement's life: renewed, concluded, terminated, Ambassador -------------

ALLIANCE_CHANGE_TEMPLATES = {
    "alliance.renewed": "alliance_renewed",
    "alliance.concluded": "alliance_concluded",
    "alliance.terminated": "alliance_terminated",
    "alliance.ambassador_designated": "alliance_ambassador",
}


def alliance_changed(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The same news to the partner's contact and to the liaison, each addressed by name."""
    payload = event.payload
    template = ALLIANCE_CHANGE_TEMPLATES[event.type]
    # One message per recipient per change: a renewal happens more than once, the rest once.
    key = f"renewal{payload['renewal']}" if event.type == "alliance.renewed" else "once"
    record_liaison(session, payload)
    created = []
    for role, person in (("contact", payload["contact"]), ("liaison", payload["liaison"])):
        context = {
            **branding(settings, profile),
            **payload,
            "recipient_name": person["name"],
            "to_liaison": role == "liaison",
        }
        created.append(
            record_message(
                session,
                cause=f"{event.type}:{payload['alliance_id']}:{key}:{role}",
                template=template,
                to_address=person["email"],
                recipient=recipient_of(role),
                context=context,
                proposal_id=payload["proposal_id"],
                alliance_id=payload["alliance_id"],
                reference=payload["reference"],
                organization=payload["partner_name"],
                # The partner's contact reads it in their language; the liaison's copy, English.
                language=person.get("language", "en") if role == "contact" else "en",
            )
        )
    return [message_id for message_id in created if message_id is not None]


# -- report deadlines: due soon, due, overdue, escalated --------------------------

REPORT_DEADLINE_TEMPLATES = {
    "report.due_soon": "report_due_soon",
    "report.due": "report_due",
    "report.overdue": "report_overdue",
    "report.escalated": "report_escalated",
}


def proposal_of(session: Session, payload: dict[str, Any]) -> uuid.UUID | None:
    """The proposal an alliance's event is about: the one it names (every ``report.*`` event
    carries ``proposal_id``), or else the one the events naming both told notify
    (``AllianceLiaison``: an evaluation shared names only its alliance); None when none did."""
    named = payload.get("proposal_id")
    if named is not None:
        return uuid.UUID(str(named))
    return session.scalars(
        select(AllianceLiaison.proposal_id).where(
            AllianceLiaison.alliance_id == payload["alliance_id"],
            AllianceLiaison.proposal_id.is_not(None),
        )
    ).first()


def report_deadline(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """A report reminder to the partner's contact with a copy to the liaison, or, past the
    escalation, an alert to each active Coordinator (services/notify/staff/coordinators.py).

    The cause is the report's reminder (report, due date, offset) and the recipient: the same
    reminder is recorded once whichever event carries it, and a new due date is a new cause.
    """
    payload = event.payload
    template = REPORT_DEADLINE_TEMPLATES[event.type]
    cause = f"{event.type}:{payload['report_id']}:{payload['due_date']}:d{payload['days']}"
    base = {
        **branding(settings, profile),
        **payload,
        "alliance_url": absolute_url(
            settings.public_base_url, "review", f"/staff/alliances/{payload['alliance_id']}"
        ),
        "staff_report_url": staff_report_url(settings, payload["report_id"]),
    }
    record_liaison(session, payload)
    record_office(session, payload.get("office", ""), payload["alliance_id"])
    # (role, the cause's last part, name, address)
    if event.type == "report.escalated":
        recipients = [
            ("coordinator", coordinator.cause_suffix, coordinator.name, coordinator.email)
            for coordinator in coordinator_recipients(
                session, settings=settings, office=payload.get("office") or ""
            )
        ]
    else:
        recipients = [
            ("contact", "contact", payload["contact"]["name"], payload["contact"]["email"]),
            ("liaison", "liaison", payload["liaison"]["name"], payload["liaison"]["email"]),
        ]
    proposal_id = proposal_of(session, payload)
    created = []
    for role, suffix, name, address in recipients:
        context = {**base, "recipient_name": name, "to_liaison": role == "liaison"}
        # Each reminder carries its report's entry, on the due date it reminds of.
        language = payload["contact"].get("language", "en") if role == "contact" else "en"
        entry = report_event(
            payload,
            role=role,
            form_url=payload.get("report_url") or "",
            settings=settings,
            agency=profile.name,
            language=language,
        )
        created.append(
            record_message(
                session,
                cause=f"{cause}:{suffix}",
                template=template,
                to_address=address,
                recipient=recipient_of(role),
                context=context,
                proposal_id=proposal_id,
                alliance_id=payload["alliance_id"],
                reference=payload["reference"],
                organization=payload["partner_name"],
                calendar=partial(report_calendar, session, [entry], settings, profile),
                language=language,
            )
        )
    return [message_id for message_id in created if message_id is not None]


# -- the partner's report and the liaison's review ------------------------------


def report_submitted(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The liaison is asked to review the report; the partner's contact gets a receipt.

    The cause is the report's version and the recipient: a redelivery, or the same version
    sent again, records nothing more; a resubmission (a new version) is a new cause.
    """
    payload = event.payload
    context = {
        **branding(settings, profile),
        **payload,
        "submitted_at": payload["submitted_at"].astimezone(settings.agency_timezone),
        # The liaison reviews on reporting's staff page for the report (sign-in first).
        "review_url": staff_report_url(settings, payload["report_id"]),
    }
    cause = f"report.submitted:{payload['report_id']}:v{payload['version']}"
    recipients = [
        ("liaison", "report_submitted_liaison", payload["liaison"]["email"]),
        ("contact", "report_submitted_receipt", payload["contact"]["email"]),
    ]
    return _report_messages(session, payload, cause=cause, recipients=recipients, context=context)


REPORT_REVIEW_TEMPLATES = {
    "report.accepted": "report_accepted",
    "report.revision_requested": "report_revision_requested",
}


def report_reviewed(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The review's outcome to the partner's contact: accepted, or a revision requested with
    the liaison's comments, the new due date and the link, copied to the liaison as the
    deadline reminders are. One message per report version, outcome and recipient."""
    payload = event.payload
    template = REPORT_REVIEW_TEMPLATES[event.type]
    cause = f"{event.type}:{payload['report_id']}:v{payload['version']}"
    recipients = [("contact", template, payload["contact"]["email"])]
    if event.type == "report.revision_requested":
        recipients.append(("liaison", template, payload["liaison"]["email"]))
    context = {
        **branding(settings, profile),
        **payload,
        "reviewed_at": payload["reviewed_at"].astimezone(settings.agency_timezone),
        # The liaison's copy links the report's staff page, never the partner's link.
        "staff_report_url": staff_report_url(settings, payload["report_id"]),
    }
    calendar = None
    if event.type == "report.revision_requested":
        # The new due date moves the report's entry in the recipients' calendars.
        def calendar(role: str) -> str:
            entry = report_event(
                payload,
                role=role,
                form_url=payload.get("report_url") or "",
                settings=settings,
                agency=profile.name,
                language=payload["contact"].get("language", "en") if role == "contact" else "en",
            )
            return report_calendar(session, [entry], settings, profile)

    return _report_messages(
        session,
        payload,
        cause=cause,
        recipients=recipients,
        context=context,
        calendar=calendar,
    )


def _report_messages(
    session: Session,
    payload: dict[str, Any],
    *,
    cause: str,
    recipients: list[tuple[str, str, str]],
    context: dict[str, Any],
    calendar: Callable[[str], str] | None = None,
) -> list[uuid.UUID]:
    """``calendar(role)``, when given, is the ``.ics`` attached to that recipient's message."""
    record_liaison(session, payload)
    proposal_id = proposal_of(session, payload)
    people = {"contact": payload["contact"]["name"], "liaison": payload["liaison"]["name"]}
    created = [
        record_message(
            session,
            cause=f"{cause}:{role}",
            template=template,
            to_address=address,
            recipient=recipient_of(role),
            context={**context, "recipient_name": people[role], "to_liaison": role == "liaison"},
            proposal_id=proposal_id,
            alliance_id=payload["alliance_id"],
            reference=payload["reference"],
            organization=payload["partner_name"],
            calendar=partial(calendar, role) if calendar is not None else None,
            language=payload["contact"].get("language", "en") if role == "contact" else "en",
        )
        for role, template, address in recipients
    ]
    return [message_id for message_id in created if message_id is not None]


# -- the annual evaluation shared with the partner ---------------------------------


def evaluation_shared(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """The year's evaluation (each requirement's rating and justification) to the partner's
    contact, with a copy to the liaison. One message per evaluation and recipient: a
    redelivery, or the same evaluation sent again, records nothing more."""
    payload = event.payload
    context = {
        **branding(settings, profile),
        **payload,
        "shared_at": payload["shared_at"].astimezone(settings.agency_timezone),
    }
    cause = f"evaluation.shared:{payload['evaluation_id']}"
    recipients = [
        ("contact", "evaluation_shared", payload["contact"]["email"]),
        ("liaison", "evaluation_shared", payload["liaison"]["email"]),
    ]
    return _report_messages(session, payload, cause=cause, recipients=recipients, context=context)


DELIVERY_FAILED_TEMPLATE = "delivery_failed"


def delivery_failed(
    session: Session,
    *,
    message: Message,
    coordinator_email: str,
    agency: str,
    branding: dict[str, Any],
    failures_url: str,
) -> list[uuid.UUID]:
    """Tell each active Coordinator by name (services/notify/staff/coordinators.py) that
    ``message`` failed for good, once per message; returns the new messages' ids. The
    fallback address keeps the cause alerts had before Coordinators were known."""
    context = {
        "agency": agency,
        **branding,
        "to_address": message.to_address,
        "subject": message.subject,
        "reference": message.reference,
        "attempts": message.attempts,
        "ambiguous_deliveries": message.ambiguous_deliveries,
        "last_error": message.last_error or "",
        "failures_url": failures_url,
    }
    organization = message.organization_key or (
        known_organization(session, message.proposal_id) if message.proposal_id else ""
    )
    alerts = [
        record_message(
            session,
            cause=f"delivery_failed:{message.id}"
            + ("" if coordinator.staff_id is None else f":{coordinator.cause_suffix}"),
            template=DELIVERY_FAILED_TEMPLATE,
            to_address=coordinator.email,
            recipient=STAFF,
            context={**context, "recipient_name": coordinator.name},
            # No proposal_id: intake shows an applicant every message sent about their proposal.
            reference=message.reference,
            organization=organization,
        )
        for coordinator in coordinator_recipients(session, fallback_email=coordinator_email)
    ]
    return [alert for alert in alerts if alert is not None]


def webhook_disabled(
    session: Session,
    *,
    endpoint_id: uuid.UUID,
    url: str,
    description: str,
    reason: str,
    disabled_at: datetime,
    settings: Settings,
    profile: AgencyProfile,
) -> list[uuid.UUID]:
    """Tell each active Coordinator by name (services/notify/staff/coordinators.py) that a webhook
    endpoint was disabled (services/notify/webhooks), once per disabling; returns the new
    messages' ids."""
    cause = f"webhook_disabled:{endpoint_id}:{disabled_at.isoformat()}"
    context = {
        "agency": profile.name,
        "url": url,
        "description": description,
        "reason": reason,
        "endpoints_url": absolute_url(
            settings.public_base_url, "notify", f"/staff/webhooks/{endpoint_id}"
        ),
    }
    created = [
        record_message(
            session,
            # The fallback address keeps the cause the alert had before Coordinators were known.
            cause=cause + ("" if coordinator.staff_id is None else f":{coordinator.cause_suffix}"),
            template="webhook_disabled",
            to_address=coordinator.email,
            recipient=STAFF,
            context={**context, "recipient_name": coordinator.name},
        )
        for coordinator in coordinator_recipients(session, settings=settings)
    ]
    return [message_id for message_id in created if message_id is not None]
