"""What staff may see and do with messages: every rule of notify's pages and API.

Each function takes the acting staff member (``shared.web.current_acting()``) and
refuses on its own, with the errors of ``shared.domain``:

- staff read the message log and a message (``READERS``), each what is theirs
  (``visible_to``), of their offices (``of_their_offices``: staff of an office below the top
  one read the messages about their offices' proposals and alliances): the Coordinator every
  message; a reviewer the messages about a proposal
  or an alliance (review shows them every proposal); a liaison the messages of their own
  alliances and of the proposals those came from (notify learns who is whose from the events
  that name the liaison: ``models.AllianceLiaison``). The messages about no proposal
  (operational mail: a delivery that failed, a webhook endpoint disabled) are the
  Coordinator's only. Opening a message outside one's own is refused (403);
- the Coordinator and reviewers list, edit, release and hold back the held decision messages,
  and resend a message (``RELEASERS``), within what they may read;
- the Coordinator follows the failed and uncertain deliveries (``WATCHERS``), and sends the
  messages that failed for good once more (``retry_failed``: the operator's
  ``alliance messages retry`` acts as the top office's Coordinator);
- nobody sees a message about a proposal of an organization they declared a conflict of
  interest with: lists leave it out, and reading or acting on it is refused (403, as review
  refuses the proposal itself);
- nobody sees a partner's signed link (``services/notify/messages/links.py``): the message's
  parts are shown with each one hidden (``ShownMessage``), while the stored message, and the
  e-mail sent or resent, keep it for the partner.

The functions take the caller's session and never commit; a message released or resent is
queued once the caller commits (``delivery.queue.deliver_after_commit``).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from services.notify.delivery.queue import deliver_after_commit
from services.notify.messages import links
from services.notify.messages.domain import APPROVAL_LETTER, PARTNER_WELCOME
from services.notify.messages.render import edited_html, language_of
from services.notify.models import AllianceLiaison, FiledOffice, Message
from shared.agency import AgencyProfile
from shared.config import Settings, load_agency_profile
from shared.db import utcnow
from shared.domain import Acting, Conflict, Forbidden, Invalid, NotFound, organization_key
from shared.offices import office_scope

READERS = ("coordinator", "reviewer", "liaison")
RELEASERS = ("coordinator", "reviewer")
WATCHERS = ("coordinator",)
LOG_LIMIT = 500
LOG_PAGE_SIZE = 50

IN_CONFLICT = "You declared a conflict of interest with this organization."
NOT_YOURS = (
    "This message is not about a proposal or an alliance you follow:"
    " a liaison reads the messages of their own alliances, and only the Coordinator"
    " reads the agency's operational mail."
)


def _require(acting: Acting, roles: Sequence[str], refusal: str) -> None:
    if not acting.has_any_role(*roles):
        raise Forbidden(refusal)


def _may_read(acting: Acting) -> None:
    _require(acting, READERS, "Only agency staff may read messages.")


def _may_release(acting: Acting) -> None:
    _require(
        acting,
        RELEASERS,
        "Only the Coordinator and reviewers may edit, release, hold back or resend messages.",
    )


def visible_to(acting: Acting) -> ColumnElement[bool]:
    """Messages the actor may know of: their own (``theirs``), of their offices
    (``of_their_offices``), and none about an organization they are in conflict with
    (``outside_conflicts``)."""
    return and_(theirs(acting), of_their_offices(acting), outside_conflicts(acting))


def of_their_offices(acting: Acting) -> ColumnElement[bool]:
    """The messages about the proposals and alliances of the actor's offices (their office
    and those under it: shared/offices.py), those of their own alliances as liaison, for staff
    below the top office; everything for the top office's. Operational mail (about no proposal
    or alliance) is the top office's."""
    scope = office_scope(acting.office, load_agency_profile().offices)
    if scope is None:
        return true()
    filed = select(FiledOffice.subject_id).where(FiledOffice.office.in_(scope))
    own = _liaison_of(acting) if "liaison" in acting.roles else false()
    return or_(Message.proposal_id.in_(filed), Message.alliance_id.in_(filed), own)


def theirs(acting: Acting) -> ColumnElement[bool]:
    """The messages of the actor's part of the program: all for the Coordinator; those about a
    proposal or an alliance for a reviewer; those of their own alliances and the proposals
    they came from for a liaison (a person with several roles reads what each gives)."""
    if acting.is_coordinator:
        return true()
    allowed: list[ColumnElement[bool]] = []
    if "reviewer" in acting.roles:
        allowed.append(or_(Message.proposal_id.is_not(None), Message.alliance_id.is_not(None)))
    if "liaison" in acting.roles:
        allowed.append(_liaison_of(acting))
    return or_(*allowed) if allowed else false()


