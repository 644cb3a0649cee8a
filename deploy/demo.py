"""``alliance demo``: a living program in the running system, for a newcomer to look at.

Everything goes in the way the agency's own work would, never by writing rows:

1. staff accounts (a Coordinator for the top office and one per region or division, and the
   liaisons) through review's account functions;
2. the alliances, as a CSV file made from the import template (kept in ``var/demo/``), through
   the import (services/review/imports), whose ``alliance.signed`` events reporting turns into
   report schedules; the command waits until reporting has them all;
3. three years of reports through reporting's own functions: most submitted on time, some
   late, some still overdue, some revised after a liaison asked, most accepted; this history
   is not announced (no e-mail about the past), while the deadlines from today on are the
   running system's;
4. roundtables, their members, meetings and products through review's functions;
5. new proposals waiting in the queue, through intake's function (their receipts and alerts go
   out as any proposal's do).

The federal profile gets the OSHA slide's program: 71 national alliances and 278 regional and
area-office alliances over the ten regions; a State Plan gets its divisions at MIOSHA's scale.
The same seed gives the same program (``build_alliances``), so the file can be imported into
an empty system to reproduce it.
"""

from __future__ import annotations

import csv
import io
import random
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.agency import GOAL_CATEGORIES, ORGANIZATION_TYPES, AgencyProfile
from shared.dates import add_years, term_end
from shared.domain import Acting

SEED = 2026
FEDERAL_NATIONAL = 71
FEDERAL_REGIONAL = 278
STATE_PLAN_PER_DIVISION = 18
DEMO_DOMAIN = "demo.agency.example"

# Each region's states (OSHA's regions), for the partners' addresses.
REGION_STATES = {
    1: ["CT", "ME", "MA", "NH", "RI", "VT"],
    2: ["NJ", "NY", "PR"],
    3: ["DE", "DC", "MD", "PA", "VA", "WV"],
    4: ["AL", "FL", "GA", "KY", "MS", "NC", "SC", "TN"],
    5: ["IL", "IN", "MI", "MN", "OH", "WI"],
    6: ["AR", "LA", "NM", "OK", "TX"],
    7: ["IA", "KS", "MO", "NE"],
    8: ["CO", "MT", "ND", "SD", "UT", "WY"],
    9: ["AZ", "CA", "HI", "NV"],
    10: ["AK", "ID", "OR", "WA"],
}
PLACES = [
    "Great Lakes",
    "Midwest",
    "Pacific",
    "Gulf Coast",
    "Mountain States",
    "Atlantic",
    "Prairie",
    "Tri-State",
    "Heartland",
    "Northeast",
    "Southern",
    "Capital Area",
    "Bay Area",
    "Valley",
    "Lakeshore",
    "River City",
    "High Plains",
    "Coastal",
    "Piedmont",
    "Desert",
]
TRADES = [
    "Roofing Contractors",
    "Home Builders",
    "Electrical Contractors",
    "Ironworkers",
    "Painters and Decorators",
    "Plumbing-Heating-Cooling Contractors",
    "Masonry Contractors",
    "Safety Council",
    "Landscape Professionals",
    "Tree Care Industry",
    "Welding Society",
    "Concrete Institute",
    "Motor Carriers",
    "Warehouse and Logistics",
    "Health Care Safety",
    "Food Processors",
    "Farm Workers",
    "Oil and Gas Safety Network",
    "Crane Operators",
    "Demolition Contractors",
    "Utility Contractors",
    "Hispanic Contractors",
    "Manufacturers",
    "Shipbuilders",
    "Temporary Staffing",
]
SUFFIXES = ["Association", "Alliance", "Council", "Institute", "Guild", "Network"]
STREETS = ["Main", "Oak", "Lake", "Market", "Union", "Washington", "Grand River"]
TITLES = ["Safety Director", "Executive Director", "Training Manager", "Risk Manager"]
FIRST = [
    "Dana",
    "Lee",
    "Maria",
    "Jamal",
    "Priya",
    "Tomás",
    "Grace",
    "Omar",
    "Ruth",
    "Kenji",
    "Alicia",
    "Victor",
    "Nia",
    "Sam",
    "Elena",
    "Marcus",
    "Hannah",
    "Luis",
    "Fatima",
    "Joe",
]
LAST = [
    "Smith",
    "Nguyen",
    "Garcia",
    "Johnson",
    "Patel",
    "Okafor",
    "Kowalski",
    "Brown",
    "Hernández",
    "Lee",
    "Anderson",
    "Rossi",
    "Haddad",
    "Walker",
    "Kim",
    "Novak",
]
GOAL_TEXTS = {
    "outreach_communication": [
        "Share fall-protection toolbox talks with every member company",
        "Publish a heat-illness prevention series in the members' newsletter",
        "Translate the agency's fact sheets for Spanish-speaking crews",
    ],
    "training_education": [
        "Train 500 supervisors in hazard recognition",
        "Hold quarterly trench-safety stand-downs",
        "Develop a silica-exposure course with the agency's trainers",
    ],
    "awareness": [
        "Brief members on the agency's emphasis programs each year",
        "Explain the new recordkeeping rule at the annual conference",
    ],
    "national_dialogue": [
        "Convene a national forum on young workers' safety",
        "Join the agency's Safe + Sound Week each August",
    ],
}


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    roles: tuple[str, ...]
    office: str  # "" for the top office


