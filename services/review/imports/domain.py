"""Importing the alliances an agency already has, from a CSV file (docs/import.md).

One rule for the operator's command (``alliance import alliances FILE.csv``) and the
Coordinator's page (/staff/alliances/import):

- the file is read whole and checked before anything is stored (``check``): a file that is not
  a CSV file in UTF-8, too large, without the template's columns, or with any row refused
  stores nothing, and every problem is listed by row and column (a dry run stops there);
- a row is keyed by its agreement number: an alliance of that number already here is left as
  it is, so importing the same file twice changes nothing;
- a cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return first) is refused, never stored: an export of these alliances must not carry
  it back into someone's spreadsheet;
- an active alliance (or Ambassador) is announced as a signing is (``alliance.signed``), with
  its real signing date and ``imported_on``: reporting schedules its reports from the signing,
  counts those due before the import as the agency's past records, and reminds only of what is
  due from then on; notify sends no welcome unless the import asks for one (``welcome``). A
  concluded or terminated alliance is kept for the record and announced to no one.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marshmallow import ValidationError, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import audit, people
from services.review.alliances.models import Alliance, AllianceStatusChange, AllianceTerm
from services.review.staff import domain as accounts
from shared.agency import GOAL_CATEGORIES, ORGANIZATION_TYPES, AgencyProfile
from shared.config import load_agency_profile
from shared.dates import term_end
from shared.db import utcnow
from shared.domain import Acting, Forbidden
from shared.events import new_event
from shared.outbox import Outbox
from shared.proposal import US_STATE_NAMES

MAX_BYTES = 5 * 1024 * 1024  # 5 MB: some 20,000 alliances; an agency has hundreds
MAX_ROWS = 5000
IMPORTED_STATUSES = {
    "active": "Active",
    "ambassador": "Ambassador",
    "concluded": "Concluded",
    "terminated": "Terminated",
}
# The namespace of the proposal ids imported alliances are given (they came from no proposal
# here): the same agreement number always gives the same id.
IMPORTED = uuid.UUID("0b8f4a52-4c55-4f3e-9a0e-2d5c1f6e7a10")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    required: bool
    describes: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column(
        "agreement_number",
        "Agreement number",
        True,
        "The agency's number for the agreement, unique: the key that makes a second import "
        "of the same file change nothing.",
        "OSHA-R5-2019-014",
    ),
    Column(
        "organization_name",
        "Organization",
        True,
        "The partner's legal name.",
        "Great Lakes Roofing Contractors Association",
    ),
    Column(
        "organization_type",
        "Type of organization",
        True,
        "One of: " + ", ".join(ORGANIZATION_TYPES.values()) + " (or its code).",
        "Trade association",
    ),
    Column(
        "website",
        "Website",
        False,
        "The partner's website, http(s)://...",
        "https://glrca.example.org",
    ),
    Column("street", "Street address", False, "", "120 W Ottawa St"),
    Column("city", "City", False, "", "Lansing"),
    Column("state", "State", False, "Two-letter code.", "MI"),
    Column("zip", "ZIP code", False, "", "48933"),
    Column("contact_name", "Contact name", True, "The partner's own contact.", "Dana Smith"),
    Column("contact_title", "Contact title", False, "", "Safety Director"),
    Column(
        "contact_email",
        "Contact e-mail",
        True,
        "Where the partner's reminders go.",
        "dana@glrca.example.org",
    ),
    Column("contact_phone", "Contact phone", False, "", "517 555 0100"),
    Column(
        "office",
        "Office",
        True,
        "The office the alliance belongs to: its code or its name as the agency's list gives it.",
        "Lansing Area Office",
    ),
    Column(
        "division",
        "Lead division or office level",
        False,
        "Its code or name; empty: the office's own.",
        "",
    ),
    Column(
        "liaison_email",
        "Liaison e-mail",
        True,
        "The e-mail address of the liaison's staff account (an active liaison).",
        "lee@agency.example",
    ),
    Column(
        "signing_date",
        "Signing date",
        True,
        "The date the current term's agreement was signed (the latest renewal's for a "
        "renewed alliance), as YYYY-MM-DD or MM/DD/YYYY.",
        "2024-03-01",
    ),
    Column("term_years", "Term in years", True, "1 to 10.", "3"),
    Column("status", "Status", True, "Active, Ambassador, Concluded or Terminated.", "Active"),
    Column(
        "ended_on",
        "Ended on",
        False,
        "For a concluded or terminated alliance: the day it ended.",
        "",
    ),
    Column(
        "ambassador_since",
        "Ambassador since",
        False,
        "For an Ambassador: the day it was named (empty: the signing date).",
        "",
    ),
    Column(
        "goals",
        "Goals",
        False,
        "Goals separated by |, each its category then a colon and the goal, such as "
        "Outreach and communication: Publish toolbox talks.",
        "Outreach and communication: Publish fall-protection toolbox talks | "
        "Training and education: Train 500 roofers",
    ),
    Column("hazards", "Hazards", False, "Hazard codes or names separated by ;.", "falls; heat"),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = tuple(column.name for column in COLUMNS if column.required)
LABELS = {column.name: column.label for column in COLUMNS}

# A leading +: a phone number (+1 517 555 0100) is not a formula; a leading -: a negative
# number is not.
_FORMULA = re.compile(r"^[=@\t\r]|^\+(?![\d\s().-]*$)|^-(?![\d.]+$)")


def _is_email(text: str) -> bool:
    """An address the events carry (marshmallow's rule, the one they are checked by)."""
    try:
        validate.Email()(text)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Problem:
    """What is wrong, where: ``row`` as a spreadsheet numbers it (the header is row 1), 0 for
    the file as a whole; ``column`` the template's column name, "" for the whole row."""

    row: int
    column: str
    message: str

    @property
    def column_label(self) -> str:
        return LABELS.get(self.column, self.column)

    @property
    def where(self) -> str:
        place = "The file" if self.row == 0 else f"Row {self.row}"
        return f"{place}, {LABELS.get(self.column, self.column)}" if self.column else place


@dataclass
class PlannedAlliance:
    """One row, checked: what would be stored."""

    row: int
    reference: str
    partner: dict[str, Any]
    contact: dict[str, Any]
    office: str
    division: str
    liaison: accounts.Liaison
    signing_date: date
    term_years: int
    ends_on: date
    status: str
    ended_on: date | None
    ambassador_since: date | None
    goals: list[dict[str, Any]]
    hazards: list[str]


@dataclass
class ImportPlan:
    """A file, checked: its problems, the alliances it would add, and the rows whose
    agreement is here already (left as they are)."""

    problems: list[Problem] = field(default_factory=list)
    new: list[PlannedAlliance] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # agreement numbers
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ImportResult:
    plan: ImportPlan
    stored: bool
    alliance_ids: list[uuid.UUID] = field(default_factory=list)


def template_csv() -> str:
    """The template: the columns, and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    writer.writerow([column.example for column in COLUMNS])
    return out.getvalue()


def check_importer(acting: Acting) -> None:
    """Importing is the Coordinator's."""
    if not acting.is_coordinator:
        raise Forbidden("Only the Coordinator imports alliances.")


# -- reading the file -------------------------------------------------------------------------


def read_rows(raw: bytes) -> tuple[list[dict[str, str]], list[Problem]]:
    """The file's rows by column name, or what makes the whole file unreadable."""
    if len(raw) > MAX_BYTES:
        size = len(raw) / 1024 / 1024
        return [], [Problem(0, "", f"The file is {size:.0f} MB; import at most 5 MB at a time.")]
    if not raw.strip():
        return [], [Problem(0, "", "The file is empty: use the template's columns.")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [
            Problem(
                0,
                "",
                "The file is not UTF-8 text: save it from the spreadsheet as "
                '"CSV UTF-8 (comma delimited)" and import it again.',
            )
        ]
    if "\x00" in text:
        return [], [Problem(0, "", "The file is not a CSV file (it holds binary data).")]
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        lines = list(reader)
    except csv.Error as err:
        return [], [Problem(0, "", f"The file is not a CSV file the import can read ({err}).")]
    header = [name.strip().lower().replace(" ", "_") for name in lines[0]]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name and name not in COLUMN_NAMES]
    problems = []
    if missing:
        problems.append(
            Problem(0, "", "Columns missing: " + ", ".join(missing) + " (see the template).")
        )
    if unknown:
        problems.append(
            Problem(0, "", "Columns the template does not have: " + ", ".join(unknown) + ".")
        )
    if len(set(header)) != len(header):
        problems.append(Problem(0, "", "A column is named twice in the first row."))
    body = [line for line in lines[1:] if any(cell.strip() for cell in line)]
    if len(body) > MAX_ROWS:
        problems.append(
            Problem(0, "", f"The file has {len(body)} rows; import at most {MAX_ROWS}.")
        )
    if not body and not problems:
        problems.append(Problem(0, "", "The file has no alliance below its first row."))
    if problems:
        return [], problems
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        if len(line) > len(header):
            problems.append(
                Problem(
                    number,
                    "",
                    f"The row has {len(line)} cells; the first row names {len(header)} columns.",
                )
            )
            continue
        row = {
            name: (line[index] if index < len(line) else "") for index, name in enumerate(header)
        }
        row["_row"] = str(number)
        rows.append(row)
    return rows, problems


# -- checking each row ------------------------------------------------------------------------


def _day(text: str) -> date | None:
    text = text.strip()
    try:
        return date.fromisoformat(text) if "-" in text else _us_date(text)
    except ValueError:
        return None


def _us_date(text: str) -> date:
    """MM/DD/YYYY, as American spreadsheets write a date."""
    month, day, year = (int(part) for part in text.split("/"))
    if year < 1000:
        raise ValueError(text)
    return date(year, month, day)


def _by_code_or_name(text: str, choices: dict[str, str]) -> str | None:
    wanted = " ".join(text.split()).casefold()
    for code, name in choices.items():
        if wanted in (code.casefold(), name.casefold()):
            return code
    return None


class _Row:
    """One row being checked: its cells, and the problems found in it."""

    def __init__(self, cells: dict[str, str], problems: list[Problem]) -> None:
        self.cells = cells
        self.number = int(cells["_row"])
        self.problems = problems
        self.found = 0

    def fail(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.number, column, message))
        self.found += 1

    def text(self, column: str, limit: int = 200) -> str:
        value = " ".join(self.cells.get(column, "").split())
        if column in REQUIRED and not value:
            self.fail(column, f"Give the {LABELS[column].lower()}.")
        elif len(value) > limit:
            self.fail(column, f"At most {limit} characters.")
        return value

    def date(self, column: str, *, required: bool) -> date | None:
        value = self.cells.get(column, "").strip()
        if not value:
            if required:
                self.fail(column, f"Give the {LABELS[column].lower()}.")
            return None
        day = _day(value)
        if day is None:
            self.fail(column, f"{value!r} is not a date: write it as YYYY-MM-DD (2024-03-01).")
        return day


