"""Program figures for staff: an alliance's reports, the liaison's work list, the
Coordinator's dashboard and the CSV export of reports.

Every function takes the acting staff member and decides who may see what:

- ``alliance_reports``: any staff member.
- ``work_list``: a liaison sees the reports of their own alliances (reporting's alliance copy
  names the liaison: matched by staff id or e-mail) that wait for review or are overdue; the
  Coordinator sees everyone's, optionally one liaison's.
- ``dashboard``: the Coordinator only.
- ``export_rows``: the Coordinator (every report) or a liaison (their alliances' reports).

"On time" follows the SPEC: submitted by the end of the due date in the agency's time zone.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.reporting.alliances.models import Alliance
from services.reporting.reports.models import Report
from services.reporting.schedules.domain import ScheduleRules, end_of_day
from shared.domain import Acting, Forbidden, NotFound

WAITING_FOR_PARTNER = ("scheduled", "due_soon", "due", "overdue", "revision_requested")
DONE = ("submitted", "accepted")


def timing(report: Report, *, now: datetime, rules: ScheduleRules) -> str:
    """``on_time``, ``late``, ``overdue`` (owed, past its due date), ``open`` (owed, not due
    yet) or ``cancelled``."""
    deadline = end_of_day(report.due_date, rules)
    if report.status == "cancelled":
        return "cancelled"
    if report.submitted_at is not None and report.status in (*DONE, "revision_requested"):
        return "on_time" if report.submitted_at < deadline else "late"
    return "overdue" if now >= deadline else "open"


def _is_liaison_of(acting: Acting, alliance: Alliance) -> bool:
    liaison_id = str((alliance.liaison or {}).get("id") or "")
    return liaison_id == str(acting.staff_id) or (
        alliance.liaison_email.casefold() == acting.email.casefold()
    )


@dataclass(frozen=True)
class ReportLine:
    report: Report
    alliance: Alliance
    timing: str


@dataclass(frozen=True)
class AllianceReports:
    alliance: Alliance
    lines: list[ReportLine]


def alliance_reports(
    session: Session, *, acting: Acting, alliance_id: uuid.UUID, now: datetime, rules: ScheduleRules
) -> AllianceReports:
    """An alliance's reports by due date, each with its reminders and whether it was on time."""
    del acting  # any staff member may read an alliance's reports
    alliance = session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    found = session.scalars(
        select(Report)
        .where(Report.alliance_id == alliance_id)
        .options(selectinload(Report.reminders))
        .order_by(Report.due_date, Report.period_start, Report.kind)
    )
    return AllianceReports(
        alliance=alliance,
        lines=[ReportLine(r, alliance, timing(r, now=now, rules=rules)) for r in found],
    )


@dataclass(frozen=True)
class WorkList:
    to_review: list[ReportLine]
    overdue: list[ReportLine]
    liaisons: list[tuple[str, str]]  # (e-mail, name) to filter by: the Coordinator's
    liaison: str | None = None


def _lines(
    session: Session, *, now: datetime, rules: ScheduleRules, statuses: Sequence[str]
) -> list[ReportLine]:
    rows = session.execute(
        select(Report, Alliance)
        .join(Alliance, Alliance.id == Report.alliance_id)
        .where(Report.status.in_(statuses))
        .order_by(Report.due_date, Alliance.reference, Report.kind)
    ).all()
    return [ReportLine(r, a, timing(r, now=now, rules=rules)) for r, a in rows]


def work_list(
    session: Session,
    *,
    acting: Acting,
    now: datetime,
    rules: ScheduleRules,
    liaison: str | None = None,
) -> WorkList:
    """Reports submitted and waiting for review, and reports overdue: a liaison's own
    alliances', or (the Coordinator) everyone's or one liaison's (by e-mail)."""
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The work list is for liaisons and the Coordinator.")
    lines = _lines(session, now=now, rules=rules, statuses=("submitted", *WAITING_FOR_PARTNER))
    liaisons: list[tuple[str, str]] = []
    if acting.is_coordinator:
        names = {
            line.alliance.liaison_email.casefold(): str(line.alliance.liaison.get("name") or "")
            for line in lines
        }
        liaisons = sorted(names.items(), key=lambda item: (item[1] or item[0]).casefold())
        if liaison:
            lines = [
                line
                for line in lines
                if line.alliance.liaison_email.casefold() == liaison.casefold()
            ]
    else:
        liaison = None
        lines = [line for line in lines if _is_liaison_of(acting, line.alliance)]
    return WorkList(
        to_review=[line for line in lines if line.report.status == "submitted"],
        overdue=[line for line in lines if line.timing == "overdue"],
        liaisons=liaisons,
        liaison=liaison,
    )


