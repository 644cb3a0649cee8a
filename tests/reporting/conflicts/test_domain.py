"""A declared conflict of interest hides the partner everywhere in reporting: the
CSV exports, the evaluation pages, the dashboard, the work list and the
reporting APIs leave it out for that person, or refuse them its own pages, and a note says
that something was left out (services/reporting/people.py ``hidden_from``).

Two alliances, each with a submitted annual report and a proposal in reporting's copy:
A (the Roofers, Lee's) and B (Other Builders, Ola's). Each has its own traces: its name, its
reference, its alliance's id, its activities' text and the figures only it adds up to.

What a declared conflict of interest hides and the note that says so: pure, no database."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest

from services.reporting import create_app
from services.reporting.alliances.models import Alliance
from services.reporting.figures import domain as figures
from services.reporting.figures.domain import note_row
from services.reporting.people import LeftOut, check_may_read, hidden_from, readable_alliances
from services.reporting.proposals import domain as proposals
from services.reporting.reports import tokens
from services.reporting.schedules.domain import rules_from_settings
from services.reporting.worker import database
from shared.domain import Acting, Forbidden, organization_key
from shared.events import new_event
from tests.intake.factories import proposal, submitted_event
from tests.reporting.evaluations.test_views import content, submit
from tests.reporting.factories import run_reporting_task, signed_with_an_annual_report
from tests.review.factories import (
    LIAISON,
    OTHER_LIAISON,
    acting_as,
    conflict_declared_event,
)
from tests.shared.factories import REVIEWER, ROOFERS, acting, signed_in

OTHER = "Other Builders"
NOTE = "1 alliance left out because you declared a conflict of interest."
DASHBOARD_NOTE = "1 alliance and 1 proposal left out because you declared a conflict of interest."
CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")


@dataclass(frozen=True)
class Partner:
    """A seeded alliance and what shows that a page read something of it."""

    alliance_id: uuid.UUID
    report_id: uuid.UUID  # its submitted annual report
    traces: tuple[str, ...]


def seed_partner(
    name: str, liaison: Any, *, division: str, area: str, reached: int, state: str, words: str
) -> Partner:
    signed, report_id = signed_with_an_annual_report(name, liaison, division=division)
    alliance_id = signed.payload["alliance_id"]
    reference = signed.payload["reference"]
    body = content(reached=reached, area=area)
    body["dissemination"][0]["description"] = f"{words} fact sheet"
    body["outreach"][0]["event"] = f"{words} safety day"
    submit(report_id, body)
    run_reporting_task(
        "reporting.proposal_submitted",
        submitted_event(proposal(name, state=state), reference=reference),
    )
    # The dashboard's figures: the people reached in its row (its dissemination and its
    # outreach row's 10), and the state of its proposal.
    figures = (f"<td>{reached + 10}</td>", f'<th scope="row">{state}</th>')
    traces = (name, reference, str(alliance_id), f"{words} fact sheet", f"{words} safety day")
    return Partner(alliance_id, report_id, traces + figures)


@pytest.fixture
def partners(clean_databases: Any, redis_client: Any) -> dict[str, Partner]:
    return {
        "A": seed_partner(
            ROOFERS,
            LIAISON,
            division="construction_safety_health",
            area="falls",
            reached=1234,
            state="MI",
            words="Ladder clinic",
        ),
        "B": seed_partner(
            OTHER,
            OTHER_LIAISON,
            division="general_industry_safety_health",
            area="heat",
            reached=567,
            state="OH",
            words="Heat walk",
        ),
    }


def declare_conflict(person: Any, organization: str = ROOFERS) -> None:
    """Review announced that ``person`` declared a conflict of interest with ``organization``."""
    run_reporting_task(
        "reporting.conflict_declared", conflict_declared_event(person.staff_id, organization)
    )


def paths(partners: dict[str, Partner]) -> dict[str, str]:
    a, b = partners["A"], partners["B"]
    return {
        "reports.csv": "/staff/reports.csv",
        "activities.csv": "/staff/activities.csv",
        "evaluation of A": f"/staff/alliances/{a.alliance_id}/evaluations/0/1",
        "evaluation of B": f"/staff/alliances/{b.alliance_id}/evaluations/0/1",
        "dashboard": "/staff/dashboard",
        "work list": "/staff/reports",
        "reports API of A": f"/api/v1/alliances/{a.alliance_id}/reports",
        "reports API of B": f"/api/v1/alliances/{b.alliance_id}/reports",
    }


def found(partners: dict[str, Partner], body: str) -> set[str]:
    """Which partners ``body`` shows anything of."""
    return {key for key, partner in partners.items() if any(t in body for t in partner.traces)}


def read(client: Any, partners: dict[str, Partner], path: str) -> str:
    """What a read gives: ``403``, or the partners it shows (``A B``, ``B``, ``-`` for none),
    and ``+ note`` when it says something was left out."""
    answer = client.get(path)
    body = answer.get_data(as_text=True)
    if answer.status_code in (302, 303, 401):  # not signed in: the sign-in, and nothing else
        assert "/staff/sign-in" in answer.headers.get("Location", "/staff/sign-in")
        asked = quote(path, safe="")  # the redirect names the page asked for, nothing more
        assert not found(partners, body.replace(asked, "")), body
        return "sign in"
    if answer.status_code == 403:
        assert not found(partners, body), body  # a refusal names no partner either
        return "403"
    assert answer.status_code == 200, (path, answer.status_code, body[:500])
    shown = " ".join(sorted(found(partners, body))) or "-"
    noted = "left out because you declared a conflict of interest" in body
    return f"{shown} + note" if noted else shown


def csv_rows(client: Any, path: str) -> list[list[str]]:
    text = client.get(path).get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.integration
def test_a_coordinator_in_conflict_reads_nothing_of_the_partner_and_is_told(partners):
    """Finding 4: before the conflict the Coordinator reads A everywhere; after declaring it,
    no export, evaluation, figure, list or API shows a trace of A, and each list says that
    something was left out."""
    app = create_app({"TESTING": True})
    cora = signed_in(app, CORA)
    a = partners["A"]
    every = paths(partners)
    refused_now = {
        "alliance reports page of A": f"/staff/alliances/{a.alliance_id}/reports",
        "report of A": f"/staff/reports/{a.report_id}",
        "report API of A": f"/api/v1/reports/{a.report_id}",
        "printable report of A": f"/staff/reports/{a.report_id}/report.pdf",
    }

    before = {name: read(cora, partners, path) for name, path in every.items()}
    assert before == {
        "reports.csv": "A B",
        "activities.csv": "A B",
        "evaluation of A": "A",
        "evaluation of B": "B",
        "dashboard": "A B",
        "work list": "A B",
        "reports API of A": "A",
        "reports API of B": "B",
    }
    for path in refused_now.values():
        assert cora.get(path).status_code != 403

    declare_conflict(CORA)

    after = {name: read(cora, partners, path) for name, path in every.items()}
    assert after == {
        "reports.csv": "B + note",
        "activities.csv": "B + note",
        "evaluation of A": "403",
        "evaluation of B": "B",
        "dashboard": "B + note",
        "work list": "B + note",
        "reports API of A": "403",
        "reports API of B": "B",
    }
    for name, path in refused_now.items():
        assert read(cora, partners, path) == "403", name

    # The notes: a last row in each CSV (formula-safe), a visible note on each page.
    for path in ("/staff/reports.csv", "/staff/activities.csv"):
        rows = csv_rows(cora, path)
        assert rows[-1][0] == f"Note: {NOTE}"
        assert len(rows[-1]) == len(rows[0])
    dashboard = cora.get("/staff/dashboard").get_data(as_text=True)
    assert 'id="left-out"' in dashboard
    assert DASHBOARD_NOTE in dashboard
    assert NOTE in cora.get("/staff/reports").get_data(as_text=True)


@pytest.mark.integration
def test_the_figures_of_a_coordinator_in_conflict_count_the_other_partner_alone(partners):
    """Every count on the dashboard leaves A out: its active alliance, its reports' timing,
    the people it reached, its proposal."""
    with database.transaction() as session:

        def dashboard(person: Any) -> figures.Dashboard:
            return figures.dashboard(
                session,
                acting=person,
                now=datetime(2026, 6, 2, tzinfo=UTC),
                rules=rules_from_settings(),
                divisions=["construction_safety_health", "general_industry_safety_health"],
            )

        everything = dashboard(CORA)
        without_a = dashboard(acting("cory@agency.example", "coordinator", conflicts=[ROOFERS]))
    assert everything.active_by_division == [
        ("construction_safety_health", 1),
        ("general_industry_safety_health", 1),
    ]
    assert without_a.active_by_division == [
        ("construction_safety_health", 0),
        ("general_industry_safety_health", 1),
    ]
    # A and B owe the same reports on the same days and submitted alike: half the counts.
    assert everything.timing_by_year
    assert {year: dict(counts) for year, counts in everything.timing_by_year.items()} == {
        year: {kind: 2 * count for kind, count in counts.items()}
        for year, counts in without_a.timing_by_year.items()
    }
    assert [(p.year, p.emphasis_area, p.reached, p.trained) for p in without_a.people] == [
        (2024, "heat", 577, 0),
        (2025, "", 0, 3),
    ]
    assert dict(everything.proposals_by_status)["submitted"] == 2
    assert dict(without_a.proposals_by_status)["submitted"] == 1
    assert [state for state, _counts in without_a.proposals_by_state] == ["OH"]
    assert not everything.left_out
    assert (without_a.left_out.alliances, without_a.left_out.proposals) == (1, 1)
    assert without_a.left_out.note == DASHBOARD_NOTE


@pytest.mark.integration
def test_without_a_conflict_the_csv_has_no_note_row(partners):
    rows = csv_rows(signed_in(create_app({"TESTING": True}), CORA), "/staff/activities.csv")
    assert not any(row[0].startswith("Note:") for row in rows)
    assert len(rows) == 1 + 2 * 4  # each partner's report: four activity rows


# identity -> read path -> what they get: "403", the partners shown, "+ note" when the read
# said a declared conflict left something out. The rules of who may open what are
# reporting's: the exports and the work list for liaisons (their own alliances) and the
# Coordinator (all), the dashboard for the Coordinator, an alliance's evaluation and its
# reports (the API) for any staff member; a declared conflict hides the partner from anyone.
MATRIX: dict[str, dict[str, str]] = {
    # Whoever holds A's signed report link (the partner) has it and no staff page or API.
    "holder of A's report link": {
        "reports.csv": "sign in",
        "activities.csv": "sign in",
        "evaluation of A": "sign in",
        "evaluation of B": "sign in",
        "dashboard": "sign in",
        "work list": "sign in",
        "reports API of A": "sign in",
        "reports API of B": "sign in",
    },
    "reviewer": {
        "reports.csv": "403",
        "activities.csv": "403",
        "evaluation of A": "A",
        "evaluation of B": "B",
        "dashboard": "403",
        "work list": "403",
        "reports API of A": "A",
        "reports API of B": "B",
    },
    "liaison of A": {
        "reports.csv": "A",
        "activities.csv": "A",
        "evaluation of A": "A",
        "evaluation of B": "B",
        "dashboard": "403",
        "work list": "A",
        "reports API of A": "A",
        "reports API of B": "B",
    },
    "liaison of B": {
        "reports.csv": "B",
        "activities.csv": "B",
        "evaluation of A": "A",
        "evaluation of B": "B",
        "dashboard": "403",
        "work list": "B",
        "reports API of A": "A",
        "reports API of B": "B",
    },
    "Coordinator": {
        "reports.csv": "A B",
        "activities.csv": "A B",
        "evaluation of A": "A",
        "evaluation of B": "B",
        "dashboard": "A B",
        "work list": "A B",
        "reports API of A": "A",
        "reports API of B": "B",
    },
    "Coordinator in conflict with A": {
        "reports.csv": "B + note",
        "activities.csv": "B + note",
        "evaluation of A": "403",
        "evaluation of B": "B",
        "dashboard": "B + note",
        "work list": "B + note",
        "reports API of A": "403",
        "reports API of B": "B",
    },
    "liaison of A in conflict with A": {
        "reports.csv": "- + note",
        "activities.csv": "- + note",
        "evaluation of A": "403",
        "evaluation of B": "B",
        "dashboard": "403",
        "work list": "- + note",
        "reports API of A": "403",
        "reports API of B": "B",
    },
}


@pytest.mark.integration
def test_each_identity_reads_exactly_what_is_theirs(partners):
    in_conflict = acting("cory@agency.example", "coordinator", name="Cory Coordinator")
    own_conflict = acting(
        "lou@agency.example", "liaison", staff_id=uuid.uuid4(), name="Lou Liaison"
    )
    people = {
        "reviewer": REVIEWER,
        "liaison of A": acting_as(LIAISON),
        "liaison of B": acting_as(OTHER_LIAISON),
        "Coordinator": CORA,
        "Coordinator in conflict with A": in_conflict,
        "liaison of A in conflict with A": own_conflict,
    }
    declare_conflict(in_conflict)
    declare_conflict(own_conflict, "michigan roofing contractors ASSOCIATION")
    # Lou is A's liaison too (reporting's copy names the liaison by id or e-mail).
    with database.transaction() as session:
        alliance = session.get(Alliance, partners["A"].alliance_id)
        assert alliance is not None
        alliance.liaison = {**alliance.liaison, "id": str(own_conflict.staff_id)}
    app = create_app({"TESTING": True})
    every = paths(partners)
    got = {
        who: {name: read(signed_in(app, person), partners, path) for name, path in every.items()}
        for who, person in people.items()
    }
    holder = app.test_client()
    own_report = holder.get(f"/reports/{tokens.make_token(partners['A'].report_id)}")
    assert own_report.status_code == 200
    assert "fact sheet" in own_report.text
    got["holder of A's report link"] = {
        name: read(holder, partners, path) for name, path in every.items()
    }
    assert got == MATRIX


@pytest.mark.integration
def test_a_proposal_known_only_from_a_decision_is_left_out_too(clean_databases, redis_client):
    """Reporting learns the applicant's name from a decision as well as from a submission."""
    declined = new_event(
        "proposal.declined",
        producer="review",
        payload={
            "proposal_id": uuid.uuid4(),
            "reference": "AP-2026-99999",
            "version": 1,
            "contact_email": "pat@roofers.example",
            "organization_name": ROOFERS,
            "reason": "Out of scope.",
            "decided_at": datetime(2026, 6, 1, tzinfo=UTC),
        },
    )
    run_reporting_task("reporting.proposal_declined", declined)
    with database.transaction() as session:
        seen = proposals.readable(session, acting=CORA)
        hidden = proposals.readable(
            session, acting=acting("cory@agency.example", "coordinator", conflicts=[ROOFERS])
        )
    assert ([p.reference for p in seen[0]], seen[1]) == (["AP-2026-99999"], 0)
    assert (hidden[0], hidden[1]) == ([], 1)


