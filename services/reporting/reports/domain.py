"""The reports a partner owes, their reminders, and the deadline sweep.

The dates come from the pure rules in services/reporting/schedules/; this module stores them
and sends each reminder at most once:

- ``schedule_term``: a term's reports and their reminders, on ``alliance.signed`` and
  ``alliance.renewed`` (idempotent: the unique keys make a repeat add nothing).
- ``schedule_and_announce``: the same, and when reports were added, the term's calendar
  (``alliance.reports_scheduled``, the first report's link) in the same transaction's outbox.
- ``cut_schedule`` and ``cut_for_ambassador``: conclusion, termination, an Ambassador; a
  cancelled report's unsent reminders are never sent.
- ``sweep``: in the caller's one transaction, claims the unsent reminders due by ``now``
  (``FOR UPDATE SKIP LOCKED`` on the reminders and their reports), sends only the most recent
  one per report (older ones are skipped: no burst of stale reminders after an outage), adds
  its ``report.<kind>`` event to the outbox and sets ``sent_at``: a few statements for all
  the reminders (``Outbox.add_many``, one UPDATE per outcome), not a few per reminder (a
  thousand due at once took 2 s). Two sweeps at once, a redelivered sweep, two beats: the
  reminder row is locked by one and settled when the other can see it again, so nothing is
  sent twice.
- ``mark_submitted``: a submitted report gets no more reminders.
- ``timing`` and ``shown_status``: where a report stands against its due date, as every
  staff page and figure says it.
- ``reports_read_by`` and ``alliance_reports``: an alliance's reports for any staff member
  but one who declared a conflict of interest with the partner (people.py
  ``check_may_read``).
- ``report_event_fields``: what every ``report.*`` event carries, its alliance's proposal id
  included.

The rest of the report aggregate (models.py) has its own modules here: content.py (what a
report holds), submission.py (the partner's drafts and versions), review.py (the liaison's
review), tokens.py (the partner's signed link), printout.py (the printable PDF).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from services.reporting.alliances.models import Alliance
from services.reporting.people import check_may_read
from services.reporting.reports.models import CLOSED, REMINDER_KINDS, Report, ReportReminder
from services.reporting.reports.tokens import report_url
from services.reporting.schedules.domain import (
    ReportPeriod,
    ScheduleRules,
    ambassador_cut,
    cut_at,
    end_of_day,
    reminders_for,
    reports_for_term,
    rules_from_settings,
)
from shared.config import load_agency_profile
from shared.domain import Acting, Conflict, NotFound
from shared.events import new_event
from shared.outbox import Outbox

# The report's status once each kind of reminder went out (an escalation keeps "overdue").
STATUS_AFTER = {"due_soon": "due_soon", "due": "due", "overdue": "overdue", "escalated": "overdue"}
# Statuses the sweep moves on; a revision request keeps its own.
REMINDED = ("scheduled", "due_soon", "due", "overdue")
WAITING_FOR_PARTNER = ("scheduled", "due_soon", "due", "overdue", "revision_requested")
DONE = ("submitted", "accepted")
OWED = ("scheduled", "due_soon", "due", "overdue")  # not submitted yet

Key = tuple[str, int, date]


def _key(item: Report | ReportPeriod) -> Key:
    return (item.kind, item.term, item.period_start)


def _period(report: Report) -> ReportPeriod:
    return ReportPeriod(
        kind=report.kind,
        term=report.term,
        period_start=report.period_start,
        period_end=report.period_end,
        due_date=report.due_date,
    )


def _set_reminders(
    session: Session, report_id: uuid.UUID, due_date: date, rules: ScheduleRules
) -> None:
    """The reminders of a report due on ``due_date``; one already sent or skipped stays as it
    was, an unsent one moves to its new moment."""
    rows = [
        {
            "report_id": report_id,
            "kind": r.kind,
            "days": r.days,
            "due_at": r.due_at,
            "round": 0,
            "skipped": False,
        }
        for r in reminders_for(due_date, rules)
    ]
    if not rows:
        return
    statement = insert(ReportReminder).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["report_id", "round", "kind", "days"],
            set_={"due_at": statement.excluded.due_at},
            where=ReportReminder.sent_at.is_(None) & ~ReportReminder.skipped,
        )
    )


def _forget_reminders(session: Session, report_ids: Iterable[uuid.UUID]) -> None:
    """Unsent reminders of these reports are never to be sent."""
    ids = list(report_ids)
    if ids:
        session.execute(
            update(ReportReminder)
            .where(
                ReportReminder.report_id.in_(ids),
                ReportReminder.sent_at.is_(None),
                ~ReportReminder.skipped,
            )
            .values(skipped=True)
        )


def schedule_term(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    term: int,
    signing_date: date,
    ends_on: date,
    rules: ScheduleRules | None = None,
) -> int:
    """Store a term's reports and their reminders; how many reports were new (0 on a repeat)."""
    rules = rules or rules_from_settings()
    added = 0
    for period in reports_for_term(
        term=term, signing_date=signing_date, ends_on=ends_on, rules=rules
    ):
        report_id = session.execute(
            insert(Report)
            .values(
                id=uuid.uuid4(),
                alliance_id=alliance_id,
                kind=period.kind,
                term=period.term,
                period_start=period.period_start,
                period_end=period.period_end,
                due_date=period.due_date,
                status="scheduled",
            )
            .on_conflict_do_nothing(index_elements=["alliance_id", "kind", "term", "period_start"])
            .returning(Report.id)
        ).scalar_one_or_none()
        if report_id is not None:
            added += 1
            _set_reminders(session, report_id, period.due_date, rules)
    return added