def alliance_status(alliance: Alliance, reports: Iterable[Report], *, today: date) -> str:
    """``active``, ``ended`` (term over, or cut short: the last report owed ends before the
    term does, and before today) or ``not_started``.

    Reporting's copy keeps no status of its own: a conclusion, termination or Ambassador
    designation shows only in its schedule (the period containing the day ends on it, later
    ones are cancelled), so an Ambassador counts as ended here too."""
    if today < alliance.signing_date:
        return "not_started"
    if today > alliance.ends_on:
        return "ended"
    owned = list(reports)
    kept = [r.period_end for r in owned if r.status != "cancelled"]
    cut_short = max(kept) < alliance.ends_on if kept else bool(owned)
    if cut_short and (not kept or max(kept) < today):
        return "ended"
    return "active"


@dataclass(frozen=True)
class Dashboard:
    active_by_division: list[tuple[str, int]]  # (division key, count), every division
    timing_by_year: dict[int, Counter[str]] = field(default_factory=dict)
    activity_rows_available: bool = False


def dashboard(
    session: Session,
    *,
    acting: Acting,
    now: datetime,
    rules: ScheduleRules,
    divisions: Iterable[str],
) -> Dashboard:
    """Active alliances by division and reports on time / late / overdue per year of due
    date. The Coordinator only."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator sees the program figures.")
    today = now.astimezone(rules.timezone).date()
    alliances = list(session.scalars(select(Alliance)))
    reports = list(session.scalars(select(Report)))
    by_alliance: dict[uuid.UUID, list[Report]] = {}
    for report in reports:
        by_alliance.setdefault(report.alliance_id, []).append(report)
    active: Counter[str] = Counter()
    for alliance in alliances:
        if alliance_status(alliance, by_alliance.get(alliance.id, []), today=today) == "active":
            active[alliance.division] += 1
    keys = list(divisions)
    keys += sorted(key for key in active if key not in keys)
    years: dict[int, Counter[str]] = {}
    for report in reports:
        kind = timing(report, now=now, rules=rules)
        if kind in ("on_time", "late", "overdue"):
            years.setdefault(report.due_date.year, Counter())[kind] += 1
    return Dashboard(
        active_by_division=[(key, active[key]) for key in keys],
        timing_by_year=dict(sorted(years.items())),
    )


# -- CSV ------------------------------------------------------------------------------------

CSV_HEADER = (
    "alliance reference",
    "partner",
    "kind",
    "term",
    "period",
    "due date",
    "status",
    "submitted at",
    "on time",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value: object) -> str:
    """A cell Excel shows as text: one starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_rows(
    session: Session, *, acting: Acting, now: datetime, rules: ScheduleRules
) -> list[list[str]]:
    """The CSV's rows (header first): every report for the Coordinator, a liaison's own
    alliances' reports for a liaison."""
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The export is for liaisons and the Coordinator.")
    rows = session.execute(
        select(Report, Alliance)
        .join(Alliance, Alliance.id == Report.alliance_id)
        .order_by(Alliance.reference, Report.due_date, Report.kind)
    ).all()
    out = [list(CSV_HEADER)]
    for report, alliance in rows:
        if not acting.is_coordinator and not _is_liaison_of(acting, alliance):
            continue
        kind = timing(report, now=now, rules=rules)
        on_time = {"on_time": "yes", "late": "no", "overdue": "no"}.get(kind, "")
        out.append(
            [
                excel_safe(value)
                for value in (
                    alliance.reference,
                    alliance.partner_name,
                    report.kind,
                    report.term,
                    f"{report.period_start.isoformat()}/{report.period_end.isoformat()}",
                    report.due_date.isoformat(),
                    report.status,
                    report.submitted_at.isoformat() if report.submitted_at else "",
                    on_time,
                )
            ]
        )
    return out


def to_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line endings: Excel opens it cleanly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
