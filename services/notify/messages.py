"""Composing and delivering messages. Templates live in ``templates/email/``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from functools import partial
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.notify import calendars
from services.notify.coordinators import coordinator_recipients
from services.notify.models import AllianceLiaison, Message
from shared.agency import GOAL_CATEGORIES, ORGANIZATION_TYPES, AgencyProfile
from shared.config import Settings
from shared.db import utcnow
from shared.domain import organization_key
from shared.events import Event, new_event
from shared.outbox import Outbox

log = logging.getLogger(__name__)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "email"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# The HTML part's styles are written once, in _layout.html's <style>, and copied into each
# element's style attribute: Gmail and Outlook drop or ignore much of a <style> element.
INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def branding(settings: Settings, profile: AgencyProfile) -> dict[str, Any]:
    """What every message says of the agency: its name, logo and signature (MAIL_LOGO_URL,
    MAIL_SIGNATURE), for the templates' context."""
    return {
        "agency": profile.name,
        "logo_url": settings.mail_logo_url,
        "signature": settings.mail_signature,
    }


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, html body) of ``template`` with ``context``.

    The subject is one line whatever the context holds (a line break in a name cannot start
    another header); the text ends with the signature; the HTML has its CSS inlined.
    """
    subject = TEMPLATES.get_template(f"{template}.subject.txt").render(context).strip()
    text = TEMPLATES.get_template(f"{template}.txt").render(context)
    html = TEMPLATES.get_template(f"{template}.html").render(context)
    signature = context.get("signature") or f"The {context['agency']} Alliance Program"
    text = f"{text.rstrip()}\n\n-- \n{signature}\n"
    return " ".join(subject.split()), text, INLINER.inline(html)


def edited_html(text_body: str, *, settings: Settings, profile: AgencyProfile) -> str:
    """The HTML part of a held message a staff member rewrote: their paragraphs, escaped, in
    the usual layout (logo, signature, inlined CSS). The text's own signature block (after
    "-- ") is left to the layout, which signs every message."""
    body = text_body.replace("\r\n", "\n").partition("\n-- \n")[0]
    paragraphs = [p.strip("\n") for p in body.split("\n\n") if p.strip()]
    context = {**branding(settings, profile), "paragraphs": paragraphs}
    return INLINER.inline(TEMPLATES.get_template("_edited.html").render(context))


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
    subject, text, html = render(template, context)
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
    return f"{settings.public_base_url}/reporting/staff/reports/{report_id}"


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
    # The Coordinator acts on the proposal's own staff page (sign-in first, if need be).
    context["review_url"] = f"{settings.public_base_url}/review/staff/proposals/{proposal_id}"
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
        ),
    ]
    # The alert goes to every active Coordinator by name (services/notify/coordinators.py).
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
        for coordinator in coordinator_recipients(session, settings=settings)
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
        events = [
            report_event(
                {**payload, **report},
                role=role,
                form_url=first_url if index == 0 else "",
                settings=settings,
                agency=profile.name,
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
    report: dict[str, Any], *, role: str, form_url: str, settings: Settings, agency: str
) -> calendars.ReportEvent:
    """``report``'s entry in the calendar of ``role`` (contact, liaison or coordinator):
    ``report`` has the report's fields and its alliance's (partner_name, reference, contact).

    The partner's entry links the report's form (its signed link) when there is one; staff
    entries link the report's staff page (sign-in first), never the partner's link.
    """
    due = report["due_date"]
    period = (
        f"{report['period_start'].strftime('%B %-d, %Y')} through "
        f"{report['period_end'].strftime('%B %-d, %Y')}"
    )
    kind = report["kind"]
    summary = (
        f"{kind.capitalize()} report due: alliance of {report['partner_name']} and {agency}"
        f" ({report['reference']})"
    )
    lines = [
        f"The {kind} report of the alliance between {report['partner_name']} and {agency}"
        f" ({report['reference']}) for {period} is due on {due.strftime('%B %-d, %Y')}."
    ]
    if role == "contact":
        url = form_url
        if url:
            lines.append(f"Fill in the report here: {url}")
        else:
            lines.append("Each reminder of this report brings the link to its form.")
    else:
        url = f"{settings.public_base_url}/reporting/staff/reports/{report['report_id']}"
        lines.append(f"Partner contact: {report['contact']['name']} ({report['contact']['email']})")
        lines.append(f"The report in the staff pages: {url}")
    return calendars.ReportEvent(
        report_id=report["report_id"],
        due_date=due,
        summary=summary,
        description="\n".join(lines),
        url=url,
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


# Why multipart/mixed [multipart/alternative [text/plain, text/html], text/calendar]:
# - A text/calendar part inside multipart/alternative is one of the message's *versions*: a
#   client shows one alternative, so some show the calendar and hide the text (or the reverse:
#   Outlook 2007 showed only the plain text once a text/plain part was beside it), and Gmail
#   and Outlook treat an inline text/calendar as an iMIP invitation (METHOD:REQUEST with
#   ORGANIZER and ATTENDEE, answered with accept/decline), which a report deadline is not.
# - As an attachment beside the alternative (Content-Disposition: attachment; filename and the
#   Content-Type's name "reports.ics", method=PUBLISH), every client shows the message as
#   written and offers the .ics to add: Gmail's "Add to calendar" on the attachment, Apple
#   Mail's calendar preview, Outlook's opening an .ics into the calendar. Several reports (the
#   welcome's calendar) are several VEVENTs in the one attachment.
# (Notes on clients found with the research for issue 10: invitation builders send the
# calendar both inline and as an attachment because some clients look only at attachments;
# for information-only PUBLISH calendars the attachment alone is the robust choice.)


def _header(value: str) -> str:
    """A header's value on one line: no line break in it can start another header."""
    return " ".join(str(value).split())