def schedule_and_announce(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    term: int,
    term_years: int,
    signing_date: date,
    ends_on: date,
    outbox: Outbox,
    rules: ScheduleRules | None = None,
    owed_from: date | None = None,
    welcome: bool = True,
    reminders_from: date | None = None,
) -> int:
    """``schedule_term``, and when it added reports, an ``alliance.reports_scheduled`` with the
    term's calendar in the same transaction's outbox (a repeat adds nothing, so says nothing).
    The alliance must be recorded already (its people and names go into the event).

    ``owed_from``: an imported alliance's import day; its reports due before it are the
    agency's past records (cancelled here: no reminder, not counted as late). ``welcome``
    False: the event says its people get no welcome. ``reminders_from``: no reminder due
    before the start of that day (in the agency's zone) goes out; the reports stay owed."""
    added = schedule_term(
        session,
        alliance_id=alliance_id,
        term=term,
        signing_date=signing_date,
        ends_on=ends_on,
        rules=rules,
    )
    if added and owed_from is not None:
        past = list(
            session.scalars(
                select(Report).where(
                    Report.alliance_id == alliance_id,
                    Report.term == term,
                    Report.due_date < owed_from,
                    Report.status != "cancelled",
                )
            )
        )
        for report in past:
            report.status = "cancelled"
        _forget_reminders(session, (report.id for report in past))
        session.flush()
    if added and reminders_from is not None:
        zone = (rules or rules_from_settings()).timezone
        start = datetime.combine(reminders_from, datetime.min.time(), zone)
        term_reports = select(Report.id).where(
            Report.alliance_id == alliance_id, Report.term == term
        )
        session.execute(
            update(ReportReminder)
            .where(
                ReportReminder.report_id.in_(term_reports),
                ReportReminder.due_at < start,
                ReportReminder.sent_at.is_(None),
            )
            .values(skipped=True)
        )
    if added:
        alliance = session.get(Alliance, alliance_id)
        if alliance is None:
            raise NotFound("No such alliance.")
        outbox.add(
            session,
            new_event(
                "alliance.reports_scheduled",
                producer="reporting",
                payload=_scheduled_payload(
                    session,
                    alliance,
                    term=term,
                    term_years=term_years,
                    signing_date=signing_date,
                    ends_on=ends_on,
                )
                | {"welcome": welcome},
            ),
        )
    return added


