"""The partner's report form in headless Chromium at 1280 and 390 px, with axe on each state:
a meeting's topic and who attended, rows removed by their own "Remove meeting 2" buttons
(by mouse and by keyboard, the focus where the removed row was), the warning while the
report's period still runs and the box that confirms sending it early, then the confirmation
that says it was sent before the period ended."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.models import ReportVersion
from services.reporting.reports import domain as reports
from services.reporting.reports.tokens import make_token
from services.reporting.submissions import views
from services.reporting.worker import database
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import alliance_signed_event

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

WARNING = (
    "This period ends on March 31, 2026: a report sent before then covers only part of the quarter."
)


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def form_url(base_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The first report (January 15 to March 31, 2026) of an alliance with outreach and
    training goals, opened on February 20, 2026: its period still runs."""
    event = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    event.payload["goals"] = [
        {"category": "outreach_communication", "description": "Toolbox talks"},
        {"category": "training_education", "description": "Ladder course"},
    ]
    with database.transaction() as session:
        alliances.record_signed(session, event=event)
        reports.schedule_term(
            session,
            alliance_id=event.payload["alliance_id"],
            term=0,
            signing_date=date(2026, 1, 15),
            ends_on=date(2028, 1, 14),
        )
        first = reports.reports_of(session, alliance_id=event.payload["alliance_id"])[0]
        url = f"{base_url}/reports/{make_token(first.id)}"
    # The live server runs in this process: its form reads this clock.
    monkeypatch.setattr(views, "now", lambda: datetime(2026, 2, 20, 15, tzinfo=UTC))
    return url


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def fill_meeting(page: Page, index: int, day: str, topic: str, attendees: str) -> None:
    page.locator(f"#meetings-{index}-date").fill(day)
    page.locator(f"#meetings-{index}-topic").fill(topic)
    page.locator(f"#meetings-{index}-attendees").fill(attendees)


def add_meeting(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Add another row: implementation team meetings").click()


@pytest.mark.parametrize("width", [1280, 390])
def test_rows_are_removed_and_an_early_report_is_confirmed(
    page: Page, form_url: str, width: int
) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(form_url)
    expect(page.locator("#early-warning")).to_contain_text(WARNING)
    expect(page.get_by_role("group", name="Training and education")).to_be_visible()
    expect(page.get_by_text("Raising awareness")).to_have_count(0)  # not one of its goals
    # A lone empty row has nothing to remove.
    expect(page.get_by_role("button", name="Remove meeting 1")).to_have_count(0)
    assert_accessible(page, context_label=f"the report form while its period runs, {width} px")
    fits(page, width)

    fill_meeting(page, 0, "2026-01-20", "Work plan", "Dana Smith, Lee Park")
    add_meeting(page)
    fill_meeting(page, 1, "2026-02-03", "Wrong meeting", "Nobody")
    add_meeting(page)
    fill_meeting(page, 2, "2026-02-17", "Heat campaign", "Dana Smith (Roofers Association)")
    page.locator("#products-0-title").fill("Ladder safety toolbox talk")
    for number in (1, 2, 3):
        expect(
            page.get_by_role("button", name=f"Remove meeting {number}", exact=True)
        ).to_have_count(1)
    assert_accessible(page, context_label=f"the report form with three meetings, {width} px")
    fits(page, width)

    # The mouse: the second meeting goes, the third takes its place and the focus.
    with page.expect_navigation():
        page.get_by_role("button", name="Remove meeting 2", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Removed meeting 2.")
    expect(page.locator("#meetings-1-date")).to_be_focused()
    expect(page.locator("#meetings-1-topic")).to_have_value("Heat campaign")
    expect(page.locator("#meetings-0-topic")).to_have_value("Work plan")
    expect(page.locator("#meetings-2-date")).to_have_count(0)
    expect(page.locator("#products-0-title")).to_have_value("Ladder safety toolbox talk")
    assert_accessible(page, context_label=f"the report form after a removed row, {width} px")
    fits(page, width)

    # The keyboard: from the focused field, Tab reaches the row's own Remove button.
    add_meeting(page)
    page.locator("#meetings-2-date").fill("2026-02-18")
    page.locator("#meetings-2-date").focus()
    for _ in range(3):  # topic, who attended, then the row's button
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove meeting 3", exact=True)).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#meetings-2-date")).to_have_count(0)
    expect(page.locator("#meetings-1-date")).to_be_focused()

    # Sent while the period runs: refused until the box is ticked.
    page.locator("#outreach-0-event").fill("")  # a fully empty row is left out
    page.locator("#narratives-outreach-communication-results").fill("Reached 85 people.")
    page.locator("#products-0-description").fill("A five-minute talk for crews")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Submit report").click()
    assert answer.value.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Sending before the period ends: Tick the box")
    expect(page.locator("#confirm-early-error")).to_be_visible()
    assert_accessible(page, context_label=f"an early report not confirmed, {width} px")
    fits(page, width)

    summary.get_by_role("link").click()
    expect(page.locator("#confirm-early")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#confirm-early")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report submitted")
    expect(page.get_by_role("status")).to_contain_text(
        "sent before the period ended on March 31, 2026"
    )
    expect(page.get_by_text("Topic: Heat campaign", exact=False)).to_be_visible()
    assert_accessible(page, context_label=f"the confirmation of an early report, {width} px")
    fits(page, width)

    with database.transaction() as session:
        (version,) = session.scalars(select(ReportVersion)).all()
        assert version.sent_early is True
        assert [m["topic"] for m in version.content["meetings"]] == ["Work plan", "Heat campaign"]
    assert [e for e in errors if "422" not in e] == []