def _liaison_of(acting: Acting) -> ColumnElement[bool]:
    """The messages of the alliances ``acting`` is the liaison of, and of their proposals."""
    mine = or_(
        AllianceLiaison.liaison_id == acting.staff_id,
        and_(
            AllianceLiaison.liaison_id.is_(None),
            func.lower(AllianceLiaison.liaison_email) == acting.email.lower(),
        ),
    )
    return or_(
        Message.alliance_id.in_(select(AllianceLiaison.alliance_id).where(mine)),
        Message.proposal_id.in_(
            select(AllianceLiaison.proposal_id).where(
                mine, AllianceLiaison.proposal_id.is_not(None)
            )
        ),
    )


def outside_conflicts(acting: Acting) -> ColumnElement[bool]:
    """None about an organization the actor is in conflict with, whichever message of the
    proposal named it."""
    if not acting.conflicts:
        return true()
    named = aliased(Message)
    conflicted_proposals = select(named.proposal_id).where(
        named.organization_key.in_(acting.conflicts), named.proposal_id.is_not(None)
    )
    return and_(
        Message.organization_key.not_in(acting.conflicts),
        or_(Message.proposal_id.is_(None), Message.proposal_id.not_in(conflicted_proposals)),
    )


def office_choices(acting: Acting) -> dict[str, str]:
    """The offices the actor may narrow the log to (theirs and those under it), when the
    agency's offices say more than its divisions; none otherwise."""
    profile = load_agency_profile()
    if not profile.offices_tell_more:
        return {}
    return profile.offices.labelled_choices(office_scope(acting.office, profile.offices))


