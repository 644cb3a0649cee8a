"""Program figures for staff: the liaison's work list, the Coordinator's dashboard and the
CSV export of reports (an alliance's own reports, and where each stands, are the report
part's: reports/domain.py ``alliance_reports``, ``timing``, ``shown_status``).

Every function takes the acting staff member and decides who may see what. On top of each
rule below, a declared conflict of interest hides the partner (people.py
``hidden_from``): one alliance's page refuses the person, a list or a figure leaves the
partner out and carries ``LeftOut`` (its ``note`` says how many alliances were left out; the
CSVs end with it as a last row, ``note_row``).

- ``work_list``: a liaison sees the reports of their own alliances (reporting's alliance copy
  names the liaison: matched by staff id or e-mail) that wait for review or are overdue, or
  (the ``due_soon`` view) those due in the next 30 days; the Coordinator sees everyone's,
  optionally one liaison's; either may look for a partner by part of its name.
- ``dashboard``: the Coordinator only (proposals by status and by state come from reporting's
  copy of the proposals, services/reporting/proposals/).
- ``export_rows``: the Coordinator (every report) or a liaison (their alliances' reports).
- ``activity_export_rows``: the same, one row per activity row of each report's latest
  submitted version.

Activity rows come from ``latest_versions`` (the latest submitted version of each report;
a quarterly report inside a submitted annual report's period is left out, so nothing is
counted twice). People reached: dissemination and outreach rows; people trained: staff
training rows (``REACHED_SECTIONS``, ``TRAINED_SECTIONS``).

"On time" follows the SPEC: submitted by the end of the due date in the agency's time zone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from services.reporting.alliances.models import Alliance
from services.reporting.people import LeftOut, Readable, is_liaison_of, readable_alliances
from services.reporting.people import today as agency_today
from services.reporting.proposals import domain as proposals
from services.reporting.reports.content import SECTIONS
from services.reporting.reports.domain import (
    WAITING_FOR_PARTNER,
    ReportLine,
    report_line,
    shown_status,
    timing,
)
from services.reporting.reports.models import Report, ReportVersion
from services.reporting.schedules.domain import ScheduleRules
from shared.config import load_agency_profile
from shared.domain import Acting, Forbidden, Invalid
from shared.offices import in_scope, office_scope
from shared.spreadsheets import excel_safe as excel_safe  # re-exported, as to_csv
from shared.spreadsheets import plain
from shared.spreadsheets import to_csv as to_csv  # the views write their CSV files with it


def _readable(
    session: Session,
    acting: Acting,
    *,
    own_only: bool,
    every: Mapping[uuid.UUID, Alliance] | None = None,
) -> Readable:
    """The alliances a list shows ``acting``: every one (``every``, when already loaded), or
    (``own_only``) those they are liaison of; less those their declared conflicts hide."""
    found = every.values() if every is not None else session.scalars(select(Alliance))
    return readable_alliances(
        acting, (a for a in found if not own_only or is_liaison_of(acting, a))
    )


def _every_alliance(
    session: Session, *, unread: Sequence[str] = ("signed",)
) -> dict[uuid.UUID, Alliance]:
    """Every alliance by id, read once for a page: rows of reports joined with their
    alliance would decode the alliance's stored JSON again for each of its reports. The
    ``unread`` JSON columns (the ``signed`` event is most of an alliance's bytes) are left
    unread: the page never looks at them (touching one raises)."""
    query = select(Alliance).options(
        *(defer(getattr(Alliance, name), raiseload=True) for name in unread)
    )
    return {a.id: a for a in session.scalars(query)}


def _alliances_of(
    session: Session, ids: Iterable[uuid.UUID], known: Mapping[uuid.UUID, Alliance] | None
) -> Mapping[uuid.UUID, Alliance]:
    """The alliances of ``ids``: from ``known`` (read already), else in one query."""
    if known is not None:
        return known
    wanted = set(ids)
    if not wanted:
        return {}
    return {a.id: a for a in session.scalars(select(Alliance).where(Alliance.id.in_(wanted)))}


WORK_VIEWS = {
    "work": "Waiting for review, and overdue",
    "due_soon": "Due in the next 30 days",
}
DUE_SOON_DAYS = 30
MAX_PARTNER_SEARCH = 200


@dataclass(frozen=True)
class WorkList:
    to_review: list[ReportLine]
    overdue: list[ReportLine]
    liaisons: list[tuple[str, str]]  # (e-mail, name) to filter by: the Coordinator's
    liaison: str | None = None
    left_out: LeftOut = field(default_factory=LeftOut)
    view: str = "work"
    partner: str = ""
    due_soon: list[ReportLine] = field(default_factory=list)
    due_until: date | None = None  # the last day the "due in the next 30 days" view counts
    office: str = ""  # the office the Coordinator narrowed it to (and those under it)
    offices: dict[str, str] = field(default_factory=dict)  # those they may narrow it to

    @property
    def shown(self) -> int:
        """How many reports the chosen view shows."""
        if self.view == "due_soon":
            return len(self.due_soon)
        return len(self.to_review) + len(self.overdue)


def _lines(
    session: Session,
    *,
    now: datetime,
    rules: ScheduleRules,
    statuses: Sequence[str],
    alliances: Mapping[uuid.UUID, Alliance] | None = None,
) -> list[ReportLine]:
    # A line shows these of its report (and ``timing`` reads them): the columns alone, read
    # like a report, not a whole object for each report owed in the program.
    reports = [
        cast(Report, r)
        for r in session.execute(
            select(*LINE_COLUMNS)
            .join(Alliance, Alliance.id == Report.alliance_id)
            .where(Report.status.in_(statuses))
            .order_by(Report.due_date, Alliance.reference, Report.kind)
        )
    ]
    owners = _alliances_of(session, (r.alliance_id for r in reports), alliances)
    return [report_line(r, owners[r.alliance_id], now=now, rules=rules) for r in reports]


LINE_COLUMNS = (
    Report.id,
    Report.alliance_id,
    Report.kind,
    Report.period_start,
    Report.period_end,
    Report.due_date,
    Report.status,
    Report.submitted_at,
)


def check_work_filters(view: str, partner: str) -> tuple[str, str]:
    """The work list's view (``work``, ``due_soon``; empty is ``work``) and partner search
    (spaces around it dropped), or ``Invalid`` naming the field."""
    view = view.strip() or "work"
    partner = " ".join(partner.split())
    errors: dict[str, list[str]] = {}
    if view not in WORK_VIEWS:
        errors["view"] = ["Choose which reports to show from the list."]
    if len(partner) > MAX_PARTNER_SEARCH:
        errors["partner"] = [f"Type at most {MAX_PARTNER_SEARCH} characters of the name."]
    if errors:
        raise Invalid(errors)
    return view, partner


def work_list(
    session: Session,
    *,
    acting: Acting,
    now: datetime,
    rules: ScheduleRules,
    liaison: str | None = None,
    view: str = "work",
    partner: str = "",
    office: str = "",
) -> WorkList:
    """Reports submitted and waiting for review, and reports overdue (``view`` ``work``), or
    reports not submitted that are due from today to 30 days from today in the agency's
    time zone (``due_soon``): a liaison's own alliances', or (the Coordinator) everyone's or
    one liaison's (by e-mail). ``partner``: only partners whose organization's name holds
    it, case aside (a ``%`` or ``_`` is a character like any other). ``office`` (the
    Coordinator): the alliances of one of their offices and of those under it."""
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The work list is for liaisons and the Coordinator.")
    view, partner = check_work_filters(view, partner)
    offices = (
        office_choices(acting)
        if acting.is_coordinator and load_agency_profile().offices_tell_more
        else {}
    )
    if office and office not in offices:
        raise Invalid({"office": ["Choose one of your offices from the list."]})
    within = load_agency_profile().offices.within(office) if office else None
    every = _every_alliance(session, unread=("signed", "contact"))
    readable = _readable(session, acting, own_only=not acting.is_coordinator, every=every)
    lines = [
        line
        for line in _lines(
            session,
            now=now,
            rules=rules,
            statuses=("submitted", *WAITING_FOR_PARTNER),
            alliances=every,
        )
        if readable.shows(line.alliance) and (within is None or office_of(line.alliance) in within)
    ]
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
    if partner:
        wanted = partner.casefold()
        lines = [line for line in lines if wanted in (line.alliance.partner_name or "").casefold()]
    today = agency_today(now, rules.timezone)
    until = date.fromordinal(today.toordinal() + DUE_SOON_DAYS)
    return WorkList(
        to_review=[line for line in lines if line.report.status == "submitted"],
        overdue=[line for line in lines if line.timing == "overdue"],
        liaisons=liaisons,
        liaison=liaison,
        left_out=readable.left_out,
        view=view,
        partner=partner,
        due_soon=[
            line
            for line in lines
            if line.report.status in WAITING_FOR_PARTNER
            and line.timing == "open"
            and today <= line.report.due_date <= until
        ],
        due_until=until,
        office=office,
        offices=offices,
    )


def is_active(alliance: Alliance, *, today: date) -> bool:
    """Active: its status (set by the events of its life) is ``active`` and today falls in
    its term (signed, not yet ended; a renewal moves ``ends_on``)."""
    return alliance.status == "active" and alliance.signing_date <= today <= alliance.ends_on


# -- activity rows of submitted reports -----------------------------------------------------

ACTIVITY_SECTIONS = ("dissemination", "outreach", "staff_training", "products")
# People reached: the partner's outside audiences (the form's "Dissemination of products" and
# "Outreach events and training for outside audiences": the form does not tell an event from
# a training, so an outreach row counts as reached). People trained: "Training for agency
# staff" (staff training rows carry no emphasis area).
REACHED_SECTIONS = ("dissemination", "outreach")
TRAINED_SECTIONS = ("staff_training",)
NO_EMPHASIS = ""


@dataclass(frozen=True)
class ActivityRow:
    alliance: Alliance
    report: Report
    version: int
    section: str
    row: dict[str, Any]

    @property
    def day(self) -> date | None:
        value = self.row.get("date")
        return date.fromisoformat(value) if value else None

    @property
    def year(self) -> int:
        """The activity's year: its date's, or (no date: staff training) its report's end."""
        day = self.day
        return day.year if day is not None else self.report.period_end.year

    @property
    def emphasis_area(self) -> str:
        return str(self.row.get("emphasis_area") or NO_EMPHASIS)

    @property
    def number_reached(self) -> int:
        return int(self.row.get("number_reached") or 0)

    @property
    def description(self) -> str:
        for name in ("description", "event", "audience", "title"):
            if self.row.get(name):
                return str(self.row[name])
        return ""


def latest_versions(
    session: Session,
    *,
    alliance_id: uuid.UUID | None = None,
    alliances: Mapping[uuid.UUID, Alliance] | None = None,
) -> list[tuple[Report, Alliance, ReportVersion]]:
    """The latest submitted version of each report (of one alliance, or all), without double
    counting: a quarterly report whose period lies inside a submitted annual report's period
    of the same alliance is left out (the annual report covers its activities).
    ``alliances``: every alliance by id, when the caller has read them already."""
    latest = (
        select(ReportVersion.report_id, func.max(ReportVersion.number).label("number"))
        .group_by(ReportVersion.report_id)
        .subquery()
    )
    query = (
        select(Report, ReportVersion)
        .join(Alliance, Alliance.id == Report.alliance_id)
        .join(ReportVersion, ReportVersion.report_id == Report.id)
        .join(
            latest,
            (latest.c.report_id == ReportVersion.report_id)
            & (latest.c.number == ReportVersion.number),
        )
        .where(Report.status != "cancelled")
        .order_by(Alliance.reference, Report.period_start, Report.kind)
    )
    if alliance_id is not None:
        query = query.where(Report.alliance_id == alliance_id)
    pairs = session.execute(query).tuples().all()
    owners = _alliances_of(session, (r.alliance_id for r, _v in pairs), alliances)
    found = [(r, owners[r.alliance_id], v) for r, v in pairs]
    annual = [r for r, _a, _v in found if r.kind == "annual"]
    return [
        (r, a, v)
        for r, a, v in found
        if r.kind == "annual"
        or not any(
            other.alliance_id == r.alliance_id
            and other.period_start <= r.period_start
            and r.period_end <= other.period_end
            for other in annual
        )
    ]


def activity_rows(
    versions: Iterable[tuple[Report, Alliance, ReportVersion]],
) -> list[ActivityRow]:
    return [
        ActivityRow(alliance, report, version.number, section, dict(row))
        for report, alliance, version in versions
        for section in ACTIVITY_SECTIONS
        for row in version.content.get(section, [])
    ]


@dataclass(frozen=True)
class PeopleCount:
    year: int
    emphasis_area: str
    reached: int
    trained: int


def people_by_area_and_year(rows: Iterable[ActivityRow]) -> list[PeopleCount]:
    """People reached (dissemination, outreach) and trained (staff training) per (year,
    emphasis area), by year then area."""
    reached: Counter[tuple[int, str]] = Counter()
    trained: Counter[tuple[int, str]] = Counter()
    for row in rows:
        if row.section in REACHED_SECTIONS:
            reached[(row.year, row.emphasis_area)] += row.number_reached
        elif row.section in TRAINED_SECTIONS:
            trained[(row.year, row.emphasis_area)] += row.number_reached
    keys = sorted(set(reached) | set(trained), key=lambda key: (key[0], key[1] == "", key[1]))
    return [
        PeopleCount(year, area, reached[(year, area)], trained[(year, area)]) for year, area in keys
    ]


# -- the dashboard's filters ----------------------------------------------------------------

ALL_TIME_KEY = "all"
QUARTER_MONTHS = {
    1: "January to March",
    2: "April to June",
    3: "July to September",
    4: "October to December",
}
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a year outside these is a typing slip, not a period


@dataclass(frozen=True)
class Period:
    """The dashboard's period: all time, a fiscal year or a calendar quarter. ``key`` is its
    parameter (``all``, ``fy2027``, ``2026-q4``); ``first`` and ``last`` its days (both in
    it), none for all time. A fiscal year is named by the calendar year it ends in (with
    October as its first month, fiscal year 2027 runs October 1, 2026 to September 30, 2027)."""

    key: str
    label: str
    first: date | None = None
    last: date | None = None

    @property
    def all_time(self) -> bool:
        return self.first is None

    @property
    def dates(self) -> str:
        """``October 1, 2026 to September 30, 2027``; empty for all time."""
        if self.first is None or self.last is None:
            return ""
        return f"{_long_date(self.first)} to {_long_date(self.last)}"

    def holds(self, day: date) -> bool:
        return self.first is None or self.last is None or self.first <= day <= self.last

    def overlaps(self, first: date, last: date) -> bool:
        return (
            self.first is None or self.last is None or (first <= self.last and last >= self.first)
        )


ALL_TIME = Period(ALL_TIME_KEY, "All time")


def _long_date(day: date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year(year: int, *, start_month: int) -> Period:
    """Fiscal year ``year``: the twelve months from ``start_month`` that end in ``year``."""
    first = date(year if start_month == 1 else year - 1, start_month, 1)
    last = date.fromordinal(_add_months(first, 12).toordinal() - 1)
    return Period(f"fy{year}", f"Fiscal year {year}", first, last)


def calendar_quarter(year: int, quarter: int) -> Period:
    """Calendar quarter ``quarter`` (1 to 4) of ``year``: January to March is the first."""
    first = date(year, 3 * quarter - 2, 1)
    last = date.fromordinal(_add_months(first, 3).toordinal() - 1)
    return Period(f"{year}-q{quarter}", f"{QUARTER_MONTHS[quarter]} {year}", first, last)


def fiscal_year_of(day: date, *, start_month: int) -> int:
    """The fiscal year ``day`` falls in (named by the calendar year it ends in)."""
    return day.year + 1 if start_month > 1 and day.month >= start_month else day.year


PERIOD_MESSAGE = (
    "Choose a period from the list: all time, a fiscal year (such as fy2027) or a calendar "
    "quarter (such as 2026-q4)."
)


def parse_period(value: str | None, *, start_month: int) -> Period:
    """The period a ``period`` parameter names: empty or ``all`` for all time, ``fy2027``
    for a fiscal year, ``2026-q4`` for a calendar quarter; anything else is refused
    (``Invalid`` on the field ``period``)."""
    text = (value or "").strip().casefold()
    if text in ("", ALL_TIME_KEY):
        return ALL_TIME
    year: int | None = None
    quarter: int | None = None
    if text.startswith("fy") and text[2:].isdigit() and len(text) == 6:
        year = int(text[2:])
    else:
        head, _, tail = text.partition("-q")
        if head.isdigit() and len(head) == 4 and tail in ("1", "2", "3", "4"):
            year, quarter = int(head), int(tail)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(PERIOD_MESSAGE, field="period")
    if quarter is None:
        return fiscal_year(year, start_month=start_month)
    return calendar_quarter(year, quarter)


def period_choices(
    *, today: date, start_month: int, chosen: Period | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The periods the filter lists, as (group label, [(key, label)]): all time; the fiscal
    years from five before the current one to the next; the calendar quarters of this year
    and the three before, latest first. A chosen period outside these is listed too."""
    current = fiscal_year_of(today, start_month=start_month)
    years = [
        fiscal_year(year, start_month=start_month) for year in range(current + 1, current - 6, -1)
    ]
    quarters = [
        calendar_quarter(year, quarter)
        for year in range(today.year, today.year - 4, -1)
        for quarter in (4, 3, 2, 1)
    ]
    if chosen is not None and not chosen.all_time:
        group = years if chosen.key.startswith("fy") else quarters
        if all(p.key != chosen.key for p in group):
            group.insert(0, chosen)

    def listed(periods: list[Period]) -> list[tuple[str, str]]:
        # A quarter's label names its months; a fiscal year's says which months it spans.
        return [
            (
                p.key,
                p.label
                if p.first is None or p.last is None or not p.key.startswith("fy")
                else f"{p.label} ({p.first:%B %Y} to {p.last:%B %Y})",
            )
            for p in periods
        ]

    return [
        ("", [(ALL_TIME.key, ALL_TIME.label)]),
        ("Fiscal years", listed(years)),
        ("Calendar quarters", listed(quarters)),
    ]


def parse_division(value: str | None, *, divisions: Iterable[str], unit: str = "division") -> str:
    """The division (or office) key a ``division`` parameter names; empty for all of them.
    A key the agency's profile does not list is refused (``Invalid`` on ``division``)."""
    key = (value or "").strip()
    if key and key not in set(divisions):
        article = "an" if unit[:1] in ("a", "e", "i", "o", "u") else "a"
        raise Invalid(f"Choose {article} {unit} from the list.", field="division")
    return key


@dataclass(frozen=True)
class Dashboard:
    active_by_division: list[tuple[str, int]]  # (division key, count), every division
    timing_by_year: dict[int, Counter[str]] = field(default_factory=dict)
    people: list[PeopleCount] = field(default_factory=list)
    proposals_by_status: list[tuple[str, int]] = field(default_factory=list)
    proposals_by_state: list[tuple[str, Counter[str]]] = field(default_factory=list)
    left_out: LeftOut = field(default_factory=LeftOut)
    period: Period = ALL_TIME
    division: str = ""  # empty: every division
    # (office, name, alliances counted at it and every office under it): the office the
    # figures are for, then each office right under it, its children's figures rolled up.
    active_by_office: list[tuple[str, str, int]] = field(default_factory=list)
    office: str = ""  # empty: every office of the person's


def parse_office(value: str | None, *, acting: Acting) -> str:
    """The office an ``office`` parameter names (one of ``acting``'s: theirs or one under
    it); empty for all of them."""
    value = (value or "").strip()
    if not value:
        return ""
    offices = load_agency_profile().offices
    scope = office_scope(acting.office, offices)
    if value not in offices or not in_scope(scope, value):
        raise Invalid({"office": ["Choose one of your offices from the list."]})
    return value


def office_choices(acting: Acting) -> dict[str, str]:
    """The offices the person may narrow the figures to: theirs and those under it."""
    offices = load_agency_profile().offices
    return offices.labelled_choices(office_scope(acting.office, offices))


def own_office_name(acting: Acting) -> str:
    """The name of the person's office when it is not the top one (whose figures are all)."""
    offices = load_agency_profile().offices
    if not acting.office or acting.office == offices.top.slug or acting.office not in offices:
        return ""
    return offices.name(acting.office)


def office_of(alliance: Alliance) -> str:
    """The alliance's office; the top office's for one recorded before offices."""
    return alliance.office or load_agency_profile().offices.top.slug


def check_may_see_dashboard(acting: Acting) -> None:
    """The program figures are the Coordinator's (refused before their filters are read)."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator sees the program figures.")


def dashboard(
    session: Session,
    *,
    acting: Acting,
    now: datetime,
    rules: ScheduleRules,
    divisions: Iterable[str],
    period: Period = ALL_TIME,
    division: str = "",
    office: str = "",
) -> Dashboard:
    """Active alliances by division, reports on time / late / overdue per year of due date,
    people reached and trained by year and emphasis area (from the latest submitted version
    of each report), and proposals by status and by their organization's state (each state's
    by status). The Coordinator only; nothing of a partner or an applicant they declared a
    conflict of interest with is counted.

    ``period`` and ``division`` narrow every figure. In a period: an alliance counts when its
    term overlaps the period (for all time: when it is active today), a report when it was
    due in it, an activity when it took place in it (a row without a date, staff training:
    its report's last day), a proposal when its latest status was recorded in it (in the
    agency's time zone). In a division: its alliances, their reports and activities, and
    the proposals approved into its alliances (a proposal has no division before that).

    The figures are those of the person's offices (shared/offices.py: their office and those
    under it; the top office's Coordinator, every office); ``office`` narrows them to one of
    those and the offices under it, and ``active_by_office`` counts the alliances of the
    office shown and of each office right under it, with its own offices' rolled up."""
    check_may_see_dashboard(acting)
    today = agency_today(now, rules.timezone)
    # The stored event tells the proposal an alliance came from: for a division's figures.
    every = _every_alliance(session, unread=("contact",) if division else ("contact", "signed"))
    readable = _readable(session, acting, own_only=False, every=every)
    offices = load_agency_profile().offices
    shown_office = office or acting.office or offices.top.slug
    if shown_office not in offices:
        shown_office = offices.top.slug
    within = offices.within(office) if office else None

    def counted(alliance: Alliance) -> bool:
        return (
            readable.shows(alliance)
            and (not division or alliance.division == division)
            and (within is None or office_of(alliance) in within)
        )

    alliances = [a for a in every.values() if counted(a)]
    shown = {alliance.id for alliance in alliances}
    # ``timing`` reads a report's due date, status and time sent: those columns alone, not
    # a whole object for each of the program's thousands of reports.
    timed = select(Report.alliance_id, Report.due_date, Report.status, Report.submitted_at)
    reports = [
        cast(Report, r)
        for r in session.execute(timed.where(Report.status != "cancelled"))
        if r.alliance_id in shown and period.holds(r.due_date)
    ]
    approved: set[uuid.UUID] | None = None
    if division:
        approved = set()
        for alliance in alliances:
            try:
                approved.add(uuid.UUID(str(alliance.signed.get("proposal_id") or "")))
            except ValueError:
                continue  # no proposal named: none of its proposals to count
    counted_proposals, proposals_left_out = proposals.tally(
        session,
        acting=acting,
        first=period.first,
        last=period.last,
        timezone=rules.timezone,
        within=within,
        approved_only=approved,
    )
    in_effect = [
        alliance
        for alliance in alliances
        if (
            is_active(alliance, today=today)
            if period.all_time
            else period.overlaps(alliance.signing_date, alliance.ends_on)
        )
    ]
    active: Counter[str] = Counter(alliance.division for alliance in in_effect)
    at_office: Counter[str] = Counter(office_of(alliance) for alliance in in_effect)
    by_office = [
        (
            shown_office,
            offices.name(shown_office),
            sum(at_office[o] for o in offices.within(shown_office)),
        ),
        *(
            (child.slug, child.name, sum(at_office[o] for o in offices.within(child.slug)))
            for child in offices.children(shown_office)
        ),
    ]
    keys = [division] if division else list(divisions)
    keys += sorted(key for key in active if key not in keys)
    years: dict[int, Counter[str]] = {}
    for report in reports:
        kind = timing(report, now=now, rules=rules)
        if kind in ("on_time", "late", "overdue"):
            years.setdefault(report.due_date.year, Counter())[kind] += 1
    rows = [
        row
        for row in activity_rows(
            v for v in latest_versions(session, alliances=every) if v[1].id in shown
        )
        if period.holds(row.day or row.report.period_end)
    ]
    return Dashboard(
        active_by_division=[(key, active[key]) for key in keys],
        timing_by_year=dict(sorted(years.items())),
        people=people_by_area_and_year(rows),
        proposals_by_status=proposals.by_status(counted_proposals),
        proposals_by_state=proposals.by_state(counted_proposals),
        left_out=LeftOut(alliances=readable.left_out.alliances, proposals=proposals_left_out),
        period=period,
        division=division,
        active_by_office=by_office,
        office=office,
    )


# -- CSV ------------------------------------------------------------------------------------

# The words staff read for the stored codes (the pages and the CSV files alike).
STATUS_LABELS = {
    "scheduled": "Scheduled",
    "due_soon": "Due soon",
    "due": "Due",
    "overdue": "Overdue",
    "submitted": "Submitted",
    "revision_requested": "Revision requested",
    "accepted": "Accepted",
    "cancelled": "Cancelled",
}
KIND_LABELS = {"quarterly": "Quarterly", "annual": "Annual"}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def term_label(term: int) -> str:
    return f"Renewal {term}" if term else "Initial term"


@dataclass(frozen=True)
class CsvLabels:
    """The agency's words for its codes: divisions (or offices) and emphasis areas (hazards
    and priority areas); a code the profile no longer lists is shown as it is."""

    divisions: dict[str, str] = field(default_factory=dict)
    emphasis_areas: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_agency(cls) -> CsvLabels:
        profile = load_agency_profile()
        return cls(
            divisions=dict(profile.divisions),
            emphasis_areas={**profile.hazards, **profile.priority_areas},
        )

    def division(self, key: str) -> str:
        return self.divisions.get(key, key)

    def emphasis_area(self, key: str) -> str:
        return self.emphasis_areas.get(key, key)


CSV_HEADER = (
    "alliance reference",
    "partner",
    "division",
    "kind",
    "term",
    "period",
    "due date",
    "status",
    "submitted at",
    "on time",
)


def note_row(left_out: LeftOut, width: int) -> list[list[str]]:
    """The CSV's last row when something was left out: ``Note: <the note>`` in its first cell
    (formula-safe), the row as wide as the header; no row when nothing was."""
    if not left_out:
        return []
    return [[excel_safe(f"Note: {left_out.note}"), *([""] * (width - 1))]]


def export_rows(
    session: Session,
    *,
    acting: Acting,
    now: datetime,
    rules: ScheduleRules,
    labels: CsvLabels | None = None,
    for_spreadsheet: bool = True,
) -> list[list[str]]:
    """The CSV's rows (header first): every report for the Coordinator, a liaison's own
    alliances' reports for a liaison; a partner hidden by a conflict is left out, and a last
    row says so (``note_row``). Codes are shown as the words the pages use (``labels``).
    Cells are formula-safe (``excel_safe``) unless not ``for_spreadsheet`` (JSON)."""
    labels = labels or CsvLabels.of_agency()
    cell = excel_safe if for_spreadsheet else plain
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The export is for liaisons and the Coordinator.")
    readable = _readable(session, acting, own_only=not acting.is_coordinator)
    rows = session.execute(
        select(Report, Alliance)
        .join(Alliance, Alliance.id == Report.alliance_id)
        .order_by(Alliance.reference, Report.due_date, Report.kind)
    ).all()
    out = [list(CSV_HEADER)]
    for report, alliance in rows:
        if not readable.shows(alliance):
            continue
        kind = timing(report, now=now, rules=rules)
        on_time = {"on_time": "yes", "late": "no", "overdue": "no"}.get(kind, "")
        out.append(
            [
                cell(value)
                for value in (
                    alliance.reference,
                    alliance.partner_name,
                    labels.division(alliance.division),
                    kind_label(report.kind),
                    term_label(report.term),
                    f"{report.period_start.isoformat()}/{report.period_end.isoformat()}",
                    report.due_date.isoformat(),
                    status_label(shown_status(report, now=now, rules=rules)),
                    # the agency's time, its zone named: "2026-12-06 13:13 EST"
                    (
                        report.submitted_at.astimezone(rules.timezone).strftime("%Y-%m-%d %H:%M %Z")
                        if report.submitted_at
                        else ""
                    ),
                    on_time,
                )
            ]
        )
    return out + note_row(readable.left_out, len(CSV_HEADER))


ACTIVITY_CSV_HEADER = (
    "alliance reference",
    "partner",
    "division",
    "report kind",
    "term",
    "period",
    "version",
    "section",
    "date",
    "type of product",
    "title or event",
    "audience",
    "description",
    "city",
    "state",
    "emphasis area",
    "number reached",
)


def activity_export_rows(
    session: Session,
    *,
    acting: Acting,
    labels: CsvLabels | None = None,
    for_spreadsheet: bool = True,
) -> list[list[str]]:
    """The activity CSV's rows (header first): one per activity row of each report's latest
    submitted version, every field of the row in its own column (a product's title too);
    every alliance for the Coordinator, a liaison's own for a liaison; a partner hidden by a
    conflict is left out, and a last row says so (``note_row``). Codes are shown as the
    words the pages use (``labels``). Cells are formula-safe unless not ``for_spreadsheet``."""
    labels = labels or CsvLabels.of_agency()
    cell = excel_safe if for_spreadsheet else plain
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The export is for liaisons and the Coordinator.")
    readable = _readable(session, acting, own_only=not acting.is_coordinator)
    out = [list(ACTIVITY_CSV_HEADER)]
    for row in activity_rows(latest_versions(session)):
        if not readable.shows(row.alliance):
            continue
        report = row.report
        day = row.day
        number = row.row.get("number_reached")
        out.append(
            [
                cell(value)
                for value in (
                    row.alliance.reference,
                    row.alliance.partner_name,
                    labels.division(row.alliance.division),
                    kind_label(report.kind),
                    term_label(report.term),
                    f"{report.period_start.isoformat()}/{report.period_end.isoformat()}",
                    row.version,
                    SECTIONS.get(row.section, row.section),
                    day.isoformat() if day else "",
                    row.row.get("type", ""),
                    row.row.get("title") or row.row.get("event") or "",
                    row.row.get("audience", ""),
                    row.row.get("description", ""),
                    row.row.get("city", ""),
                    row.row.get("state", ""),
                    labels.emphasis_area(row.emphasis_area),
                    "" if number is None else number,
                )
            ]
        )
    return out + note_row(readable.left_out, len(ACTIVITY_CSV_HEADER))