def _scheduled_payload(
    session: Session,
    alliance: Alliance,
    *,
    term: int,
    term_years: int,
    signing_date: date,
    ends_on: date,
) -> dict[str, Any]:
    calendar = list(
        session.scalars(
            select(Report)
            .where(
                Report.alliance_id == alliance.id,
                Report.term == term,
                Report.status != "cancelled",
            )
            .order_by(Report.due_date, Report.period_start, Report.kind)
        )
    )
    signed = alliance.signed or {}
    return {
        "office": alliance.office or load_agency_profile().offices.top.slug,
        "alliance_id": alliance.id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner_name": alliance.partner_name or alliance.reference,
        "contact": alliance.contact,
        "liaison": alliance.liaison,
        "division": alliance.division,
        "division_label": signed.get("division_label") or "",
        "term": term,
        "term_years": term_years,
        "signing_date": signing_date,
        "ends_on": ends_on,
        "reports": [
            {
                "report_id": report.id,
                "kind": report.kind,
                "period_start": report.period_start,
                "period_end": report.period_end,
                "due_date": report.due_date,
            }
            for report in calendar
        ],
        "report_url": report_url(calendar[0].id) if calendar else "",
    }


def _open_reports(session: Session, alliance_id: uuid.UUID) -> list[Report]:
    return list(
        session.scalars(
            select(Report)
            .where(Report.alliance_id == alliance_id, Report.status.not_in(CLOSED))
            .order_by(Report.period_start, Report.kind)
            .with_for_update()
        )
    )


def _apply_cut(
    session: Session,
    reports: Sequence[Report],
    kept: Sequence[ReportPeriod],
    cancelled: Sequence[ReportPeriod],
    rules: ScheduleRules,
) -> int:
    by_key = {_key(report): report for report in reports}
    for period in kept:
        report = by_key.get(_key(period))
        if report is None:
            continue
        if report.status == "revision_requested":
            # The revision's own due date and round of reminders stand; only the period ends.
            report.period_end = period.period_end
            continue
        if (report.period_end, report.due_date) != (period.period_end, period.due_date):
            report.period_end, report.due_date = period.period_end, period.due_date
            _set_reminders(session, report.id, period.due_date, rules)
    gone = [by_key[_key(period)] for period in cancelled if _key(period) in by_key]
    for report in gone:
        report.status = "cancelled"
    _forget_reminders(session, (report.id for report in gone))
    session.flush()
    return len(gone)


def cut_schedule(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    effective_on: date,
    rules: ScheduleRules | None = None,
) -> int:
    """Conclusion or termination on ``effective_on``: the period containing it ends that day,
    later ones are cancelled. How many reports were cancelled (0 on a repeat)."""
    rules = rules or rules_from_settings()
    reports = _open_reports(session, alliance_id)
    kept, cancelled = cut_at([_period(r) for r in reports], effective_on=effective_on, rules=rules)
    return _apply_cut(session, reports, kept, cancelled, rules)


def cut_for_ambassador(
    session: Session,
    *,
    alliance_id: uuid.UUID,
    designated_on: date,
    rules: ScheduleRules | None = None,
) -> int:
    """An Ambassador owes no report whose period starts on or after ``designated_on``."""
    rules = rules or rules_from_settings()
    reports = _open_reports(session, alliance_id)
    kept, cancelled = ambassador_cut([_period(r) for r in reports], designated_on=designated_on)
    return _apply_cut(session, reports, kept, cancelled, rules)


def mark_submitted(session: Session, *, report_id: uuid.UUID, at: datetime) -> Report:
    """The partner submitted the report: no reminder of it goes out any more."""
    report = session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("No such report.")
    if report.status == "cancelled":
        raise Conflict("This report was cancelled; nothing is owed.")
    if report.status not in ("submitted", "accepted"):
        report.status = "submitted"
        report.submitted_at = at
    _forget_reminders(session, [report.id])
    session.flush()
    return report