def _formulas(row: _Row) -> None:
    for column in COLUMN_NAMES:
        value = row.cells.get(column, "")
        if value and _FORMULA.match(value):
            row.fail(
                column,
                "The cell starts like a spreadsheet formula (=, +, -, @): "
                "formulas are not imported. Type the value itself.",
            )


def _goals(row: _Row) -> list[dict[str, Any]]:
    goals = []
    for part in (p.strip() for p in row.cells.get("goals", "").split("|")):
        if not part:
            continue
        category_text, colon, description = part.partition(":")
        category = _by_code_or_name(category_text, dict(GOAL_CATEGORIES)) if colon else None
        if category is None or not description.strip():
            row.fail(
                "goals",
                f"{part[:60]!r}: start each goal with its category and a colon "
                "(" + ", ".join(GOAL_CATEGORIES.values()) + ").",
            )
            continue
        goals.append(
            {
                "category": category,
                "term": "long",
                "description": " ".join(description.split())[:2000],
                "activities": [],
                "activities_other": "",
                "measure": "",
            }
        )
    return goals


def _checked(
    row: _Row,
    *,
    profile: AgencyProfile,
    liaisons: dict[str, accounts.Liaison],
    today: date,
    acting: Acting,
) -> PlannedAlliance | None:
    _formulas(row)
    reference = row.text("agreement_number", 40)
    name = row.text("organization_name")
    kind = row.text("organization_type")
    organization_type = _by_code_or_name(kind, dict(ORGANIZATION_TYPES)) if kind else None
    if kind and organization_type is None:
        row.fail(
            "organization_type", "Choose one of: " + ", ".join(ORGANIZATION_TYPES.values()) + "."
        )
    website = row.text("website", 300)
    if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
        row.fail("website", "Give a web address that starts with http:// or https://.")
    state = row.text("state", 2).upper()
    if state and state not in US_STATE_NAMES:
        row.fail("state", f"{state!r} is not a state's two-letter code.")
    contact_email = row.text("contact_email", 254).lower()
    if contact_email and not _is_email(contact_email):
        row.fail("contact_email", "Give an e-mail address, like name@example.org.")
    contact = {
        "name": row.text("contact_name"),
        "title": row.text("contact_title"),
        "email": contact_email,
        "phone": row.text("contact_phone", 40),
        "fax": "",
    }
    office_text = row.text("office")
    office = _by_code_or_name(office_text, profile.offices.choices()) if office_text else None
    if office_text and office is None:
        row.fail("office", f"{office_text!r} is not one of the agency's offices.")
    elif office is not None and not people.sees_office(acting, office):
        row.fail("office", f"{profile.offices.name(office)} is outside your office.")
    division_text = row.text("division", 64)
    division: str | None = None
    if division_text:
        division = _by_code_or_name(division_text, dict(profile.divisions))
        if division is None:
            row.fail(
                "division",
                f"{division_text!r} is not one of the agency's divisions or office levels.",
            )
    elif office is not None:
        division = profile.division_of_office(office)
        if division is None:
            row.fail("division", "Give the lead division: the office stands for none.")
    liaison_email = row.text("liaison_email", 254).lower()
    liaison = liaisons.get(liaison_email)
    if liaison_email and liaison is None:
        row.fail(
            "liaison_email",
            "No active liaison has this e-mail address: add them on the "
            "Staff page (with the Liaison role) first.",
        )
    signing_date = row.date("signing_date", required=True)
    years_text = row.text("term_years", 3)
    term_years = int(years_text) if years_text.isdigit() else None
    if years_text and (term_years is None or not 1 <= term_years <= 10):
        row.fail("term_years", "Give the term in whole years, 1 to 10.")
    status_text = row.text("status", 20)
    status = _by_code_or_name(status_text, IMPORTED_STATUSES) if status_text else None
    if status_text and status is None:
        row.fail("status", "Choose Active, Ambassador, Concluded or Terminated.")
    ended_on = row.date("ended_on", required=status in ("concluded", "terminated"))
    since = row.date("ambassador_since", required=False)
    hazards = []
    for text in (h for h in row.cells.get("hazards", "").split(";") if h.strip()):
        code = _by_code_or_name(text, dict(profile.hazards))
        if code is None:
            row.fail("hazards", f"{text.strip()!r} is not on the agency's hazard list.")
        else:
            hazards.append(code)
    goals = _goals(row)
    if signing_date and signing_date > today:
        row.fail(
            "signing_date",
            "The signing date is in the future: import an alliance once its agreement is signed.",
        )
    ends_on = term_end(signing_date, term_years) if signing_date and term_years else None
    if ends_on and status in ("active", "ambassador") and ends_on < today:
        row.fail(
            "signing_date",
            f"This term ended on {ends_on.isoformat()}: give a renewed "
            "alliance's latest signing date and term, an ended one the status Concluded.",
        )
    if ended_on and signing_date and ended_on < signing_date:
        row.fail("ended_on", "It ended before it was signed.")
    if ended_on and ended_on > today:
        row.fail("ended_on", "The end is in the future: import it as active.")
    if since and signing_date and (since < signing_date or since > today):
        row.fail("ambassador_since", "Give a day from the signing date to today.")
    if row.found or None in (
        signing_date,
        term_years,
        ends_on,
        status,
        office,
        division,
        liaison,
        organization_type,
    ):
        return None
    assert signing_date is not None
    assert term_years is not None
    assert ends_on is not None
    assert status is not None
    assert office is not None
    assert division is not None
    assert liaison is not None
    return PlannedAlliance(
        row=row.number,
        reference=reference,
        partner={
            "name": name,
            "type": organization_type,
            "website": website,
            "address": {
                "street": row.text("street"),
                "city": row.text("city", 100),
                "state": state,
                "zip": row.text("zip", 10),
            },
        },
        contact=contact,
        office=office,
        division=division,
        liaison=liaison,
        signing_date=signing_date,
        term_years=term_years,
        ends_on=ends_on,
        status=status,
        ended_on=ended_on,
        ambassador_since=(since or signing_date) if status == "ambassador" else None,
        goals=goals,
        hazards=hazards,
    )