@dataclass
class DemoProgram:
    """What ``alliance demo`` loads: its people, and its alliances as the import's CSV file."""

    people: list[DemoPerson]
    csv: bytes
    alliances: int
    by_office: dict[str, int] = field(default_factory=dict)


def _random(seed: int) -> random.Random:
    """The demo's made-up choices: the same seed, the same program (not for secrets)."""
    return random.Random(seed)  # noqa: S311


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def _city(office_name: str) -> str:
    city = re.sub(r" (Area|District|Regional) Office$", "", office_name)
    return re.sub(r"^Region [IVX]+ \((.*)\)$", r"\1", city)


def _people(profile: AgencyProfile) -> list[DemoPerson]:
    offices = profile.offices
    top = offices.top
    people = [DemoPerson(f"coordinator@{DEMO_DOMAIN}", "Casey Coordinator", ("coordinator",), "")]
    people += [
        DemoPerson(
            f"liaison{n}@{DEMO_DOMAIN}",
            f"{FIRST[(n * 7) % len(FIRST)]} {LAST[(n * 5) % len(LAST)]}",
            ("liaison", "reviewer"),
            "",
        )
        for n in (1, 2, 3)
    ]
    for index, office in enumerate(offices.children(top.slug), start=1):
        short = _slug(office.slug)
        people.append(
            DemoPerson(
                f"coordinator.{short}@{DEMO_DOMAIN}",
                f"{FIRST[index % len(FIRST)]} {LAST[(index * 3) % len(LAST)]}",
                ("coordinator", "reviewer"),
                office.slug,
            )
        )
        people += [
            DemoPerson(
                f"liaison.{short}.{n}@{DEMO_DOMAIN}",
                f"{FIRST[(index * 3 + n) % len(FIRST)]} {LAST[(index + n * 7) % len(LAST)]}",
                ("liaison",),
                office.slug,
            )
            for n in (1, 2)
        ]
    return people


def _liaisons_for(people: list[DemoPerson], office: str, offices: Any) -> list[DemoPerson]:
    """The liaisons of the office's branch right under the top (its region or division), or
    the top office's for the top office itself."""
    path = [o.slug for o in offices.upward(office)]
    branch = path[-2] if len(path) >= 2 else ""
    return [p for p in people if "liaison" in p.roles and p.office == branch]