def build_email(message: Message, *, mail_from: str) -> EmailMessage:
    """The e-mail of ``message``: its text and HTML as alternatives, and its calendar (if any)
    attached as ``reports.ics`` (see above for why this structure)."""
    email = EmailMessage()
    email["From"] = mail_from
    # One address, parsed: whatever the row holds, it cannot name a second recipient.
    email["To"] = Address(addr_spec=_header(message.to_address))
    email["Subject"] = _header(message.subject)
    email["Message-ID"] = make_msgid(idstring=str(message.id), domain="alliance.local")
    email["X-Alliance-Message"] = str(message.id)
    if message.reference:
        email["X-Alliance-Reference"] = _header(message.reference)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.calendar:
        email.add_attachment(
            message.calendar,
            subtype="calendar",
            filename=calendars.FILENAME,
            params={"method": "PUBLISH", "name": calendars.FILENAME},
        )
    return email


# -- delivery: pending -> sending -> sent | failed, on the schedule kept in the row ----------
#
# Each step is its own short transaction, run by the task: ``claim`` (committed before the
# mail transaction starts), then ``record_sent``, ``record_not_sent`` or ``record_uncertain``.
# An attempt is counted when it is claimed, and only a pending message that is due can be
# claimed, so however many copies of the task run, each attempt counts once.


@dataclass(frozen=True)
class DeliveryPolicy:
    """How attempts are spaced, and whom to tell when a message fails for good."""

    # retry_schedule[n - 1] is the pause after the n-th attempt; one entry fewer than attempts.
    retry_schedule: tuple[timedelta, ...]
    coordinator_email: str
    agency: str
    failures_url: str
    # MAIL_LOGO_URL and MAIL_SIGNATURE for the failure alert (``branding()``).
    branding: dict[str, Any] = field(default_factory=dict)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1


@dataclass(frozen=True)
class Outcome:
    """What a delivery step left behind."""

    status: str
    next_attempt_at: datetime | None = None
    # New messages to deliver as well: the Coordinator's alert about a failure.
    follow_up: tuple[uuid.UUID, ...] = ()


DELIVERY_FAILED_TEMPLATE = "delivery_failed"


def delivery_state(session: Session, *, message_id: uuid.UUID, now: datetime) -> str:
    """``due`` when the message waits for an attempt now, else its status (or ``missing``)."""
    row = session.execute(
        select(Message.status, Message.next_attempt_at).where(Message.id == message_id)
    ).first()
    if row is None:
        return "missing"
    status, next_attempt_at = row
    if status == "pending" and next_attempt_at <= now:
        return "due"
    return str(status)


