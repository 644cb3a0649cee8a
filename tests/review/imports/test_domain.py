"""Importing the alliances an agency already has (services/review/imports/domain.py): a good
file is checked, then stored and announced; importing it twice changes nothing; every kind
of bad file gets its problems by row and column and stores nothing."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from services.review.alliances.models import Alliance
from services.review.base import OutboxEvent
from services.review.imports import domain as importing
from services.review.worker import outbox
from shared.domain import Forbidden
from shared.events import parse_event
from tests.review.factories import staff_member
from tests.shared.factories import acting

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 7)
NATIONAL = acting("nia@agency.example", "coordinator")
HEADER = list(importing.COLUMN_NAMES)


def row(**cells: str) -> dict[str, str]:
    base = {
        "agreement_number": "OSHA-R5-2024-001",
        "organization_name": "Great Lakes Roofers",
        "organization_type": "Trade association",
        "website": "https://glr.example.org",
        "street": "120 W Ottawa St",
        "city": "Lansing",
        "state": "MI",
        "zip": "48933",
        "contact_name": "Dana Smith",
        "contact_title": "Safety Director",
        "contact_email": "dana@glr.example.org",
        "contact_phone": "+1 517 555 0100",
        "office": "Lansing Area Office",
        "division": "",
        "liaison_email": "lee@agency.example",
        "signing_date": "2024-03-01",
        "term_years": "3",
        "status": "Active",
        "ended_on": "",
        "ambassador_since": "",
        "goals": (
            "Outreach and communication: Publish toolbox talks | training_education: Train 500"
        ),
        "hazards": "falls; Heat",
    }
    return {**base, **cells}


def file_of(*rows: dict[str, str], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or HEADER, extrasaction="ignore")
    writer.writeheader()
    for cells in rows:
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def session(rolled_back: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    session = rolled_back("review")
    staff_member("lee@agency.example", "liaison", name="Lee Liaison", session=session)
    return session


def run(session: Any, raw: bytes, **options: Any) -> importing.ImportResult:
    return importing.import_alliances(
        session, acting=NATIONAL, raw=raw, today=TODAY, outbox=outbox, **options
    )


def stored(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Alliance)) or 0)


def events(session: Any, kind: str) -> list[dict[str, Any]]:
    return [
        parse_event(r.message).payload
        for r in session.scalars(select(OutboxEvent).where(OutboxEvent.type == kind))
    ]


GOOD = file_of(
    row(),
    row(
        agreement_number="OSHA-R6-2023-007",
        organization_name="Texas Welders Guild",
        office="area_dallas",
        signing_date="06/15/2025",
        term_years="2",
        status="Ambassador",
        ambassador_since="2025-09-01",
    ),
    row(
        agreement_number="OSHA-NO-2019-002",
        organization_name="National Painters",
        office="National Office",
        signing_date="2019-01-10",
        status="Concluded",
        ended_on="2022-01-09",
        goals="",
        hazards="",
    ),
)


def test_a_good_file_is_checked_then_stored_and_announced_without_a_welcome(session) -> None:
    checked = run(session, GOOD, dry_run=True)
    assert checked.plan.ok
    assert (len(checked.plan.new), checked.plan.unchanged, checked.stored) == (3, [], False)
    assert stored(session) == 0

    done = run(session, GOOD)
    assert done.stored
    by_reference = {a.reference: a for a in session.scalars(select(Alliance))}
    roofers = by_reference["OSHA-R5-2024-001"]
    assert (roofers.office, roofers.division, roofers.status) == (
        "area_lansing",
        "area_office",
        "active",
    )
    assert (roofers.signing_date, roofers.ends_on) == (date(2024, 3, 1), date(2027, 2, 28))
    assert [g["category"] for g in roofers.goals] == [
        "outreach_communication",
        "training_education",
    ]
    assert roofers.hazards == ["falls", "heat"]
    assert roofers.contact["phone"] == "+1 517 555 0100"
    assert by_reference["OSHA-R6-2023-007"].status == "ambassador"
    assert by_reference["OSHA-NO-2019-002"].ended_on == date(2022, 1, 9)
    # Announced as signings, with their real dates, the import day, and no welcome; the
    # concluded one is kept for the record and announced to no one.
    signed = {p["reference"]: p for p in events(session, "alliance.signed")}
    assert set(signed) == {"OSHA-R5-2024-001", "OSHA-R6-2023-007"}
    assert signed["OSHA-R5-2024-001"]["signing_date"] == date(2024, 3, 1)
    assert signed["OSHA-R5-2024-001"]["office"] == "area_lansing"
    assert (signed["OSHA-R5-2024-001"]["imported_on"], signed["OSHA-R5-2024-001"]["welcome"]) == (
        TODAY,
        False,
    )
    [named] = events(session, "alliance.ambassador_designated")
    assert named["designated_on"] == date(2025, 9, 1)


def test_importing_the_same_file_twice_changes_nothing(session) -> None:
    run(session, GOOD)
    before = (stored(session), len(events(session, "alliance.signed")))
    again = run(session, GOOD)
    assert again.plan.ok
    assert again.plan.new == []
    assert sorted(again.plan.unchanged) == [
        "OSHA-NO-2019-002",
        "OSHA-R5-2024-001",
        "OSHA-R6-2023-007",
    ]
    assert (stored(session), len(events(session, "alliance.signed"))) == before


def test_the_welcome_is_sent_when_asked(session) -> None:
    run(session, file_of(row()), welcome=True)
    assert [p["welcome"] for p in events(session, "alliance.signed")] == [True]


BAD_FILES = {
    "latin-1": (
        "agreement_number,organization_name\nX,Caf\xe9 Ouvriers\n".encode("latin-1"),
        [(0, "", "not UTF-8")],
    ),
    "missing columns": (
        file_of(row(), header=[h for h in HEADER if h not in ("office", "signing_date")]),
        [(0, "", "Columns missing: office, signing_date")],
    ),
    "bad dates": (
        file_of(
            row(signing_date="March 1st"), row(agreement_number="B", signing_date="2024-02-30")
        ),
        [(2, "signing_date", "is not a date"), (3, "signing_date", "is not a date")],
    ),
    "unknown office": (file_of(row(office="Atlantis Area Office")), [(2, "office", "not one of")]),
    "unknown liaison": (
        file_of(row(liaison_email="nobody@agency.example")),
        [(2, "liaison_email", "No active liaison")],
    ),
    "a 50 MB file": (b"x" * (50 * 1024 * 1024), [(0, "", "50 MB")]),
    "formulas in cells": (
        file_of(
            row(organization_name='=HYPERLINK("http://evil.example","Click")'),
            row(agreement_number="C", contact_title="@SUM(A1:A2)", city="-2+3"),
        ),
        [
            (2, "organization_name", "formula"),
            (3, "city", "formula"),
            (3, "contact_title", "formula"),
        ],
    ),
    "an agreement number twice": (
        file_of(row(), row(organization_name="Other")),
        [(3, "agreement_number", "on row 2 too")],
    ),
    "an ended term": (
        file_of(row(signing_date="2020-01-01", term_years="2")),
        [(2, "signing_date", "This term ended on 2021-12-31")],
    ),
    "not a csv file": (b"\x89PNG\r\n\x1a\n\x00\x00", [(0, "", "")]),
    "empty": (b"", [(0, "", "empty")]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_gets_its_report_and_stores_nothing(session, case: str) -> None:
    raw, expected = BAD_FILES[case]
    result = run(session, raw)
    assert not result.stored
    found = [(p.row, p.column, p.message) for p in result.plan.problems]
    assert len(found) == len(expected), found
    for (row_number, column, message), (want_row, want_column, want_text) in zip(
        sorted(found), sorted(expected), strict=True
    ):
        assert (row_number, column) == (want_row, want_column), found
        assert want_text in message, found
    assert stored(session) == 0
    assert events(session, "alliance.signed") == []


def test_only_the_coordinator_imports_and_only_into_their_offices(session) -> None:
    with pytest.raises(Forbidden):
        importing.import_alliances(
            session,
            acting=acting("rey@agency.example", "reviewer"),
            raw=GOOD,
            today=TODAY,
            outbox=outbox,
        )
    region_v = acting("rex@agency.example", "coordinator", office="region_5")
    result = importing.import_alliances(
        session, acting=region_v, raw=GOOD, today=TODAY, outbox=outbox
    )
    assert [(p.row, p.column) for p in result.plan.problems] == [(3, "office"), (4, "office")]
    assert stored(session) == 0


def test_the_template_has_every_column_and_an_example_row_that_imports(session) -> None:
    template = importing.template_csv()
    header, _example = list(csv.reader(io.StringIO(template)))
    assert header == HEADER
    staff_member("lee2@agency.example", "liaison", session=session)
    assert run(session, template.encode(), dry_run=True).plan.ok


def test_the_documentation_names_every_column() -> None:
    from pathlib import Path

    documented = (Path(__file__).parents[3] / "docs" / "import.md").read_text(encoding="utf-8")
    assert [c for c in HEADER if f"`{c}`" not in documented] == []
