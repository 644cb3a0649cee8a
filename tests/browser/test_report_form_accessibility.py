"""The partner's report form in headless Chromium, served by the real reporting app (CSRF
on): axe-core finds no WCAG 2.1 AA / Section 508 violation on the empty form, the form with
errors, the form with added rows, the confirmation and the page for a bad link; then a
keyboard-only partner fills in the report, adds a row and submits it with nothing but key
presses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from services.reporting import create_app
from services.reporting.alliances import domain as alliances
from services.reporting.models import ReportVersion
from services.reporting.reports import domain as reports
from services.reporting.reports.tokens import make_token
from services.reporting.worker import database
from tests.browser_harness import assert_accessible, watch_errors
from tests.factories import alliance_signed_event

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) { return {key: "body", hidden: false}; }
    const text = (el.textContent || "").replace(/\\s+/g, " ").trim();
    return {
        key: el.id || `${el.tagName.toLowerCase()}: ${text}`,
        hidden: el.matches(".apm-default-button") || el.closest("[aria-hidden=true]") !== null,
    };
}"""


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def form_url(base_url: str) -> str:
    event = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
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
        return f"{base_url}/reports/{make_token(first.id)}"


@pytest.fixture
def js_errors(page: Page) -> list[str]:
    return watch_errors(page)


def focused(page: Page) -> str:
    where: dict[str, Any] = page.evaluate(FOCUSED)
    assert not where["hidden"], f"keyboard focus reached {where['key']}, hidden from people"
    return str(where["key"])


class KeyboardUser:
    """Presses Tab through the real tab order until it reaches each wanted element."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.keys = page.keyboard

    def tab_to(self, expected: str, *, limit: int = 80) -> None:
        for _ in range(limit):
            self.keys.press("Tab")
            if focused(self.page) == expected:
                return
        raise AssertionError(f"{limit} presses of Tab never reached {expected!r}")

    def type_in(self, field_id: str, text: str) -> None:
        self.tab_to(field_id)
        self.keys.type(text)
        expect(self.page.locator(f"#{field_id}")).to_have_value(text)

    def choose(self, field_id: str, typed: str, value: str) -> None:
        self.tab_to(field_id)
        self.keys.type(typed)  # a closed <select> selects the option whose text starts so
        expect(self.page.locator(f"#{field_id}")).to_have_value(value)


def test_the_empty_form_is_accessible(page: Page, form_url: str, js_errors: list[str]) -> None:
    page.goto(form_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("report")
    assert_accessible(page, context_label="the empty report form")
    assert js_errors == []


def test_the_form_with_errors_and_with_rows_is_accessible(
    page: Page, form_url: str, js_errors: list[str]
) -> None:
    page.goto(form_url)
    page.fill("#outreach-0-event", "Spring safety day")
    page.fill("#outreach-0-number-reached", "many")
    page.get_by_role("button", name="Submit report").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#outreach-0-number-reached-error")).to_be_visible()
    assert_accessible(page, context_label="the report form with errors")

    page.get_by_role("button", name="Add another row: products developed").click()
    expect(page.locator("#products-1-title")).to_be_focused()
    page.get_by_role("button", name="Add another row: implementation team meetings").click()
    expect(page.locator("#meetings-1-date")).to_be_focused()
    expect(page.locator("#outreach-0-event")).to_have_value("Spring safety day")
    assert_accessible(page, context_label="the report form with added rows")

    response = page.goto(form_url + "x")
    assert response is not None
    assert response.status == 404
    assert_accessible(page, context_label="the page for a bad link")
    js_errors.clear()  # Chromium logs the meant 404 and 422 pages


def test_the_report_can_be_filled_in_and_submitted_with_the_keyboard_alone(
    page: Page, form_url: str, js_errors: list[str]
) -> None:
    page.goto(form_url)
    user = KeyboardUser(page)
    user.tab_to("a: Skip to main content")
    page.keyboard.press("Enter")
    user.type_in("meetings-0-date", "2026-02-10")
    user.type_in("meetings-0-topic", "Work plan")
    user.type_in("meetings-0-attendees", "Dana Smith, Lee Park")
    # One more meeting: the "add another row" button, then the new row has focus.
    user.tab_to("button: Add another row: implementation team meetings")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#meetings-1-date")).to_be_focused()
    expect(page.locator("#meetings-0-date")).to_have_value("2026-02-10")
    page.keyboard.type("2026-03-25")
    user.type_in("meetings-1-topic", "Heat campaign")
    user.type_in("meetings-1-attendees", "Dana Smith")

    user.type_in("dissemination-0-type", "Fact sheet")
    user.type_in("dissemination-0-date", "2026-02-20")
    user.type_in("dissemination-0-description", "Fall protection fact sheet")
    user.choose("dissemination-0-emphasis-area", "Falls", "falls")
    user.type_in("dissemination-0-number-reached", "1200")
    user.type_in("outreach-0-date", "2026-03-05")
    user.type_in("outreach-0-event", "Spring roofing safety day")
    user.type_in("outreach-0-city", "Lansing")
    user.choose("outreach-0-state", "MI", "MI")
    user.choose("outreach-0-emphasis-area", "Heat", "heat")
    user.type_in("outreach-0-number-reached", "85")
    user.type_in("staff-training-0-audience", "Compliance officers")
    user.type_in("staff-training-0-number-reached", "12")
    user.type_in("products-0-title", "Ladder safety toolbox talk")
    user.type_in("products-0-description", "A five-minute talk for crews")
    user.type_in("narratives-outreach-communication-results", "Reached 1,297 people.")
    user.tab_to("button: Submit report")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Report submitted")
    assert_accessible(page, context_label="the confirmation of a submitted report")
    with database.transaction() as session:
        (version,) = session.scalars(select(ReportVersion)).all()
        assert version.content["meetings"] == [
            {"date": "2026-02-10", "topic": "Work plan", "attendees": "Dana Smith, Lee Park"},
            {"date": "2026-03-25", "topic": "Heat campaign", "attendees": "Dana Smith"},
        ]
        assert version.content["outreach"][0]["state"] == "MI"
        assert version.content["dissemination"][0]["emphasis_area"] == "falls"
    assert js_errors == []


def test_the_spanish_form_its_errors_and_its_confirmation_are_accessible(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    """A partner whose contact reads Spanish: the form, its refusal and the confirmation in
    Spanish with lang="es", axe finding nothing, and each fitting a 390 px screen."""
    event = alliance_signed_event(
        signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14), language="es"
    )
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
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Informe trimestral")
    assert_accessible(page, context_label="the Spanish report form")

    page.fill("#outreach-0-event", "Día de seguridad")
    page.fill("#outreach-0-number-reached", "muchos")
    page.get_by_role("button", name="Enviar informe").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Escriba un número entero, 0 o mayor.")
    assert_accessible(page, context_label="the Spanish report form with errors")

    page.fill("#outreach-0-event", "")  # an empty row is skipped
    page.fill("#outreach-0-number-reached", "")
    page.fill("#meetings-0-date", "2026-02-10")
    page.fill("#meetings-0-topic", "Plan de trabajo")
    page.fill("#meetings-0-attendees", "Dana Smith, Lee Park")
    page.fill("#narratives-outreach-communication-results", "Llegamos a 40 personas.")
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar informe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Informe enviado")
    expect(page.get_by_role("link", name="Descargar una copia para imprimir")).to_be_visible()
    assert_accessible(page, context_label="the Spanish confirmation")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 390, f"the Spanish confirmation is {scroll} px wide at 390 px"
    js_errors.clear()  # Chromium logs the meant 422 page