def _active_liaisons(session: Session) -> dict[str, accounts.Liaison]:
    return {liaison.email.lower(): liaison for liaison in accounts.liaison_choices(session)}


def plan(session: Session, *, acting: Acting, raw: bytes, today: date) -> ImportPlan:
    """Check the whole file, storing nothing: every problem by row and column, the alliances
    it would add, and the agreements already here."""
    check_importer(acting)
    rows, problems = read_rows(raw)
    found = ImportPlan(problems=problems, rows=len(rows))
    if problems and not rows:
        return found
    profile = load_agency_profile()
    liaisons = _active_liaisons(session)
    seen: dict[str, int] = {}
    existing = set(
        session.scalars(
            select(Alliance.reference).where(
                Alliance.reference.in_(
                    {" ".join(r.get("agreement_number", "").split()) for r in rows}
                )
            )
        )
    )
    for cells in rows:
        row = _Row(cells, found.problems)
        planned = _checked(row, profile=profile, liaisons=liaisons, today=today, acting=acting)
        reference = " ".join(cells.get("agreement_number", "").split())
        if reference and reference in seen:
            row.fail("agreement_number", f"The agreement number is on row {seen[reference]} too.")
            continue
        if reference:
            seen[reference] = row.number
        if reference in existing:
            found.unchanged.append(reference)
        elif planned is not None:
            found.new.append(planned)
    return found