def claim(session: Session, *, message_id: uuid.UUID, now: datetime) -> Message | None:
    """Start an attempt: a due pending message becomes ``sending``, its attempt counted.

    None when the message is not due, not pending, or locked by another worker's claim.
    """
    message = session.scalars(
        select(Message)
        .where(
            Message.id == message_id,
            Message.status == "pending",
            Message.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
    ).first()
    if message is None:
        return None
    message.status = "sending"
    message.sending_since = now
    message.attempts += 1
    return message


def _locked(session: Session, message_id: uuid.UUID) -> Message | None:
    return session.scalars(
        select(Message).where(Message.id == message_id).with_for_update()
    ).first()


def _still_sending(message: Message | None, attempt: int) -> bool:
    # Once a lease ran out the sweep owns the message; a late report of that attempt is moot.
    return message is not None and message.status == "sending" and message.attempts == attempt


def record_sent(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    now: datetime,
    outbox: Outbox | None = None,
) -> Outcome:
    """The server answered 250: the message is ``sent``, and intake hears of it."""
    message = _locked(session, message_id)
    if message is None:
        return Outcome(status="missing")
    if message.status == "sent":
        log.warning(
            "message %s was delivered again by attempt %d (already sent at %s)",
            message.id,
            attempt,
            message.sent_at,
        )
        return Outcome(status="sent")
    if not _still_sending(message, attempt):
        # Slower than the lease: the sweep counted it as ambiguous, yet it did go out.
        log.warning(
            "message %s attempt %d was delivered after its lease ran out (status %s)",
            message.id,
            attempt,
            message.status,
        )
    message.status = "sent"
    message.sent_at = now
    message.sending_since = None
    message.last_error = None
    if outbox is not None:
        # Intake shows the applicant what was sent about their proposal.
        outbox.add(
            session,
            new_event(
                "message.sent",
                producer="notify",
                payload={
                    "message_id": message.id,
                    "proposal_id": message.proposal_id,
                    "reference": message.reference,
                    "template": message.template,
                    "subject": message.subject,
                    "to_address": message.to_address,
                    "recipient": message.recipient,
                    "sent_at": message.sent_at,
                },
            ),
        )
    log.info("sent %s to %s (%s)", message.template, message.to_address, message.cause)
    return Outcome(status="sent")


def record_not_sent(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    error: str,
    permanent: bool,
    policy: DeliveryPolicy,
    now: datetime,
) -> Outcome:
    """The server certainly did not take the message: try again on schedule, or give up.

    A ``permanent`` refusal (a 5xx answer) fails the message at once.
    """
    message = _locked(session, message_id)
    if message is None or not _still_sending(message, attempt):
        return Outcome(status=message.status if message is not None else "missing")
    message.last_error = error[:2000]
    if permanent:
        log.error("message %s refused for good: %s", message.id, error)
        return _give_up(session, message, policy=policy)
    return _retry_or_give_up(session, message, policy=policy, now=now)


def record_uncertain(
    session: Session,
    *,
    message_id: uuid.UUID,
    attempt: int,
    error: str,
    policy: DeliveryPolicy,
    now: datetime,
) -> Outcome:
    """The content went out but no answer came: maybe delivered. Count it, and try again."""
    message = _locked(session, message_id)
    if message is None or not _still_sending(message, attempt):
        return Outcome(status=message.status if message is not None else "missing")
    message.ambiguous_deliveries += 1
    message.last_error = f"ambiguous: {error}"[:2000]
    log.warning(
        "delivery of message %s is ambiguous (attempt %d, %s): the recipient may get it twice",
        message.id,
        attempt,
        error,
    )
    return _retry_or_give_up(session, message, policy=policy, now=now)


def recover_stalled(
    session: Session, *, lease: timedelta, policy: DeliveryPolicy, now: datetime, limit: int = 200
) -> list[uuid.UUID]:
    """Messages ``sending`` for longer than ``lease``: their worker died mid-send.

    Whether the server got them is unknown: each counts as ambiguous and is due again now.
    Returns their ids.
    """
    stalled = session.scalars(
        select(Message)
        .where(Message.status == "sending", Message.sending_since < now - lease)
        .order_by(Message.sending_since)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in stalled:
        message.ambiguous_deliveries += 1
        message.last_error = (
            f"ambiguous: attempt {message.attempts} was still sending after {lease}"
            f" (since {message.sending_since:%Y-%m-%d %H:%M:%S %Z}); its worker stopped"
        )
        log.warning(
            "delivery of message %s is ambiguous: attempt %d was still sending after %s",
            message.id,
            message.attempts,
            lease,
        )
        _retry_or_give_up(session, message, policy=policy, now=now, delay=timedelta(0))
    return [message.id for message in stalled]


def _retry_or_give_up(
    session: Session,
    message: Message,
    *,
    policy: DeliveryPolicy,
    now: datetime,
    delay: timedelta | None = None,
) -> Outcome:
    if message.attempts >= policy.max_attempts:
        return _give_up(session, message, policy=policy)
    if delay is None:
        delay = policy.retry_schedule[max(message.attempts, 1) - 1]
    message.status = "pending"
    message.sending_since = None
    message.next_attempt_at = now + delay
    log.warning(
        "sending message %s failed (attempt %d of %d), next attempt at %s: %s",
        message.id,
        message.attempts,
        policy.max_attempts,
        message.next_attempt_at.isoformat(timespec="seconds"),
        message.last_error,
    )
    return Outcome(status="pending", next_attempt_at=message.next_attempt_at)


def _give_up(session: Session, message: Message, *, policy: DeliveryPolicy) -> Outcome:
    message.status = "failed"
    message.sending_since = None
    log.error(
        "giving up on message %s after %d attempts: %s",
        message.id,
        message.attempts,
        message.last_error,
    )
    if message.template == DELIVERY_FAILED_TEMPLATE:
        return Outcome(status="failed")  # an alert about an alert would fail the same way
    context = {
        "agency": policy.agency,
        **policy.branding,
        "to_address": message.to_address,
        "subject": message.subject,
        "reference": message.reference,
        "attempts": message.attempts,
        "ambiguous_deliveries": message.ambiguous_deliveries,
        "last_error": message.last_error or "",
        "failures_url": policy.failures_url,
    }
    organization = message.organization_key or (
        known_organization(session, message.proposal_id) if message.proposal_id else ""
    )
    # Each active Coordinator is told by name (services/notify/coordinators.py); the fallback
    # address keeps the cause alerts had before Coordinators were known.
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
        for coordinator in coordinator_recipients(session, fallback_email=policy.coordinator_email)
    ]
    return Outcome(status="failed", follow_up=tuple(alert for alert in alerts if alert is not None))


def queue_due_messages(
    session: Session, *, now: datetime, requeue_after: timedelta, limit: int = 200
) -> list[uuid.UUID]:
    """Pending messages due for an attempt, the longest waiting first, that no task queued by
    an earlier sweep may still be carrying; marked so until ``now + requeue_after``."""
    due = (
        select(Message.id)
        .where(
            Message.status == "pending",
            Message.next_attempt_at <= now,
            or_(Message.queued_until.is_(None), Message.queued_until <= now),
        )
        .order_by(Message.next_attempt_at, Message.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if ids:
        session.execute(
            update(Message).where(Message.id.in_(ids)).values(queued_until=now + requeue_after)
        )
    return ids


def forget_queued(session: Session, *, message_ids: list[uuid.UUID]) -> None:
    """The sweep could not queue these after all (the broker is away): the next one may."""
    if message_ids:
        session.execute(
            update(Message).where(Message.id.in_(message_ids)).values(queued_until=None)
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


def alliance_proposal(session: Session, alliance_id: uuid.UUID) -> uuid.UUID | None:
    """The proposal an alliance came from, as the events naming both told notify
    (``AllianceLiaison``), or else as notify's own messages about it recorded it (the
    signed-alliance welcome and the agreement's changes name both); None when none did."""
    known = session.scalars(
        select(AllianceLiaison.proposal_id).where(
            AllianceLiaison.alliance_id == alliance_id, AllianceLiaison.proposal_id.is_not(None)
        )
    ).first()
    if known is not None:
        return known
    return session.scalars(
        select(Message.proposal_id)
        .where(Message.cause.like(f"alliance.%:{alliance_id}:%"), Message.proposal_id.is_not(None))
        .order_by(Message.created_at)
        .limit(1)
    ).first()


def report_deadline(
    session: Session, *, event: Event, settings: Settings, profile: AgencyProfile
) -> list[uuid.UUID]:
    """A report reminder to the partner's contact with a copy to the liaison, or, past the
    escalation, an alert to each active Coordinator (services/notify/coordinators.py).

    The cause is the report's reminder (report, due date, offset) and the recipient: the same
    reminder is recorded once whichever event carries it, and a new due date is a new cause.
    """
    payload = event.payload
    template = REPORT_DEADLINE_TEMPLATES[event.type]
    cause = f"{event.type}:{payload['report_id']}:{payload['due_date']}:d{payload['days']}"
    base = {
        **branding(settings, profile),
        **payload,
        "alliance_url": (
            f"{settings.public_base_url}/review/staff/alliances/{payload['alliance_id']}"
        ),
        "staff_report_url": staff_report_url(settings, payload["report_id"]),
    }
    record_liaison(session, payload)
    # (role, the cause's last part, name, address)
    if event.type == "report.escalated":
        recipients = [
            ("coordinator", coordinator.cause_suffix, coordinator.name, coordinator.email)
            for coordinator in coordinator_recipients(session, settings=settings)
        ]
    else:
        recipients = [
            ("contact", "contact", payload["contact"]["name"], payload["contact"]["email"]),
            ("liaison", "liaison", payload["liaison"]["name"], payload["liaison"]["email"]),
        ]
    proposal_id = alliance_proposal(session, payload["alliance_id"])
    created = []
    for role, suffix, name, address in recipients:
        context = {**base, "recipient_name": name, "to_liaison": role == "liaison"}
        # Each reminder carries its report's entry, on the due date it reminds of.
        entry = report_event(
            payload,
            role=role,
            form_url=payload.get("report_url") or "",
            settings=settings,
            agency=profile.name,
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
    proposal_id = alliance_proposal(session, payload["alliance_id"])
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
    """Tell each active Coordinator by name (services/notify/coordinators.py) that a webhook
    endpoint was disabled (services/notify/webhooks), once per disabling; returns the new
    messages' ids."""
    cause = f"webhook_disabled:{endpoint_id}:{disabled_at.isoformat()}"
    context = {
        "agency": profile.name,
        "url": url,
        "description": description,
        "reason": reason,
        "endpoints_url": f"{settings.public_base_url}/notify/staff/webhooks/{endpoint_id}",
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