ROOFERS_LEFT_OUT = "Michigan Roofing Contractors Association"


def acting_left_out(*conflicts: str) -> Acting:
    return Acting(
        staff_id=uuid.uuid4(),
        email="cora@agency.example",
        roles=frozenset({"coordinator"}),
        conflicts=frozenset(organization_key(name) for name in conflicts),
    )


IN_CONFLICT = acting_left_out(ROOFERS_LEFT_OUT)


def alliance(name: str) -> Alliance:
    return Alliance(
        id=uuid.uuid4(),
        reference="AP-2026-00001",
        partner_name=name,
        signing_date=date(2024, 1, 15),
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("left_out", "note"),
    [
        (LeftOut(), ""),
        (LeftOut(alliances=1), "1 alliance left out because you declared a conflict of interest."),
        (LeftOut(alliances=2), "2 alliances left out because you declared a conflict of interest."),
        (LeftOut(proposals=3), "3 proposals left out because you declared a conflict of interest."),
        (
            LeftOut(alliances=1, proposals=2),
            "1 alliance and 2 proposals left out because you declared a conflict of interest.",
        ),
    ],
)
def test_the_note_says_how_much_was_left_out(left_out, note):
    assert left_out.note == note
    assert bool(left_out) is bool(note)


@pytest.mark.unit
def test_a_conflict_hides_the_partner_whatever_the_spelling_of_its_name():
    assert hidden_from(IN_CONFLICT, "michigan  roofing contractors ASSOCIATION.")
    assert not hidden_from(IN_CONFLICT, "Other Builders")
    assert not hidden_from(acting_left_out(), ROOFERS_LEFT_OUT)


@pytest.mark.unit
def test_a_read_of_one_hidden_alliance_is_refused_naming_no_partner():
    with pytest.raises(Forbidden) as refused:
        check_may_read(IN_CONFLICT, alliance(ROOFERS_LEFT_OUT))
    assert "Roofing" not in str(refused.value)
    check_may_read(IN_CONFLICT, alliance("Other Builders"))  # no refusal


@pytest.mark.unit
def test_a_read_of_many_keeps_the_others_and_counts_the_hidden():
    roofers, others = alliance(ROOFERS_LEFT_OUT), alliance("Other Builders")
    readable = readable_alliances(IN_CONFLICT, [roofers, others])
    assert readable.shows(others)
    assert not readable.shows(roofers)
    assert readable.left_out == LeftOut(alliances=1)


@pytest.mark.unit
def test_the_csv_note_row_is_as_wide_as_the_header_and_formula_safe():
    assert note_row(LeftOut(), 4) == []
    [row] = note_row(LeftOut(alliances=1), 4)
    assert row == [
        "Note: 1 alliance left out because you declared a conflict of interest.",
        "",
        "",
        "",
    ]
    assert not row[0].startswith(("=", "+", "-", "@"))
