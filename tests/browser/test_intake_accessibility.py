"""The intake service's public pages in headless Chromium, served by the real app (CSRF on).

axe-core checks every page and state an applicant meets against WCAG 2.1 AA and Section 508:
the empty form, the form with errors, the form after adding a goal, the saved draft, the
confirmation, the status page (also with changes requested), the edit page and the page for
a bad link. Then a keyboard-only applicant fills in and submits the whole form, walking the
real tab order, and saves a draft, with nothing but key presses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from services.intake import create_app, proposals
from services.intake.models import Proposal
from services.intake.schemas import ProposalInputSchema
from services.intake.tasks import changes_requested, message_sent
from services.intake.tokens import make_token
from services.intake.worker import database, outbox
from shared.agency import GOAL_CATEGORIES
from shared.config import load_agency_profile, load_settings
from shared.events import new_event
from shared.testing import example_proposal
from tests.browser_harness import assert_accessible, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_databases")]

REFERENCE = re.compile(r"\bAP-\d{4}-\d{5}\b")

# What document.activeElement is: its id, or for an element without one (buttons, links)
# its tag and text; and whether it is one of the things only bots should meet.
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) { return {key: "body", hidden: false}; }
    const text = (el.textContent || "").replace(/\\s+/g, " ").trim();
    return {
        key: el.id || `${el.tagName.toLowerCase()}: ${text}`,
        hidden: el.matches(".apm-default-button")
            || el.closest(".apm-trap, [aria-hidden=true]") !== null,
    };
}"""


@pytest.fixture
def base_url(live_server: Callable[[Any], str], redis_client: Any) -> str:
    # TESTING off and CSRF on: the browser carries the token like anyone's would.
    return live_server(create_app({"TESTING": False}))


@pytest.fixture
def js_errors(page: Page) -> Iterator[list[str]]:
    errors = watch_errors(page)
    pages_with_errors: list[int] = []  # 404 and 422 pages are meant; Chromium logs each one
    page.on(
        "response",
        lambda r: (
            pages_with_errors.append(r.status)
            if r.status >= 400 and r.request.resource_type == "document"
            else None
        ),
    )
    yield errors
    unexplained = list(errors)
    for status in pages_with_errors:
        logged = (
            f"console: Failed to load resource: the server responded with a status of {status} "
        )
        for error in unexplained:
            if error.startswith(logged):
                unexplained.remove(error)
                break
    assert unexplained == [], "the page raised JavaScript errors"


def focused(page: Page) -> str:
    where: dict[str, Any] = page.evaluate(FOCUSED)
    assert not where["hidden"], f"keyboard focus reached {where['key']}, hidden from people"
    return str(where["key"])


def problems(page: Page) -> str:
    """The error summary's text, once the page that answered shows it."""
    summary = page.locator("#error-summary")
    try:
        summary.wait_for(timeout=5_000)
    except PlaywrightTimeoutError:
        return "(no error summary)"
    return summary.inner_text()


def submit_button(page: Page, label: str) -> Any:
    return page.get_by_role("button", name=label, exact=True)


def submitted_proposal() -> tuple[uuid.UUID, str]:
    """A proposal submitted straight through intake's own code; its id and status token."""
    with database.transaction() as session:
        proposal = proposals.submit_proposal(
            session,
            data=ProposalInputSchema().load(example_proposal()),
            settings=load_settings(),
            outbox=outbox,
        )
        return proposal.id, make_token("status", proposal.id)


def request_changes(proposal_id: uuid.UUID, message: str) -> None:
    changes_requested(
        event=new_event(
            "proposal.changes_requested",
            producer="review",
            payload={
                "proposal_id": proposal_id,
                "reference": "AP-2026-00001",
                "contact_email": "dana@example.org",
                "version": 1,
                "message": message,
                "requested_at": datetime.now(UTC),
            },
        ).to_message()
    )


def record_receipt(proposal_id: uuid.UUID) -> None:
    message_sent(
        event=new_event(
            "message.sent",
            producer="notify",
            payload={
                "message_id": uuid.uuid4(),
                "proposal_id": proposal_id,
                "template": "proposal_received",
                "subject": "We received your alliance proposal",
                "to_address": "dana@example.org",
                "sent_at": datetime.now(UTC),
            },
        ).to_message()
    )


# axe-core on every page and state