def timing(report: Report, *, now: datetime, rules: ScheduleRules) -> str:
    """``on_time``, ``late``, ``overdue`` (owed, past its due date: by the clock, or as the
    deadline sweep already marked it), ``open`` (owed, not due yet) or ``cancelled``.

    A report sent back for a revision is owed again by its new due date: ``open`` until the
    end of that day, ``overdue`` after it. Neither its earlier lateness (the sweep's
    ``overdue`` is long replaced by ``revision_requested``) nor its earlier submission judged
    against the new date (on time, wrongly, for one sent months late) says anything of it.

    "On time" follows the SPEC: submitted by the end of the due date in the agency's time
    zone."""
    deadline = end_of_day(report.due_date, rules)
    if report.status == "cancelled":
        return "cancelled"
    if report.status == "revision_requested":
        return "overdue" if now >= deadline else "open"
    if report.submitted_at is not None and report.status in DONE:
        return "on_time" if report.submitted_at < deadline else "late"
    return "overdue" if report.status == "overdue" or now >= deadline else "open"


def shown_status(report: Report, *, now: datetime, rules: ScheduleRules) -> str:
    """The status staff see: ``overdue`` for a report still owed past its due date, even
    before the deadline sweep marked it so (its status beside its timing never says
    overdue and not due yet at once); else the report's own status."""
    if report.status in OWED and timing(report, now=now, rules=rules) == "overdue":
        return "overdue"
    return report.status


def report_event_fields(report: Report, alliance: Alliance) -> dict[str, Any]:
    """The fields every ``report.*`` event carries (``shared.events.ReportEventBase``): the
    report, its alliance and the proposal it came from, and the people to tell."""
    return {
        "report_id": report.id,
        "alliance_id": report.alliance_id,
        "proposal_id": alliance.proposal_id,
        "reference": alliance.reference,
        "partner_name": alliance.partner_name or alliance.reference,
        "contact": alliance.contact,
        "liaison": alliance.liaison,
        "kind": report.kind,
        "term": report.term,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "office": alliance.office or load_agency_profile().offices.top.slug,
    }


def _payload(report: Report, alliance: Alliance, *, reminder: str, days: int) -> dict[str, Any]:
    return {
        **report_event_fields(report, alliance),
        "due_date": report.due_date,
        "reminder": reminder,
        "days": days,
        "report_url": report_url(report.id),
    }