def _not(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The negation of ``condition``, where SQL's unknown (a NULL compared) counts as false."""
    return not_(func.coalesce(condition, false()))


def _refuse_hidden(session: Session, acting: Acting, message_ids: Sequence[uuid.UUID]) -> None:
    """Refuse (403) when one of the messages is not the actor's, or is about an organization
    they are in conflict with; messages that do not exist are left to the caller."""
    if not message_ids:
        return
    if acting.conflicts:
        conflicted = session.scalars(
            select(Message.id)
            .where(Message.id.in_(message_ids), _not(outside_conflicts(acting)))
            .limit(1)
        ).first()
        if conflicted is not None:
            raise Forbidden(IN_CONFLICT)
    if not acting.is_coordinator:
        other = session.scalars(
            select(Message.id).where(Message.id.in_(message_ids), _not(theirs(acting))).limit(1)
        ).first()
        if other is not None:
            raise Forbidden(NOT_YOURS)


def _one(
    session: Session, acting: Acting, message_id: uuid.UUID, *, for_update: bool = False
) -> Message:
    query: Select[tuple[Message]] = select(Message).where(Message.id == message_id)
    message = session.scalars(query.with_for_update() if for_update else query).first()
    if message is None:
        raise NotFound("There is no such message.")
    _refuse_hidden(session, acting, [message.id])
    return message


class ShownMessage:
    """A message as staff see it: every attribute of the stored ``Message``, but its text and
    HTML parts with the partner's signed links hidden (``links.hide_signed_links``). Read-only:
    what is sent stays the stored message."""

    def __init__(self, message: Message) -> None:
        self._message = message
        self.text_body = links.hide_signed_links(message.text_body)
        self.html_body = links.hide_signed_links(message.html_body, html=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)


def shown(message: Message) -> ShownMessage:
    """``message`` with the signed links hidden, for any page or answer that shows its parts."""
    return ShownMessage(message)


# -- reading ----------------------------------------------------------------------------------


def _filtered(
    query: Select[tuple[Message]],
    *,
    proposal_id: uuid.UUID | None = None,
    reference: str | None = None,
    to_address: str | None = None,
    status: str | None = None,
    search: str | None = None,
    office: str | None = None,
) -> Select[tuple[Message]]:
    if office:
        within = load_agency_profile().offices.subtree(office)
        filed = select(FiledOffice.subject_id).where(FiledOffice.office.in_(within))
        query = query.where(or_(Message.proposal_id.in_(filed), Message.alliance_id.in_(filed)))
    if proposal_id is not None:
        query = query.where(Message.proposal_id == proposal_id)
    if reference:
        query = query.where(about_reference(reference))
    if to_address:
        query = query.where(Message.to_address.ilike(f"%{_like_escaped(to_address)}%", escape="\\"))
    if status is not None:
        query = query.where(Message.status == status)
    if search and search.strip():
        query = query.where(matching(search))
    return query


def matching(search: str) -> ColumnElement[bool]:
    """Messages a staff member's search words find, case aside: part of the reference they
    carry (``ap-2026-1``, ``2026-0001``; spaces do not count), part of their subject (most of
    the staff's name the partner: "Action required: you are the liaison for …"), or part of
    the partner organization's name, which every message about a proposal or an alliance
    carries. Notify keeps the name only folded (``organization_key``: case,
    punctuation and spacing aside), so the name is matched folded the same way. The words are
    taken literally: ``%`` and ``_`` match themselves. Callers keep ``visible_to`` applied:
    a search never reaches past what the actor may know of."""
    text = search.strip()
    conditions = [Message.subject.ilike(f"%{_like_escaped(text)}%", escape="\\")]
    compact = "".join(text.split())
    if compact:
        conditions.append(Message.reference.ilike(f"%{_like_escaped(compact)}%", escape="\\"))
    key = organization_key(text)
    if key:
        conditions.append(Message.organization_key.like(f"%{_like_escaped(key)}%", escape="\\"))
    return or_(*conditions)


def about_reference(reference: str) -> ColumnElement[bool]:
    """Messages about one proposal and the alliance it became (review gives the alliance the
    proposal's reference): those that carry the reference, and those of its proposal that
    do not."""
    reference = normal_reference(reference)
    same_proposal = select(Message.proposal_id).where(
        Message.reference == reference, Message.proposal_id.is_not(None)
    )
    return or_(Message.reference == reference, Message.proposal_id.in_(same_proposal))


def normal_reference(reference: str) -> str:
    return "".join(reference.split()).upper()


def _like_escaped(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text.strip())


def message_log(
    session: Session,
    acting: Acting,
    *,
    proposal_id: uuid.UUID | None = None,
    reference: str | None = None,
    to_address: str | None = None,
    status: str | None = None,
    search: str | None = None,
) -> list[Message]:
    """Messages about a proposal (by id or reference, with its alliance's), to an address
    (any part of it, case aside), in one status, or found by a search (``matching``: part of a
    reference, of the subject or of the partner's name), in the log page's order: newest first
    by the time shown (``shown_time``), ties by id (at most ``LOG_LIMIT``, the newest)."""
    _may_read(acting)
    query = _filtered(
        select(Message).where(visible_to(acting)),
        proposal_id=proposal_id,
        reference=reference,
        to_address=to_address,
        status=status,
        search=search,
    )
    return list(session.scalars(query.order_by(shown_time().desc(), Message.id).limit(LOG_LIMIT)))


def shown_time() -> ColumnElement[Any]:
    """The time the log shows for a message, and orders it by: when it was sent, or, until
    it is, when it was recorded (a held decision letter is sent long after it was recorded)."""
    return func.coalesce(Message.sent_at, Message.created_at)


@dataclass(frozen=True)
class LogPage:
    """One page of the message log, newest first."""

    messages: list[Message]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_shown(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.messages else 0

    @property
    def last_shown(self) -> int:
        return (self.page - 1) * self.per_page + len(self.messages)


def log_page(
    session: Session,
    acting: Acting,
    *,
    reference: str | None = None,
    to_address: str | None = None,
    status: str | None = None,
    search: str | None = None,
    office: str | None = None,
    page: int = 1,
    per_page: int = LOG_PAGE_SIZE,
) -> LogPage:
    """The staff pages' message log: every message the actor may know of, newest first by
    the time it shows (``shown_time``), one page at a time, with the filters of
    ``message_log`` and ``office`` (the messages about that office's proposals and alliances
    and those of the offices under it: one of ``office_choices``). A page past the last shows
    the last."""
    _may_read(acting)
    if office and office not in office_choices(acting):
        raise Invalid({"office": ["Choose one of your offices from the list."]})
    query = _filtered(
        select(Message).where(visible_to(acting)),
        reference=reference,
        to_address=to_address,
        status=status,
        search=search,
        office=office,
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, math.ceil(total / per_page)))
    found = session.scalars(
        query.order_by(shown_time().desc(), Message.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return LogPage(messages=list(found), total=total, page=page, per_page=per_page)


_SMTP_ANSWER = re.compile(r"^(?P<command>\w+): (?P<code>[245]\d\d)\b ?(?P<answer>.*)$", re.S)
_UNREACHABLE = (
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionError",
    "TimeoutError",
    "gaierror",
    "OSError",
    "SMTPConnectError",
    "SMTPServerDisconnected",
    "socket.timeout",
)


def failure_reason(message: Message | ShownMessage) -> str:
    """What went wrong with a message, for a person: the mail server's last answer
    (``last_error``) explained in a sentence, or "" when nothing went wrong."""
    error = (message.last_error or "").strip()
    if not error:
        return ""
    if error.startswith("ambiguous:"):
        return (
            "The mail server did not confirm an attempt after the message was handed over,"
            " so the recipient may have received it more than once: "
            + error.removeprefix("ambiguous:").strip()
        )
    answer = _SMTP_ANSWER.match(error)
    if answer:
        code, text = answer["code"], answer["answer"].strip()
        refused = {
            "SMTPRecipientsRefused": "refused the recipient's address",
            "SMTPSenderRefused": "refused our sender address",
        }.get(answer["command"], "refused it")
        if code.startswith("5"):
            return f"The mail server {refused} permanently: {code} {text}".strip()
        return f"The mail server {refused} for now (a temporary answer): {code} {text}".strip()
    kind = error.split(":", 1)[0]
    if kind in _UNREACHABLE:
        return f"The mail server could not be reached or dropped the connection: {error}"
    return f"Sending went wrong: {error}"


def get_message(session: Session, acting: Acting, message_id: uuid.UUID) -> ShownMessage:
    """One message with its text and HTML, as it will go or went out (signed links hidden)."""
    _may_read(acting)
    return shown(_one(session, acting, message_id))


def held_messages(session: Session, acting: Acting) -> list[Message]:
    """Decision messages waiting for release, oldest first."""
    _may_release(acting)
    return list(
        session.scalars(
            select(Message)
            .where(Message.status == "held", visible_to(acting))
            .order_by(Message.created_at)
        )
    )


def waiting_count(session: Session, acting: Acting) -> int:
    """How many held decision messages wait for the actor to release them: those
    ``held_messages`` lists them, none for one who may not release (a liaison)."""
    if not acting.has_any_role(*RELEASERS):
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.status == "held", visible_to(acting))
        )
        or 0
    )


