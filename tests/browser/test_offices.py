"""Offices in a browser (issue: every office): a Region V coordinator signs in and sees only
Region V's queue, alliances, reports, figures and messages; the national coordinator sees every
region, rolled up on the dashboard; an overdue report of an area office under Region V
escalates to Region V's coordinator, one of Region VI to the national one (Region VI has no
coordinator of its own).

Review, reporting and notify are the real apps (live servers, one sign-in for all); the
program is made through their domain functions and consumers, with events carried between
them as their workers would. Screenshots of the dashboards go to ``$OFFICE_SCREENSHOTS`` when
it is set."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

import services.notify.tasks
from services.notify import create_app as notify_app
from services.notify.models import Message
from services.notify.worker import database as notify_database
from services.reporting import create_app as reporting_app
from services.reporting.models import OutboxEvent as ReportingOutbox
from services.reporting.reports import domain as reports
from services.reporting.worker import database as reporting_database
from services.reporting.worker import outbox as reporting_outbox
from services.review import create_app as review_app
from services.review.alliances.models import Alliance
from services.review.base import OutboxEvent as ReviewOutbox
from services.review.staff import domain as accounts
from services.review.worker import database as review_database
from shared.db import utcnow
from shared.events import new_event, parse_event
from shared.staff_auth import COOKIE_NAME
from tests.browser_harness import assert_accessible, watch_errors
from tests.intake.factories import proposal, submitted_event
from tests.reporting.factories import run_reporting_task
from tests.review.factories import (
    LIAISON,
    agency_today,
    prepared_decision,
    queued_proposal,
    record_signing,
    release_decisions,
    staff_member,
)
from tests.shared.factories import acting, staff_session

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

# (organization, office, level)
PROPOSALS = [
    ("Lansing Roofers", "area_lansing", "area_office"),
    ("Chicago Framers", "region_5", "regional_office"),
    ("Dallas Welders", "area_dallas", "area_office"),
    ("Toledo Glaziers", "area_toledo", "area_office"),
]
SIGNED = ("Lansing Roofers", "Dallas Welders", "Toledo Glaziers")


def consume_in_notify(message: dict[str, Any]) -> None:
    name = {
        "staff.coordinators_changed": "notify.coordinators_changed",
        "proposal.submitted": "notify.proposal_submitted",
    }.get(message["type"]) or f"notify.{message['type'].split('.', 1)[1].replace('.', '_')}"
    if message["type"].startswith("report."):
        name = "notify.report_" + message["type"].split(".", 1)[1]
    services.notify.tasks.celery.tasks[name](event=message)


def build_program() -> dict[str, Any]:
    """Two coordinators (national, Region V), four proposals, three signed alliances in
    June 2025 with their reports overdue by now, and every message notify records of them."""
    with review_database.transaction() as session:
        nia = staff_member(
            "nia@agency.example", "coordinator", name="Nia National", session=session
        )
        rex = staff_member("rex@agency.example", "coordinator", name="Rex Region", session=session)
        rex.office = "region_5"
        session.flush()
        people = {
            "nia": acting(nia.email, "coordinator", staff_id=nia.id, name=nia.name),
            "rex": acting(
                rex.email, "coordinator", staff_id=rex.id, name=rex.name, office="region_5"
            ),
        }
        announced = accounts.coordinators_changed_event_payload(session)
    consume_in_notify(
        new_event("staff.coordinators_changed", producer="review", payload=announced).to_message()
    )
    references, alliance_ids = {}, {}
    for name, office, level in PROPOSALS:
        data = proposal(name, requested_division=level)
        data["requested_office"] = office
        event = submitted_event(data)
        references[name] = event.payload["reference"]
        queued_proposal(event)
        consume_in_notify(event.to_message())
        run_reporting_task("reporting.proposal_submitted", event)
        if name not in SIGNED:
            continue
        details = {"division": level, "liaison_id": str(LIAISON.id)}
        with review_database.transaction() as session:
            decision = prepared_decision(
                event.payload["proposal_id"], "approved", details, by=people["nia"], session=session
            )
            release_decisions(decision.id, by=people["nia"], session=session)
            alliance = session.scalars(
                select(Alliance).where(Alliance.proposal_id == event.payload["proposal_id"])
            ).one()
            alliance_ids[name] = alliance.id
            alliance.created_at = alliance.created_at.replace(year=2025, month=6, day=1)
            record_signing(
                alliance.id,
                date(2025, 6, 1),
                by=people["nia"],
                today=agency_today(),
                session=session,
            )
    with review_database.transaction() as session:
        signed = [
            row.message
            for row in session.scalars(
                select(ReviewOutbox).where(ReviewOutbox.type == "alliance.signed")
            )
        ]
    for message in signed:
        run_reporting_task("reporting.alliance_signed", parse_event(message))
    with reporting_database.transaction() as session:
        reports.sweep(session, now=utcnow(), outbox=reporting_outbox)
    with reporting_database.transaction() as session:
        reminders = [
            row.message
            for row in session.scalars(select(ReportingOutbox).order_by(ReportingOutbox.id))
            if row.type.startswith("report.")
        ]
    for message in reminders:
        consume_in_notify(message)
    return {"people": people, "references": references, "alliances": alliance_ids}


@pytest.fixture
def sites(
    monkeypatch: pytest.MonkeyPatch, live_server: Callable[[Any], str], redis_client: Any
) -> dict[str, str]:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    return {
        "review": live_server(review_app({"TESTING": False})),
        "reporting": live_server(reporting_app({"TESTING": False})),
        "notify": live_server(notify_app({"TESTING": False})),
    }


def sign_in(page: Page, sites: dict[str, str], person: Any) -> None:
    # One cookie for every service: they share the host (the port does not count for cookies).
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": COOKIE_NAME, "value": staff_session(person), "url": sites["review"]}]
    )


def shown(page: Page, url: str) -> str:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    return page.inner_text("main")


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("OFFICE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_region_s_coordinator_sees_the_region_and_the_national_one_every_region(
    page: Page, sites: dict[str, str]
) -> None:
    errors = watch_errors(page)
    program = build_program()
    rex, nia = program["people"]["rex"], program["people"]["nia"]
    refs = program["references"]

    sign_in(page, sites, rex)
    queue = shown(page, sites["review"] + "/staff/queue?status=waiting&status=approved")
    assert "Chicago Framers" in queue
    assert "Dallas Welders" not in queue
    alliances = shown(page, sites["review"] + "/staff/alliances")
    assert "Lansing Roofers" in alliances
    assert "Toledo Glaziers" in alliances
    assert "Dallas Welders" not in alliances
    assert "Lansing Area Office" in alliances
    work = shown(page, sites["reporting"] + "/staff/reports")
    assert "Toledo Glaziers" in work
    assert "Dallas Welders" not in work
    figures = shown(page, sites["reporting"] + "/staff/dashboard")
    office_table = page.inner_text("#office-table")
    assert "Region V (Chicago) (with every office under it)\t2" in office_table
    assert "Lansing Area Office\t1" in office_table
    assert "Region VI" not in figures
    # Its proposals only: Lansing's, Chicago's and Toledo's, not Dallas's.
    assert "Submitted (in review)\t3" in page.inner_text("#proposals-by-status")
    assert_accessible(page, context_label="a region's dashboard")
    screenshot(page, "dashboard-region-v")
    log = shown(page, sites["notify"] + "/staff/log")
    assert refs["Lansing Roofers"] in log
    assert refs["Toledo Glaziers"] in log
    assert refs["Dallas Welders"] not in log
    # Another region's alliance, opened by its address, is refused with the office's name.
    dallas = program["alliances"]["Dallas Welders"]
    refused = page.goto(f"{sites['review']}/staff/alliances/{dallas}")
    assert refused is not None
    assert refused.status == 403
    assert "belongs to Dallas Area Office, outside Region V (Chicago)" in page.inner_text("main")
    assert errors == [
        "console: Failed to load resource: the server responded with a status of 403 (FORBIDDEN)"
    ]
    errors.clear()

    sign_in(page, sites, nia)
    figures = shown(page, sites["reporting"] + "/staff/dashboard")
    office_table = page.inner_text("#office-table")
    assert "National Office (with every office under it)\t3" in office_table
    assert "Region V (Chicago)\t2" in office_table
    assert "Region VI (Dallas)\t1" in office_table
    assert "Submitted (in review)\t4" in page.inner_text("#proposals-by-status")
    assert_accessible(page, context_label="the national dashboard")
    screenshot(page, "dashboard-national")
    page.get_by_role("link", name="Region V (Chicago)").click()
    assert "Lansing Area Office\t1" in page.inner_text("#office-table")
    log = shown(page, sites["notify"] + "/staff/log")
    assert all(refs[name] in log for name in SIGNED)
    assert errors == []

    # The escalations: Toledo's (under Region V) to Rex, Dallas's (Region VI has no
    # coordinator) to Nia.
    with notify_database.transaction() as session:
        escalated = {
            (m.reference, m.to_address)
            for m in session.scalars(select(Message).where(Message.template == "report_escalated"))
        }
    assert (refs["Toledo Glaziers"], "rex@agency.example") in escalated
    assert (refs["Dallas Welders"], "nia@agency.example") in escalated
    assert {address for ref, address in escalated if ref == refs["Toledo Glaziers"]} == {
        "rex@agency.example"
    }