# -- storing ----------------------------------------------------------------------------------


def import_alliances(
    session: Session,
    *,
    acting: Acting,
    raw: bytes,
    today: date,
    outbox: Outbox,
    welcome: bool = False,
    dry_run: bool = False,
    progress: Callable[[Iterable[PlannedAlliance]], Iterable[PlannedAlliance]] | None = None,
    past_reports_owed: bool = False,
) -> ImportResult:
    """Check the file (``plan``); unless it is a dry run or a problem was found, store every
    new alliance and announce the active ones, all in the caller's transaction.

    ``past_reports_owed``: the reports due before today stay owed, with no reminder of the
    past (the demo's program, whose history is then reported through reporting's own
    functions), instead of being the agency's past records."""
    found = plan(session, acting=acting, raw=raw, today=today)
    if dry_run or not found.ok:
        return ImportResult(found, stored=False)
    stored = [
        _store(
            session,
            planned,
            acting=acting,
            imported_on=None if past_reports_owed else today,
            reminders_from=today if past_reports_owed else None,
            outbox=outbox,
            welcome=welcome,
        )
        for planned in (progress or (lambda items: items))(found.new)
    ]
    return ImportResult(found, stored=True, alliance_ids=stored)


def _store(
    session: Session,
    planned: PlannedAlliance,
    *,
    acting: Acting,
    imported_on: date | None,
    outbox: Outbox,
    welcome: bool,
    reminders_from: date | None = None,
) -> uuid.UUID:
    from services.review.alliances.domain import signed_payload

    ended = planned.status in ("concluded", "terminated")
    alliance = Alliance(
        proposal_id=uuid.uuid5(IMPORTED, planned.reference),
        reference=planned.reference,
        partner=planned.partner,
        partner_name=planned.partner["name"],
        contact=planned.contact,
        goals=planned.goals,
        hazards=planned.hazards,
        division=planned.division,
        office=None if planned.office == load_agency_profile().offices.top.slug else planned.office,
        liaison_id=planned.liaison.id,
        liaison_name=planned.liaison.name,
        liaison_email=planned.liaison.email,
        signing_date=planned.signing_date,
        term_years=planned.term_years,
        ends_on=planned.ends_on,
        renewals=0,
        status=planned.status,
        ended_on=planned.ended_on if ended else None,
    )
    session.add(alliance)
    session.flush()
    session.add(
        AllianceTerm(
            alliance_id=alliance.id,
            number=0,
            signing_date=planned.signing_date,
            term_years=planned.term_years,
            ends_on=planned.ends_on,
            decided_by=acting.email,
        )
    )
    if planned.status != "active":
        day = planned.ended_on if ended else planned.ambassador_since
        assert day is not None
        session.add(
            AllianceStatusChange(
                alliance_id=alliance.id,
                status=planned.status,
                decided_on=day,
                effective_on=day,
                reason="Imported with the agency's records.",
                decided_by=acting.email,
            )
        )
    audit.record(
        session,
        entity_type="alliance",
        entity_id=alliance.id,
        action="imported",
        actor=acting.email,
        changes={
            "status": [None, planned.status],
            "signing_date": [None, planned.signing_date.isoformat()],
            "term_years": [None, planned.term_years],
            "office": [None, load_agency_profile().offices.name(planned.office)],
            "liaison": [None, planned.liaison.name],
        },
        note=f"row {planned.row} of an imported file",
    )
    if not ended:
        profile = load_agency_profile()
        outbox.add(
            session,
            new_event(
                "alliance.signed",
                producer="review",
                payload={
                    **signed_payload(
                        alliance, profile.divisions.get(alliance.division, alliance.division)
                    ),
                    "imported_on": imported_on,
                    "welcome": welcome,
                    "reminders_from": reminders_from,
                },
            ),
        )
        if planned.status == "ambassador":
            assert planned.ambassador_since is not None
            outbox.add(
                session,
                new_event(
                    "alliance.ambassador_designated",
                    producer="review",
                    payload={
                        "alliance_id": alliance.id,
                        "proposal_id": alliance.proposal_id,
                        "reference": alliance.reference,
                        "partner_name": alliance.partner_name,
                        **alliance.people(),
                        "decided_at": utcnow(),
                        "designated_on": planned.ambassador_since,
                    },
                ),
            )
    return alliance.id


def problems_in_words(problems: Sequence[Problem]) -> list[str]:
    """``Row 3, Signing date: ...``: one line per problem, for the command and the page."""
    return [f"{problem.where}: {problem.message}" for problem in problems]