def delivery_problems(session: Session, acting: Acting, *, limit: int = 200) -> list[Message]:
    """Failed messages and those that may have reached their recipient twice, newest first."""
    _require(acting, WATCHERS, "Only the Coordinator follows failed deliveries.")
    return list(
        session.scalars(
            select(Message)
            .where(
                or_(Message.status == "failed", Message.ambiguous_deliveries > 0),
                visible_to(acting),
            )
            .order_by(Message.created_at.desc())
            .limit(limit)
        )
    )


def _not_resent() -> ColumnElement[bool]:
    """Messages no copy was made of (``resend``): a resent message's copy carries it on, and
    is itself listed and retried if it fails."""
    copy = aliased(Message)
    return ~(
        select(copy.id)
        .where(copy.cause.startswith(func.concat("resend:", cast(Message.id, String), ":")))
        .exists()
    )


def failed_messages(session: Session, acting: Acting, *, limit: int = 200) -> list[Message]:
    """Messages that failed for good (every attempt spent, or refused for good) and were not
    resent, the oldest first."""
    _require(acting, WATCHERS, "Only the Coordinator follows failed deliveries.")
    return list(
        session.scalars(
            select(Message)
            .where(Message.status == "failed", visible_to(acting), _not_resent())
            .order_by(Message.created_at, Message.id)
            .limit(limit)
        )
    )