def build_alliances(
    profile: AgencyProfile, *, today: date, seed: int = SEED, limit: int = 0
) -> DemoProgram:
    """The demo's people and its alliances as the import's CSV file (the same every time for
    the same profile, day and seed); ``limit``: only the first alliances of the program (a
    quick look, or a test)."""
    from services.review.imports.domain import COLUMN_NAMES

    rng = _random(seed)
    people = _people(profile)
    offices = profile.offices
    top = offices.top
    branches = offices.children(top.slug)
    placements: list[tuple[str, int]] = []  # (office, branch number) per alliance
    if profile.federal:
        placements += [(top.slug, 0)] * FEDERAL_NATIONAL
        for number in range(FEDERAL_REGIONAL):
            index = number % len(branches)
            region = branches[index]
            areas = offices.children(region.slug)
            at_region = number % 3 == 0 or not areas
            placements.append((region.slug if at_region else rng.choice(areas).slug, index + 1))
    else:
        for index, division in enumerate(branches, start=1):
            placements += [(division.slug, index)] * STATE_PLAN_PER_DIVISION
    if limit:
        placements = placements[:: max(1, len(placements) // limit)][:limit]
    hazards = list(profile.hazards)
    categories = [c for c in profile.goal_categories if c != "outreach_communication"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMN_NAMES), lineterminator="\r\n")
    writer.writeheader()
    names: set[str] = set()
    by_office: dict[str, int] = {}
    for number, (office, branch) in enumerate(placements, start=1):
        national = office == top.slug
        city = _city(offices.name(office)) if not national else "Washington"
        while True:
            place = "American" if national and profile.federal else rng.choice(PLACES)
            name = f"{place} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
            if name in names:
                name = f"{name} of {city}"
            if name not in names:
                break
        names.add(name)
        slug = _slug(name)[:40].strip("-")
        states = REGION_STATES.get(branch, ["MI"]) if profile.federal else ["MI"]
        age_days = rng.randint(30, 3 * 365 - 30)  # signed up to three years ago
        status = rng.choices(["active", "ambassador", "concluded"], weights=[88, 6, 6])[0]
        if status == "concluded":
            signed = today - timedelta(days=rng.randint(4 * 365, 5 * 365))
            years = 2
            ended = term_end(signed, years)
        else:
            signed = today - timedelta(days=age_days)
            # A term long enough to run past today (the current term, for a renewed one).
            least = max(2, (today - signed).days // 365 + 1)
            years = rng.randint(least, max(least, 5))
            ended = None
        since = ""
        if status == "ambassador":
            since = (
                signed + timedelta(days=rng.randint(0, max(0, (today - signed).days)))
            ).isoformat()
        goals = [
            f"{GOAL_CATEGORIES['outreach_communication']}: "
            + rng.choice(GOAL_TEXTS["outreach_communication"])
        ] + [
            f"{GOAL_CATEGORIES[c]}: {rng.choice(GOAL_TEXTS[c])}"
            for c in rng.sample(categories, rng.randint(0, min(2, len(categories))))
        ]
        contact = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        liaison = rng.choice(_liaisons_for(people, office, offices))
        writer.writerow(
            {
                "agreement_number": f"DEMO-{number:04d}",
                "organization_name": name,
                "organization_type": rng.choice(list(ORGANIZATION_TYPES)),
                "website": f"https://{slug}.example.org",
                "street": f"{rng.randint(10, 9999)} {rng.choice(STREETS)} St",
                "city": city,
                "state": rng.choice(states),
                "zip": f"{rng.randint(10000, 99999)}",
                "contact_name": contact,
                "contact_title": rng.choice(
                    ["Safety Director", "Executive Director", "Training Manager"]
                ),
                "contact_email": f"{_slug(contact).replace('-', '.')}@{slug}.example.org",
                "contact_phone": f"{rng.randint(200, 989)} 555 {rng.randint(1000, 9999)}",
                "office": office,
                "division": "",
                "liaison_email": liaison.email,
                "signing_date": signed.isoformat(),
                "term_years": str(years),
                "status": status,
                "ended_on": ended.isoformat() if ended else "",
                "ambassador_since": since,
                "goals": " | ".join(goals),
                "hazards": "; ".join(rng.sample(hazards, rng.randint(1, 3))),
            }
        )
        by_office[office] = by_office.get(office, 0) + 1
    return DemoProgram(
        people=people,
        csv=out.getvalue().encode("utf-8"),
        alliances=len(placements),
        by_office=by_office,
    )


# -- loading ------------------------------------------------------------------------------------


class _Unannounced:
    """The outbox of the demo's past: reporting's functions record the history of reports
    (submissions, reviews) as they always do, but nobody is e-mailed about the past."""

    def add(self, session: Any, event: Any) -> None:
        del session, event


def acting_as(person: DemoPerson, staff_id: uuid.UUID) -> Acting:
    return Acting(
        staff_id=staff_id,
        email=person.email,
        roles=frozenset(person.roles),
        name=person.name,
        office=person.office,
    )


def ensure_staff(session: Any, people: list[DemoPerson], *, password: str) -> dict[str, uuid.UUID]:
    """The demo's staff accounts, made once (a second run finds them); their ids by e-mail."""
    from services.review.staff import domain as accounts
    from shared.config import load_settings

    ids: dict[str, uuid.UUID] = {}
    for person in people:
        found = accounts.find_by_email(session, email=person.email)
        if found is None:
            found = accounts.add_account(
                session,
                email=person.email,
                name=person.name,
                roles=list(person.roles),
                password=password,
                actor="alliance demo",
                settings=load_settings(),
                office=person.office or None,
            )
        ids[person.email] = found.id
    return ids


def content_for(report: Any, alliance: Any, rng: random.Random, at: date) -> dict[str, Any]:
    """A complete report of the period: meetings and activities dated inside it (and not
    after the day it is sent), with people reached in the alliance's emphasis areas."""
    last = min(report.period_end, at)
    span = max(0, (last - report.period_start).days)

    def day() -> str:
        return (report.period_start + timedelta(days=rng.randint(0, span))).isoformat()

    areas = list((alliance.signed or {}).get("hazards") or []) or [""]
    return {
        "meetings": [{"date": day(), "topic": "Work plan review", "attendees": "The team"}],
        "dissemination": [
            {
                "type": rng.choice(["Fact sheet", "Toolbox talk", "Newsletter article", "Video"]),
                "date": day(),
                "description": "Shared with member companies",
                "emphasis_area": rng.choice(areas),
                "number_reached": rng.randint(50, 5000),
            }
        ],
        "outreach": [
            {
                "date": day(),
                "event": rng.choice(["Safety stand-down", "Annual conference", "Jobsite visit"]),
                "city": "Lansing",
                "state": "MI",
                "emphasis_area": rng.choice(areas),
                "number_reached": rng.randint(10, 800),
            }
        ],
        "staff_training": [
            {"audience": "Compliance officers", "number_reached": rng.randint(2, 40)}
        ],
        "products": [],
        "narratives": {
            category: {"results": "On track with the work plan.", "obstacles": ""}
            for category in {g.get("category") for g in (alliance.signed or {}).get("goals", [])}
            if category
        },
    }


def report_history(
    *,
    today: date,
    liaisons: dict[str, Acting],
    progress: Callable[[list[Any]], Iterator[Any]],
    seed: int = SEED,
) -> dict[str, int]:
    """Three years of reports, through reporting's functions: each report due before today
    submitted on time, late, or not at all (overdue), then accepted, revised after a request,
    or waiting for review; how many of each."""
    from sqlalchemy import select

    from services.reporting.alliances.models import Alliance
    from services.reporting.reports import review as reviews
    from services.reporting.reports import submission as submissions
    from services.reporting.reports.models import Report, ReportVersion
    from services.reporting.worker import database
    from shared.config import load_agency_profile

    rng = _random(seed)
    quiet: Any = _Unannounced()
    counts = {"on time": 0, "late": 0, "overdue": 0, "accepted": 0, "revised": 0, "waiting": 0}
    categories = load_agency_profile().goal_categories
    with database.transaction() as session:
        if session.scalar(select(ReportVersion.id).limit(1)) is not None:
            return counts  # a second run: the past is written already
        due = [
            (report.id, report.alliance_id)
            for report in session.scalars(
                select(Report)
                .where(Report.due_date < today, Report.status.not_in(["cancelled", "accepted"]))
                .order_by(Report.due_date, Report.id)
            )
        ]
    for report_id, alliance_id in progress(due):
        with database.transaction() as session:
            report = session.get(Report, report_id)
            alliance = session.get(Alliance, alliance_id)
            if report is None or alliance is None or report.status == "submitted":
                continue
            days_late = (today - report.due_date).days
            fate = rng.choices(
                ["on time", "late", "overdue"],
                weights=[85, 12, 3] if days_late > 90 else [60, 15, 25],
            )[0]
            if fate == "late" and days_late <= 5:
                fate = "overdue"
            if fate == "overdue":
                counts["overdue"] += 1
                continue
            if fate == "on time":
                window = max(0, (report.due_date - report.period_end).days - 1)
                sent = report.period_end + timedelta(days=1 + rng.randint(0, window))
            else:
                sent = report.due_date + timedelta(days=rng.randint(3, min(45, days_late - 1)))
            at = datetime.combine(sent, time(15), UTC)
            submissions.submit(
                session,
                report_id=report_id,
                content=content_for(report, alliance, rng, sent),
                goal_categories=categories,
                at=at,
                outbox=quiet,
            )
            counts[fate] += 1
            liaison = liaisons.get(alliance.liaison_email.lower())
            if liaison is None:
                continue
            reviewed = sent + timedelta(days=rng.randint(3, 20))
            if reviewed >= today or rng.random() < 0.05:
                counts["waiting"] += 1
                continue
            if rng.random() < 0.1 and reviewed + timedelta(days=12) < today:
                reviews.request_revision(
                    session,
                    acting=liaison,
                    report_id=report_id,
                    comments="Add the number of people reached at the stand-down.",
                    outbox=quiet,
                    now=datetime.combine(reviewed, time(16), UTC),
                )
                again = reviewed + timedelta(days=rng.randint(2, 10))
                submissions.submit(
                    session,
                    report_id=report_id,
                    content=content_for(report, alliance, rng, again),
                    goal_categories=categories,
                    at=datetime.combine(again, time(15), UTC),
                    outbox=quiet,
                )
                reviewed = again + timedelta(days=1)
                counts["revised"] += 1
            reviews.accept(
                session,
                acting=liaison,
                report_id=report_id,
                outbox=quiet,
                now=datetime.combine(reviewed, time(17), UTC),
            )
            counts["accepted"] += 1
    return counts


# What each demo roundtable talked about and made together: (meeting topics, products as
# (kind, title)); a product of each roundtable but the first is kept off the public directory.
ROUNDTABLE_WORK: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "Construction Roundtable": (
        ("Struck-by hazards in work zones", "Trenching season: what inspections found"),
        (
            ("fact_sheet", "Trench Safety: Protective Systems at a Glance"),
            ("toolbox_talk", "Five Minutes on Struck-By Hazards"),
            ("webinar", "Work Zone Safety for Small Contractors"),
        ),
    ),
    "Heat Illness Prevention Roundtable": (
        ("Water, rest, shade: what worked last summer", "Acclimatizing new and returning workers"),
        (
            ("toolbox_talk", "Heat Stress: Know the Signs"),
            ("translation", "Estrés por calor: conozca las señales (Spanish)"),
            ("fact_sheet", "Planning for a Heat Wave"),
        ),
    ),
    "Warehousing and Logistics Roundtable": (
        ("Forklift near misses", "Ergonomics at the packing line"),
        (
            ("fact_sheet", "Powered Industrial Trucks: Pre-Shift Checks"),
            ("webinar", "Lifting Less: Ergonomics in Distribution Centers"),
        ),
    ),
    "Health Care Roundtable": (
        ("Workplace violence prevention plans", "Safe patient handling equipment"),
        (
            ("fact_sheet", "Preventing Workplace Violence in Health Care"),
            ("other", "Safe Patient Handling Self-Assessment Checklist"),
        ),
    ),
    "Fall Protection Workgroup": (
        ("Planning the stand-down", "Ladder safety for roofers"),
        (
            ("toolbox_talk", "Fall Protection Stand-Down Toolbox Talk"),
            ("translation", "Protección contra caídas: charla de seguridad (Spanish)"),
        ),
    ),
}


@dataclass
class RoundtableWork:
    """What the demo's roundtables hold: memberships, meetings and products."""

    memberships: int = 0
    meetings: int = 0
    products: int = 0

    def __str__(self) -> str:
        return (
            f"{self.memberships} roundtable memberships, {self.meetings} roundtable meetings "
            f"and {self.products} products"
        )


def roundtables(*, today: date, coordinator: Acting, seed: int = SEED) -> RoundtableWork:
    """A few roundtables (one with a workgroup), their members, a couple of meetings each and
    the products they made together, all through review's roundtable functions."""
    from sqlalchemy import select

    from services.review.alliances.models import Alliance, Roundtable
    from services.review.roundtables import domain as tables
    from services.review.worker import database

    rng = _random(seed)
    started = today - timedelta(days=700)
    work = RoundtableWork()
    with database.transaction() as session:
        existing = set(session.scalars(select(Roundtable.name)))
        if "Construction Roundtable" in existing:
            return work
        made = [
            tables.create_roundtable(
                session, name=name, starts_on=started, description=text, acting=coordinator
            )
            for name, text in (
                ("Construction Roundtable", "Falls, trenching and struck-by hazards on jobsites."),
                ("Heat Illness Prevention Roundtable", "Water, rest, shade, and acclimatization."),
                ("Warehousing and Logistics Roundtable", "Forklifts, ergonomics and heat."),
                ("Health Care Roundtable", "Workplace violence and safe patient handling."),
            )
        ]
        made.append(
            tables.create_roundtable(
                session,
                name="Fall Protection Workgroup",
                starts_on=started,
                description="A stand-down toolkit in English and Spanish.",
                parent_id=made[0].id,
                acting=coordinator,
            )
        )
        joinable = list(
            session.scalars(
                select(Alliance)
                .where(Alliance.status.in_(["active", "ambassador"]))
                .order_by(Alliance.reference)
            )
        )
        for table in made:
            for alliance in rng.sample(joinable, min(len(joinable), rng.randint(6, 14))):
                assert alliance.signing_date is not None
                tables.join(
                    session,
                    roundtable_id=table.id,
                    alliance_id=alliance.id,
                    joined_on=max(alliance.signing_date, started, table.starts_on),
                    acting=coordinator,
                    today=today,
                )
                work.memberships += 1
        for number, table in enumerate(made):
            topics, products = ROUNDTABLE_WORK[table.name]
            members = [
                m.alliance.partner_name for m in tables.memberships(session, roundtable_id=table.id)
            ]
            for index, topic in enumerate(topics):
                # One meeting in each of the two years it has run, the later one recent.
                held_on = today - timedelta(days=rng.randint(20, 300) + (1 - index) * 360)
                tables.record_meeting(
                    session,
                    roundtable_id=table.id,
                    held_on=held_on,
                    topic=topic,
                    summary="The members compared what they do about it and agreed on next steps.",
                    attendees="; ".join(rng.sample(members, min(len(members), 4))),
                    acting=coordinator,
                    today=today,
                )
                work.meetings += 1
            for index, (kind, title) in enumerate(products):
                tables.record_product(
                    session,
                    roundtable_id=table.id,
                    kind=kind,
                    title=title,
                    description=f"Made together by the members of the {table.name}.",
                    url=f"https://{DEMO_DOMAIN}/roundtables/{_slug(title)}",
                    published_on=today - timedelta(days=rng.randint(10, 600)),
                    public=not (number and index == len(products) - 1),
                    acting=coordinator,
                    today=today,
                )
                work.products += 1
        return work


def new_proposals(profile: AgencyProfile, *, count: int, seed: int = SEED) -> int:
    """Proposals waiting for review, submitted through intake as the form submits them."""
    from services.intake.proposals import submit_proposal
    from services.intake.schemas import ProposalInputSchema
    from services.intake.worker import database, outbox
    from shared.config import load_settings
    from shared.testing import example_proposal

    rng = _random(seed + 1)
    # Offices a proposal can name on its own (a State Plan's top office stands for no division).
    offices = [o.slug for o in profile.offices if profile.division_of_office(o.slug) is not None]
    settings = load_settings()
    for number in range(count):
        data = example_proposal()
        data["organization"]["name"] = (
            f"{rng.choice(PLACES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)} (new {number + 1})"
        )
        data["organization"]["workers_reached"] = rng.randint(200, 40000)
        data.pop("requested_division", None)
        data["requested_office"] = rng.choice(offices)
        data["priority"]["priority_areas"] = rng.sample(
            list(profile.priority_areas), rng.randint(0, 2)
        )
        data["hazards"] = rng.sample(list(profile.hazards), rng.randint(1, 3))
        loaded = ProposalInputSchema(profile=profile).load(data)
        with database.transaction() as session:
            submit_proposal(session, data=loaded, settings=settings, outbox=outbox)
    return count


def new_password() -> str:
    return "demo-" + secrets.token_urlsafe(12)


def agency_today() -> date:
    from shared.config import load_settings

    return datetime.now(load_settings().agency_timezone).date()


def years_ago(today: date, years: int) -> date:
    return add_years(today, -years)