def sweep(session: Session, *, now: datetime, outbox: Outbox) -> Counter[str]:
    """Send the reminders due by ``now``, each at most once; how many of each kind went out.

    Runs in the caller's transaction, which must commit for anything to count as sent."""
    sent: Counter[str] = Counter({kind: 0 for kind in REMINDER_KINDS})
    unsent_due = (
        ReportReminder.sent_at.is_(None),
        ~ReportReminder.skipped,
        ReportReminder.due_at <= now,
    )
    # Claim whole reports first: a report locked here is this sweep's alone, with every one
    # of its due reminders. Locking reminder and report rows together let a racing sweep take
    # a later reminder while this one held an earlier one, which then went out after it.
    claimed_reports = session.scalars(
        select(Report.id)
        .where(Report.id.in_(select(ReportReminder.report_id).where(*unsent_due)))
        .order_by(Report.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not claimed_reports:
        return sent
    # Plain rows, not ORM objects: the sweep sets them all with a few UPDATEs below.
    claimed = session.execute(
        select(
            ReportReminder.id, ReportReminder.report_id, ReportReminder.kind, ReportReminder.days
        )
        .where(ReportReminder.report_id.in_(claimed_reports), *unsent_due)
        .order_by(ReportReminder.report_id, ReportReminder.due_at, ReportReminder.days)
    ).all()
    due: dict[uuid.UUID, list[Any]] = {}
    for reminder in claimed:
        due.setdefault(reminder.report_id, []).append(reminder)
    reports = {
        report.id: report for report in session.scalars(select(Report).where(Report.id.in_(due)))
    }
    alliance_ids = {report.alliance_id for report in reports.values()}
    alliances = {
        alliance.id: alliance
        for alliance in session.scalars(select(Alliance).where(Alliance.id.in_(alliance_ids)))
    }
    never_sent: list[int] = []  # a closed report's: skipped, never to go out
    passed_over: list[int] = []  # older than the report's latest: skipped, counted as sent
    going_out: list[int] = []
    status_after: dict[str, list[uuid.UUID]] = {}
    events = []
    for report_id, reminders in due.items():
        report = reports[report_id]
        if report.status in CLOSED:
            never_sent += [reminder.id for reminder in reminders]
            continue
        *stale, latest = reminders  # ordered by due_at: only the most recent one goes out
        passed_over += [reminder.id for reminder in stale]
        going_out.append(latest.id)
        events.append(
            new_event(
                f"report.{latest.kind}",
                producer="reporting",
                payload=_payload(
                    report, alliances[report.alliance_id], reminder=latest.kind, days=latest.days
                ),
            )
        )
        if report.status in REMINDED:
            status_after.setdefault(STATUS_AFTER[latest.kind], []).append(report_id)
        sent[latest.kind] += 1
    # A handful of statements whatever the number of reminders (each a round trip).
    _set_reminders_where(session, never_sent, skipped=True)
    _set_reminders_where(session, passed_over, skipped=True, sent_at=now)
    _set_reminders_where(session, going_out, sent_at=now)
    for status, report_ids in status_after.items():
        session.execute(
            update(Report).where(Report.id.in_(report_ids)).values(status=status),
            execution_options=_BY_ID,
        )
    outbox.add_many(session, events)
    return sent


# Objects of the caller's session learn the new values by the ids the UPDATE returns:
# evaluating ``id IN (...)`` on each one in memory grows with their number times the ids'.
_BY_ID = {"synchronize_session": "fetch"}


def _set_reminders_where(session: Session, ids: list[int], **values: Any) -> None:
    if ids:
        session.execute(
            update(ReportReminder).where(ReportReminder.id.in_(ids)).values(**values),
            execution_options=_BY_ID,
        )


def reports_of(session: Session, *, alliance_id: uuid.UUID) -> list[Report]:
    """An alliance's reports with their reminders, by due date."""
    if session.get(Alliance, alliance_id) is None:
        raise NotFound("No such alliance.")
    return list(
        session.scalars(
            select(Report)
            .where(Report.alliance_id == alliance_id)
            .options(selectinload(Report.reminders))
            .order_by(Report.due_date, Report.period_start, Report.kind)
        )
    )


def reports_read_by(session: Session, *, acting: Acting, alliance_id: uuid.UUID) -> list[Report]:
    """``reports_of`` for ``acting``: any staff member, but one who declared a conflict of
    interest with the partner is refused (``Forbidden``)."""
    alliance = session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    check_may_read(acting, alliance)
    return reports_of(session, alliance_id=alliance_id)


@dataclass(frozen=True)
class ReportLine:
    report: Report
    alliance: Alliance
    timing: str
    status: str  # shown_status: what the page says of it


def report_line(
    report: Report, alliance: Alliance, *, now: datetime, rules: ScheduleRules
) -> ReportLine:
    return ReportLine(
        report,
        alliance,
        timing(report, now=now, rules=rules),
        shown_status(report, now=now, rules=rules),
    )


@dataclass(frozen=True)
class AllianceReports:
    alliance: Alliance
    lines: list[ReportLine]


def alliance_reports(
    session: Session, *, acting: Acting, alliance_id: uuid.UUID, now: datetime, rules: ScheduleRules
) -> AllianceReports:
    """An alliance's reports by due date, each with its reminders and whether it was on time.
    Any staff member but one who declared a conflict of interest with the partner."""
    alliance = session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    check_may_read(acting, alliance)
    return AllianceReports(
        alliance=alliance,
        lines=[
            report_line(r, alliance, now=now, rules=rules)
            for r in reports_of(session, alliance_id=alliance_id)
        ],
    )