def retry_failed(
    session: Session, acting: Acting, *, message_ids: Sequence[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Send messages that failed for good once more, with the whole retry schedule again (as a
    new message would have it): pending now, queued once the caller commits. ``message_ids``
    None: every one ``failed_messages`` lists. Ids of messages that did not fail, or were
    resent, are passed over; one the actor may not see refuses all. Returns the ids retried.
    The cause stays the message's own: it still goes out at most once."""
    _require(acting, WATCHERS, "Only the Coordinator retries failed deliveries.")
    query = select(Message).where(Message.status == "failed", visible_to(acting), _not_resent())
    if message_ids is not None:
        _refuse_hidden(session, acting, message_ids)
        query = query.where(Message.id.in_(message_ids))
    retried = []
    now = utcnow()
    for message in session.scalars(query.order_by(Message.created_at).with_for_update()):
        message.status = "pending"
        message.attempts = 0
        message.next_attempt_at = now
        message.sending_since = None
        message.queued_until = None
        retried.append(message.id)
    deliver_after_commit(session, retried)
    return retried


# -- the held decisions: edit, release, hold back ---------------------------------------------


def edit_held(
    session: Session,
    acting: Acting,
    *,
    message_id: uuid.UUID,
    subject: str,
    text_body: str,
    settings: Settings,
    profile: AgencyProfile,
) -> ShownMessage:
    """Rewrite a held message; the HTML part becomes the edited text, escaped. Staff edit the
    text as shown, links hidden: each placeholder left in it gets its link back."""
    _may_release(acting)
    message = _one(session, acting, message_id, for_update=True)
    if message.status != "held":
        raise Conflict("Only a held message can be edited.")
    subject = " ".join(subject.split())
    errors = {}
    if not subject:
        errors["subject"] = ["Write the subject."]
    if not text_body.strip():
        errors["text_body"] = ["Write the message."]
    if errors:
        raise Invalid(errors)
    message.subject = subject[:300]
    message.text_body = links.restore_signed_links(
        text_body.replace("\r\n", "\n"), message.text_body
    )
    message.html_body = edited_html(
        message.text_body,
        settings=settings,
        profile=profile,
        language=language_of(message.html_body),  # the letter's own, before the edit
    )
    message.edited_by = acting.email
    message.edited_by_name = acting.name[:200] or None
    return shown(message)


def release_held(
    session: Session, acting: Acting, *, message_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Let held messages go out (once this transaction commits); returns the ids released.

    Ids of messages that are not held are passed over; one the actor may not see refuses all.
    """
    _may_release(acting)
    _refuse_hidden(session, acting, message_ids)
    released = []
    for message in session.scalars(
        select(Message)
        .where(Message.id.in_(message_ids), Message.status == "held")
        .with_for_update()
    ):
        message.status = "pending"
        message.next_attempt_at = utcnow()
        message.released_by = acting.email
        message.released_by_name = acting.name[:200] or None
        released.append(message.id)
        if message.template == APPROVAL_LETTER:
            welcomes = _release_welcome_after(session, message, acting)
            deliver_after_commit(session, welcomes, countdown=WELCOME_AFTER_LETTER.total_seconds())
    deliver_after_commit(session, released)
    return released


# How long the partner's welcome waits behind a just-released approval letter, so that the
# letter is delivered first even when both are sent by different workers.
WELCOME_AFTER_LETTER = timedelta(seconds=20)


def _release_welcome_after(session: Session, letter: Message, acting: Acting) -> list[uuid.UUID]:
    """The partner's welcome held behind this approval letter goes just after it."""
    welcomes = list(
        session.scalars(
            select(Message)
            .where(
                Message.proposal_id == letter.proposal_id,
                Message.template == PARTNER_WELCOME,
                Message.status == "held",
            )
            .with_for_update()
        )
    )
    for welcome in welcomes:
        welcome.status = "pending"
        welcome.next_attempt_at = utcnow() + WELCOME_AFTER_LETTER
        welcome.released_by = acting.email
        welcome.released_by_name = acting.name[:200] or None
    return [welcome.id for welcome in welcomes]


def hold_again(session: Session, acting: Acting, *, message_ids: Sequence[uuid.UUID]) -> int:
    """Take back released messages that have not gone out yet; returns how many."""
    _may_release(acting)
    _refuse_hidden(session, acting, message_ids)
    count = 0
    for message in session.scalars(
        select(Message)
        .where(Message.id.in_(message_ids), Message.status == "pending")
        .with_for_update(skip_locked=True)
    ):
        message.status = "held"
        message.released_by = None
        message.released_by_name = None
        count += 1
    return count


def resendable(session: Session, acting: Acting, *, message_id: uuid.UUID) -> Message:
    """The message, if the actor may send a copy of it (asked before they confirm)."""
    _may_release(acting)
    original = _one(session, acting, message_id)
    if original.status == "held":
        raise Conflict("This message was never released: release it instead.")
    return original


def resend(session: Session, acting: Acting, *, message_id: uuid.UUID) -> Message:
    """A new copy of a message, to go out once this transaction commits (the original stays
    as it was)."""
    original = resendable(session, acting, message_id=message_id)
    copy = Message(
        cause=f"resend:{original.id}:{uuid.uuid4()}",
        template=original.template,
        proposal_id=original.proposal_id,
        alliance_id=original.alliance_id,
        recipient=original.recipient,
        reference=original.reference,
        organization_key=original.organization_key,
        to_address=original.to_address,
        subject=original.subject,
        text_body=original.text_body,
        html_body=original.html_body,
        calendar=original.calendar,  # the same .ics as the original
        status="pending",
        attempts=0,
        ambiguous_deliveries=0,
        next_attempt_at=utcnow(),
        released_by=acting.email,
        released_by_name=acting.name[:200] or None,
    )
    session.add(copy)
    session.flush()
    deliver_after_commit(session, [copy.id])
    return copy