def test_the_empty_form_is_accessible(page: Page, base_url: str, js_errors: list[str]) -> None:
    response = page.goto(f"{base_url}/apply")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Propose an alliance"))
    results = assert_accessible(page, context_label="the empty proposal form")
    assert len(results["passes"]) > 20  # axe really looked at the page

    page.locator(".usa-banner__button").click()
    expect(page.locator("#gov-banner")).to_be_visible()
    assert_accessible(page, context_label="the empty proposal form, banner open")


def test_the_form_with_errors_is_accessible_and_its_summary_leads_to_each_field(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    page.goto(f"{base_url}/apply")
    submit = submit_button(page, "Submit proposal")

    # With the browser's own checks, an empty form never leaves: focus goes to the first field.
    submit.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#organization-name")).to_be_focused()
    assert page.url == f"{base_url}/apply"
    assert page.locator("#error-summary").count() == 0

    # Without them (an older browser, or a field the browser cannot judge) the server answers.
    page.evaluate("document.querySelector('form[data-submit-once]').noValidate = true")
    submit.focus()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 422

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()  # keyboard and screen-reader users start at the summary
    assert summary.get_attribute("role") == "alert"
    assert_accessible(page, context_label="the proposal form with errors")

    links = summary.get_by_role("link")
    targets = [str(link.get_attribute("href")) for link in links.all()]
    expected = {
        "#organization-name",
        "#organization-type",
        "#organization-address-street",
        "#organization-address-city",
        "#organization-address-state",
        "#organization-address-zip",
        "#contact-name",
        "#contact-phone",
        "#contact-email",
        "#goals-0-description",
        "#goals-0-term",
        "#goals-0-measure",
        "#requested-division",
    }
    assert set(targets) == expected, "the summary names exactly the required fields left empty"
    assert len(targets) == len(expected)
    expect(summary.get_by_role("heading")).to_have_text(f"There are {len(expected)} problems")
    for target in targets:
        # Each one is shown next to its field too, and the field (or group) points to it.
        expect(page.locator(f"{target}-error")).to_be_visible()
        described = page.locator(f"{target}-fieldset")
        if described.count() == 0:
            described = page.locator(target)
            expect(described).to_have_attribute("aria-invalid", "true")
        assert f"{target[1:]}-error" in (described.get_attribute("aria-describedby") or "")

    # Tab from the summary reaches its first link; Enter moves focus to that field.
    page.keyboard.press("Tab")
    assert focused(page) == "a: Organization name: Enter 1 to 200 characters."
    page.keyboard.press("Enter")
    expect(page.locator("#organization-name")).to_be_focused()
    assert page.evaluate("location.hash") == "#organization-name"

    # A link to a radio group lands on its first option.
    summary.locator('a[href="#requested-division"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#requested-division")).to_be_focused()


def test_the_form_after_adding_a_goal_is_accessible(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    page.goto(f"{base_url}/apply")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        submit_button(page, "Add a training and education goal").click()
    assert answer.value.status == 200

    # The new goal's first field has focus, inside the training and education group.
    description = page.locator("#goals-1-description")
    expect(description).to_be_focused()
    group = page.locator("#goals-training-education")
    expect(group.locator("legend").first).to_have_text("Training and education: goal 1")
    expect(submit_button(page, "Add another training and education goal")).to_be_visible()
    assert page.locator("#error-summary").count() == 0
    assert_accessible(page, context_label="the proposal form after adding a training goal")


def test_the_saved_draft_is_accessible(page: Page, base_url: str, js_errors: list[str]) -> None:
    page.goto(f"{base_url}/apply")
    page.locator("#organization-name").fill("Half-done Roofers")
    page.locator("#contact-email").fill("dana@example.org")
    submit_button(page, "Save draft").click()
    page.wait_for_url(re.compile(r"/apply/resume/[^/?]+\?saved=1$"))

    notice = page.get_by_role("status")
    expect(notice).to_contain_text("Draft saved. We e-mailed a link to dana@example.org")
    expect(page.locator("#organization-name")).to_have_value("Half-done Roofers")
    assert_accessible(page, context_label="the form with a saved draft")


def test_confirmation_status_and_edit_pages_are_accessible(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    proposal_id, token = submitted_proposal()
    record_receipt(proposal_id)

    page.goto(f"{base_url}/apply/confirmation/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal submitted")
    expect(page.get_by_role("status")).to_contain_text(REFERENCE)
    assert_accessible(page, context_label="the confirmation page")

    page.get_by_role("link", name="See your proposal's status").click()
    page.wait_for_url(f"{base_url}/status/{token}")
    expect(page.get_by_text("Submitted: waiting for review").first).to_be_visible()
    expect(page.get_by_text("We received your alliance proposal")).to_be_visible()
    assert_accessible(page, context_label="the status page")

    request_changes(proposal_id, "Please name the conferences you will attend.")
    page.reload()
    expect(page.get_by_role("heading", name="The agency asked for changes")).to_be_visible()
    expect(page.get_by_text("Please name the conferences you will attend.").first).to_be_visible()
    assert_accessible(page, context_label="the status page with changes requested")

    page.get_by_role("link", name="Edit and resubmit").click()
    page.wait_for_url(f"{base_url}/status/{token}/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit and resubmit your proposal")
    expect(page.locator("#organization-name")).to_have_value(
        "Michigan Roofing Contractors Association"
    )
    expect(submit_button(page, "Resubmit proposal")).to_be_visible()
    asked = page.get_by_role("heading", name="What the agency asked you to change")
    expect(asked).to_be_visible()
    expect(page.locator("#changes-requested")).to_contain_text(
        "Please name the conferences you will attend."
    )
    assert_accessible(page, context_label="the edit and resubmit page")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, context_label="the edit and resubmit page at 390 px")


def test_the_page_for_a_bad_link_is_accessible(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    response = page.goto(f"{base_url}/status/bogus")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text("This link is not valid")).to_be_visible()
    assert_accessible(page, context_label="the message page for a bad link")


# The keyboard alone


class KeyboardUser:
    """Presses keys and checks, after every Tab, which element has focus."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.keys = page.keyboard
        self.path: list[str] = []  # every element Tab or Shift+Tab reached, in order

    def tab(self, expected: str, *, back: bool = False) -> None:
        self.keys.press("Shift+Tab" if back else "Tab")
        where = focused(self.page)
        self.path.append(where)
        assert where == expected, f"Tab reached {where!r}, expected {expected!r}"

    def type_in(self, field_id: str, text: str) -> None:
        self.tab(field_id)
        self.keys.type(text)
        expect(self.page.locator(f"#{field_id}")).to_have_value(text)

    def choose_in_select(self, field_id: str, typed: str, value: str) -> None:
        self.tab(field_id)
        self.keys.type(typed)  # a closed <select> selects the option whose text starts so
        expect(self.page.locator(f"#{field_id}")).to_have_value(value)

    def tick(self, group_id: str, options: dict[str, str], chosen: set[str]) -> None:
        """Tab through a checkbox group, pressing Space on the chosen options."""
        for position, slug in enumerate(options, start=1):
            option_id = group_id if position == 1 else f"{group_id}-{position}"
            self.tab(option_id)
            if slug in chosen:
                self.keys.press("Space")
            checkbox = self.page.locator(f"#{option_id}")
            if slug in chosen:
                expect(checkbox).to_be_checked()
            else:
                expect(checkbox).not_to_be_checked()

    def tab_until(self, expected: str, *, limit: int = 150) -> None:
        for _ in range(limit):
            self.keys.press("Tab")
            where = focused(self.page)
            self.path.append(where)
            if where == expected:
                return
        raise AssertionError(f"{limit} presses of Tab never reached {expected!r}")


def option_id(group_id: str, options: dict[str, str], slug: str) -> str:
    position = list(options).index(slug) + 1
    return group_id if position == 1 else f"{group_id}-{position}"


def add_goal_button(category: str, *, another: bool = False) -> str:
    return f"button: Add {'another' if another else 'a'} {GOAL_CATEGORIES[category].lower()} goal"


def remove_goal_button(category: str, number: int) -> str:
    return f"button: Remove {GOAL_CATEGORIES[category].lower()} goal {number}"


def start_at_main(page: Page) -> KeyboardUser:
    """Tab once to the skip link and follow it, as a keyboard user would, then past the
    introduction's link to the alliance directory."""
    user = KeyboardUser(page)
    user.tab("a: Skip to main content")
    page.keyboard.press("Enter")
    expect(page.locator("#main-content")).to_be_focused()
    user.tab("apply-directory")
    return user


def test_the_whole_form_can_be_filled_in_and_submitted_with_the_keyboard_alone(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    profile = load_agency_profile()
    assert list(profile.goal_categories)[:2] == ["awareness", "training_education"]
    page.goto(f"{base_url}/apply")
    user = start_at_main(page)
    keys = page.keyboard

    # 1. The organization. The hidden default button and the bots' field come first in the
    # markup, yet Tab goes past them straight to the first field.
    user.type_in("organization-name", "Great Lakes Roofing Alliance")
    user.choose_in_select("organization-type", "Labor", "labor_organization")
    user.type_in("organization-address-street", "200 Ottawa St")
    user.type_in("organization-address-city", "Lansing")
    user.choose_in_select("organization-address-state", "MI", "MI")
    user.type_in("organization-address-zip", "48933")
    user.type_in("organization-website", "https://roofers.example.org")
    user.type_in("organization-workers-reached", "4200")
    user.type_in("organization-industry", "Roofing contractors")
    user.type_in("organization-naics", "238160")

    # 2. The contact person.
    user.type_in("contact-name", "Dana Smith")
    user.type_in("contact-title", "Safety Director")
    user.type_in("contact-phone", "517-555-0100")
    user.type_in("contact-email", "dana@example.org")
    user.type_in("contact-fax", "517-555-0101")
    # The language of our messages: one stop, English already chosen (the page's language).
    user.tab("contact-language")
    expect(page.locator("#contact-language")).to_be_checked()

    # 3. Hazards.
    user.tick("hazards", profile.hazards, {"falls", "heat"})
    user.type_in("hazards-other", "Falls through skylights")

    # 4. Goals: the groups come in the program's order. Add a training and education goal.
    user.tab(add_goal_button("awareness"))
    user.tab(add_goal_button("training_education"))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        keys.press("Enter")
    assert answer.value.status == 200
    # The page comes back with everything typed so far, focus on the new goal.
    expect(page.locator("#goals-1-description")).to_be_focused()
    expect(page.locator("#organization-name")).to_have_value("Great Lakes Roofing Alliance")
    expect(page.locator("#organization-type")).to_have_value("labor_organization")
    expect(page.locator("#hazards-other")).to_have_value("Falls through skylights")

    keys.type("Train 300 roofers in fall protection")
    user.tab("goals-1-term")
    keys.press("ArrowDown")  # arrows move within a radio group, and choose
    expect(page.locator("#goals-1-term-2")).to_be_focused()
    expect(page.locator("#goals-1-term-2")).to_be_checked()
    user.tick("goals-1-activities", profile.activities, {"develop_training", "promote_training"})
    user.type_in("goals-1-activities-other", "Classes in Spanish")
    user.type_in("goals-1-measure", "Workers trained")
    user.tab(remove_goal_button("training_education", 1))
    user.tab(add_goal_button("training_education", another=True))

    user.type_in("goals-0-description", "Publish fall-protection toolbox talks to members")
    user.tab("goals-0-term")
    keys.press("Space")
    expect(page.locator("#goals-0-term")).to_be_checked()
    user.tick(
        "goals-0-activities", profile.activities, {"mailing_lists", "disseminate_information"}
    )
    user.tab("goals-0-activities-other")  # optional: left empty
    user.type_in("goals-0-measure", "Members reached")
    user.tab(remove_goal_button("outreach_communication", 1))
    user.tab(add_goal_button("outreach_communication", another=True))

    # 5. Priority.
    user.tick("priority-priority-areas", profile.priority_areas, {"falls"})
    user.type_in("priority-emerging-issue", "Rooftop solar installation")
    user.tab("priority-expertise-gap")  # optional: left empty

    # 6. The lead: the radio group is one stop; arrows choose within it.
    user.tab("requested-division")
    lead = option_id("requested-division", profile.divisions, "construction_safety_health")
    for _ in range(list(profile.divisions).index("construction_safety_health")):
        keys.press("ArrowDown")
    expect(page.locator(f"#{lead}")).to_be_focused()
    expect(page.locator(f"#{lead}")).to_be_checked()
    user.type_in("existing-relationship", "MIOSHA CET grant, 2022")

    # The buttons, then out of the form; back to Submit.
    user.tab("button: Submit proposal")
    user.tab("button: Save draft")
    user.tab("a: Return to top")
    user.tab("button: Save draft", back=True)
    user.tab("button: Submit proposal", back=True)

    assert "contact-nickname" not in user.path
    assert not any(stop in ("button: Submit", "body") for stop in user.path)
    assert len(user.path) == len(set(user.path)) + 2  # only the last two steps went back

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        keys.press("Enter")
    assert answer.value.status == 303, f"the form was refused: {problems(page)}"
    page.wait_for_url(re.compile(r"/apply/confirmation/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal submitted")
    reference_text = page.get_by_role("status").locator("strong").inner_text()
    assert REFERENCE.fullmatch(reference_text), reference_text

    with database.transaction() as session:
        stored = session.scalars(select(Proposal)).one()
        status, reference, data = stored.status, stored.reference, stored.data
    assert status == "submitted"
    assert reference == reference_text
    assert data["organization"] == {
        "name": "Great Lakes Roofing Alliance",
        "type": "labor_organization",
        "address": {"street": "200 Ottawa St", "city": "Lansing", "state": "MI", "zip": "48933"},
        "website": "https://roofers.example.org",
        "workers_reached": 4200,
        "industry": "Roofing contractors",
        "naics": "238160",
    }
    assert data["contact"] == {
        "name": "Dana Smith",
        "title": "Safety Director",
        "phone": "517-555-0100",
        "email": "dana@example.org",
        "fax": "517-555-0101",
        "language": "en",
    }
    assert data["hazards"] == ["falls", "heat"]
    assert data["hazards_other"] == "Falls through skylights"
    assert data["goals"] == [
        {
            "category": "outreach_communication",
            "term": "short",
            "description": "Publish fall-protection toolbox talks to members",
            "activities": ["mailing_lists", "disseminate_information"],
            "activities_other": "",
            "measure": "Members reached",
        },
        {
            "category": "training_education",
            "term": "long",
            "description": "Train 300 roofers in fall protection",
            "activities": ["develop_training", "promote_training"],
            "activities_other": "Classes in Spanish",
            "measure": "Workers trained",
        },
    ]
    assert data["priority"] == {
        "priority_areas": ["falls"],
        "emerging_issue": "Rooftop solar installation",
        "expertise_gap": "",
    }
    assert data["requested_division"] == "construction_safety_health"
    assert data["existing_relationship"] == "MIOSHA CET grant, 2022"


def test_a_draft_can_be_saved_with_the_keyboard_alone(
    page: Page, base_url: str, js_errors: list[str]
) -> None:
    page.goto(f"{base_url}/apply")
    user = start_at_main(page)
    user.type_in("organization-name", "Half-done Roofers")
    user.tab_until("contact-email")
    page.keyboard.type("dana@example.org")
    user.tab_until("button: Save draft")
    assert user.path[-2] == "button: Submit proposal"

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/apply/resume/[^/?]+\?saved=1$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Draft saved. We e-mailed a link to dana@example.org"
    )
    expect(page.locator("#organization-name")).to_have_value("Half-done Roofers")
    expect(page.locator("#contact-email")).to_have_value("dana@example.org")
    with database.transaction() as session:
        assert session.scalars(select(Proposal.status)).one() == "draft"


def test_the_spanish_form_is_in_spanish_and_accessible(page: Page, base_url: str) -> None:
    """The form in Spanish (the switch on every public page, then kept by a cookie): the
    page says lang="es", the English name of the other language says lang="en", and axe
    finds nothing, nor on the same page with every check refused in Spanish."""
    errors = watch_errors(page)
    page.goto(base_url + "/apply")
    page.locator("#language-switch").click()
    page.wait_for_url("**/apply?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Proponga una alianza")
    expect(page.locator("#language-switch")).to_have_attribute("lang", "en")
    assert_accessible(page, context_label="the form in Spanish")
    # USWDS's character counts speak Spanish too, as the count changes.
    goal = page.locator("#goals-0-description")
    status = goal.locator(
        "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' usa-character-count ')][1]"
    ).locator(".usa-character-count__status")
    expect(status).to_have_text("Se permiten 2000 caracteres")
    goal.fill("Charlas")
    expect(status).to_have_text("Quedan 1993 caracteres")
    page.goto(base_url + "/apply")  # the cookie keeps Spanish
    page.evaluate("document.querySelector('form[data-submit-once]').noValidate = true")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Enviar propuesta").click()
    assert answer.value.status == 422
    expect(page.locator("#error-summary")).to_contain_text("Hay ")
    expect(page.locator("#error-summary")).to_contain_text("Escriba de 1 a 200 caracteres.")
    assert page.locator("html").get_attribute("lang") == "es"
    assert_accessible(page, context_label="the form in Spanish with its problems")
    # The 422 itself is logged by the browser; nothing else went wrong.
    assert [e for e in errors if "status of 422" not in e] == []
