"""One alliance's whole life in a browser, as its four people meet it, over the real processes
(``alliance run``: the web sides, a worker per service, the e-mail going out over SMTP).

The partner proposes (a draft first, resumed from its e-mail); the Coordinator invites a
reviewer and a liaison, who set their own passwords from the invitation; the reviewer approves
and releases; the approval letter is released from Messages; the Coordinator records the
signing as its own step, from which the report calendar starts; a report falls overdue and the
liaison sends the partner a new link from the report's page; the partner reports; the liaison
asks for a revision, which keeps the due date; the partner revises; the liaison accepts; the
partner's page says so. Every e-mail is then checked: who got it, in what order, in English,
linking with words, and fitting a 390 px phone.

Screenshots of the pages people meet go to ``$CYCLE_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from deploy.embedded import free_port
from shared.config import load_agency_profile
from tests.browser_harness import assert_accessible
from tests.e2e.system import RunningSystem
from tests.e2e.test_pipeline import query, smtp_env
from tests.smtp import text_of

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]

PASSWORD = "Correct horse battery staple 42"
PARTNER_EMAIL = "dana@example.org"
COORDINATOR_EMAIL = "cora@agency.example"
REVIEWER_EMAIL = "rey@agency.example"
LIAISON_EMAIL = "lee@agency.example"
ORGANIZATION = "Great Lakes Roofing Alliance"
PHONE = 390


class Screens:
    """Where the screenshots go, if anywhere."""

    def __init__(self) -> None:
        folder = os.environ.get("CYCLE_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> None:
        if self.folder:
            page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)


@pytest.fixture
def system(
    tmp_path: Path, smtp_server: Any, redis_client: Any, clean_databases: Any
) -> Iterator[Any]:
    env = {
        **os.environ,
        **smtp_env(smtp_server),
        "COORDINATOR_EMAIL": "program-inbox@agency.example",
        "ALLIANCE_PASSWORD": PASSWORD,
    }
    running = RunningSystem(var_dir=tmp_path / "var", port=free_port(), env=env)
    try:
        running.wait_healthy()
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "deploy.cli",
                "create-coordinator",
                "--email",
                COORDINATOR_EMAIL,
                "--name",
                "Cora Coordinator",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        yield running
    finally:
        assert running.stop() == 0, running.log()


def person(browser: Browser, width: int = 1280) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def waiting_count(page: Page, waiting: int, seconds: float = 30) -> Any:
    """The navigation's Messages link once it counts ``waiting`` held messages. Notify holds a
    released decision's letter when its worker has taken the event, and the count is read
    when a page loads: the page is loaded again until the count is there."""
    item = page.get_by_role("link", name=re.compile(rf"^Messages, {waiting} waiting"))
    deadline = time.monotonic() + seconds
    while item.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        if item.count() == 0:
            page.reload()
    expect(item).to_be_visible()
    return item


def check(page: Page, input_id: str) -> None:
    """Tick a USWDS checkbox or radio button by its label, as a person does (once: a box
    already ticked stays so)."""
    if not page.locator(f"#{input_id}").is_checked():
        page.locator(f"label[for='{input_id}']").click()
    expect(page.locator(f"#{input_id}")).to_be_checked()


def option_id(group_id: str, options: dict[str, str], slug: str) -> str:
    position = list(options).index(slug) + 1
    return group_id if position == 1 else f"{group_id}-{position}"


def wait_for_mail(
    smtp_server: Any, to: str, subject_part: str, timeout: float = 60
) -> EmailMessage:
    found = smtp_server.inbox.wait_for(
        lambda m: m["To"] and to in str(m["To"]) and subject_part in str(m["Subject"]),
        timeout=timeout,
    )
    return found[-1]


def link_named(message: EmailMessage, words: str) -> str:
    """The address of the HTML part's link whose text is ``words``."""
    html_part = message.get_body(("html",))
    assert html_part is not None
    body = html_part.get_content()
    found = re.search(
        r'<a [^>]*href="([^"]+)"[^>]*>\s*' + re.escape(words) + r"\s*</a>", body, re.S
    )
    assert found is not None, f"no link named {words!r} in:\n{body}"
    return found.group(1).replace("&amp;", "&")


def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/review/staff/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    assert "/staff/sign-in" not in page.url, page.content()


def fits(page: Page, width: int = PHONE) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def propose(page: Page, base: str, smtp_server: Any, screens: Screens) -> tuple[str, Page]:
    """The partner fills the form, saves a draft, resumes it from the e-mail and submits."""
    profile = load_agency_profile()
    page.goto(f"{base}/apply")
    page.locator("#organization-name").fill(ORGANIZATION)
    page.locator("#organization-type").select_option("labor_organization")
    page.locator("#organization-address-street").fill("200 Ottawa St")
    page.locator("#organization-address-city").fill("Lansing")
    page.locator("#organization-address-state").select_option("MI")
    page.locator("#organization-address-zip").fill("48933")
    page.locator("#organization-workers-reached").fill("4200")
    page.locator("#organization-industry").fill("Roofing contractors")
    page.locator("#contact-name").fill("Dana Smith")
    page.locator("#contact-title").fill("Safety Director")
    page.locator("#contact-phone").fill("517-555-0100")
    page.locator("#contact-email").fill(PARTNER_EMAIL)
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/apply/resume/[^/?]+\?saved=1$"))
    screens.take(page, "01-partner-draft-saved")

    draft_mail = wait_for_mail(smtp_server, PARTNER_EMAIL, "draft")
    resume = page.context.new_page()
    resume.goto(link_named(draft_mail, "Continue where you left off"))
    page.close()
    page = resume
    expect(page.locator("#organization-name")).to_have_value(ORGANIZATION)

    check(page, option_id("hazards", profile.hazards, "falls"))
    page.locator("#goals-0-description").fill("Publish fall-protection toolbox talks to members")
    check(page, "goals-0-term")
    check(page, option_id("goals-0-activities", profile.activities, "disseminate_information"))
    page.locator("#goals-0-measure").fill("Members reached")
    check(page, option_id("priority-priority-areas", profile.priority_areas, "falls"))
    check(
        page,
        option_id("requested-division", profile.divisions, "construction_safety_health"),
    )
    page.get_by_role("button", name="Submit proposal").click()
    page.wait_for_url(re.compile(r"/apply/confirmation/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal submitted")
    screens.take(page, "02-partner-submitted")
    return page.get_by_role("status").locator("strong").inner_text(), page


def invite(page: Page, base: str, email: str, name: str, role_label_for: str) -> None:
    """The Coordinator adds a person, who is e-mailed an invitation to set their password."""
    page.goto(f"{base}/review/staff/people/new")
    page.locator("#email").fill(email)
    page.locator("#name").fill(name)
    check(page, role_label_for)
    expect(page.locator("#access")).to_be_checked()  # "E-mail an invitation", the default
    page.get_by_role("button", name="Add the person").click()
    expect(page.get_by_text(f"{name} was e-mailed an invitation")).to_be_visible()


def accept_invitation(
    browser: Browser, base: str, smtp_server: Any, email: str, width: int
) -> Page:
    """The invited person follows the e-mail's link and sets their own password."""
    mail = wait_for_mail(smtp_server, email, "Set your password")
    page = person(browser, width)
    page.goto(link_named(mail, "Set your password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    assert_accessible(page, context_label=f"setting a password at {width} px")
    page.locator("#new-password").fill(PASSWORD)
    page.locator("#confirm-password").fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_load_state()
    assert re.search(r"/review/staff/me\?password_set=invitation$", page.url), (
        page.url,
        page.content()[:3000],
    )
    expect(page.get_by_text("Your password is set and you are signed in.")).to_be_visible()
    # The link was for one use: it now says so.
    again = person(browser, width)
    again.goto(link_named(mail, "Set your password"))
    expect(again.get_by_role("heading", level=1)).to_have_text("This link was already used")
    again.context.close()
    return page


def agency_today() -> date:
    from shared.times import agency_zone

    return datetime.now(UTC).astimezone(agency_zone()).date()


def reminder_instant(databases: dict[str, str], kind: str) -> datetime:
    """When the first report's first reminder of this kind is due, from reporting's record."""
    [(due_at,)] = query(
        databases["reporting"],
        "SELECT r.due_at FROM report_reminders r JOIN reports p ON p.id = r.report_id"
        " WHERE r.kind = :kind ORDER BY p.due_date, r.due_at LIMIT 1",
        kind=kind,
    )
    return due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)


def first_report_due(databases: dict[str, str]) -> date:
    [(due,)] = query(
        databases["reporting"], "SELECT due_date FROM reports ORDER BY due_date LIMIT 1"
    )
    return due


def scan(system: Any, now: datetime) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "scan", "--now", now.isoformat()],
        env=system.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def fill_report(page: Page, on: date) -> None:
    """The partner reports one meeting and one outreach event, dated today."""
    page.locator("#meetings-0-date").fill(on.isoformat())
    page.locator("#meetings-0-topic").fill("Fall-protection toolbox talks: the first drafts")
    page.locator("#meetings-0-attendees").fill("Dana Smith (Great Lakes Roofing), Lee Liaison")
    page.locator("#outreach-0-date").fill(on.isoformat())
    page.locator("#outreach-0-event").fill("Toolbox talk at the Lansing training center")
    page.locator("#outreach-0-city").fill("Lansing")
    page.locator("#outreach-0-state").select_option("MI")
    page.locator("#outreach-0-emphasis-area").select_option(index=1)
    page.locator("#outreach-0-number-reached").fill("45")


def test_one_alliance_from_proposal_to_accepted_report(
    browser: Browser, system: Any, smtp_server: Any, clean_databases: dict[str, str]
) -> None:
    base = system.base
    screens = Screens()
    today = agency_today()

    # -- The partner proposes, on a phone: a draft first, resumed from its e-mail.
    partner = person(browser, PHONE)
    reference, partner = propose(partner, base, smtp_server, screens)
    assert reference.startswith("AP-")
    wait_for_mail(smtp_server, PARTNER_EMAIL, f"We received your Alliance proposal {reference}")
    # The new-proposal alert goes to the Coordinator the agency created, by name.
    alert = wait_for_mail(smtp_server, COORDINATOR_EMAIL, f"new Alliance proposal {reference}")
    assert "Cora Coordinator" in text_of(alert)

    # -- The Coordinator invites a reviewer and a liaison; each sets their own password.
    coordinator = person(browser)
    sign_in(coordinator, base, COORDINATOR_EMAIL)
    invite(coordinator, base, REVIEWER_EMAIL, "Rey Reviewer", "roles-2")
    invite(coordinator, base, LIAISON_EMAIL, "Lee Liaison", "roles-3")
    coordinator.goto(f"{base}/review/staff/people")
    expect(coordinator.get_by_text("Invited, not yet signed in").first).to_be_visible()
    screens.take(coordinator, "03-coordinator-staff-invited")
    reviewer = accept_invitation(browser, base, smtp_server, REVIEWER_EMAIL, 1280)
    liaison = accept_invitation(browser, base, smtp_server, LIAISON_EMAIL, PHONE)
    screens.take(liaison, "04-liaison-password-set")

    # -- The Coordinator assigns the proposal to the reviewer, who is told by e-mail.
    coordinator.goto(f"{base}/review/staff/queue")
    coordinator.get_by_role("link", name=re.compile(ORGANIZATION)).first.click()
    coordinator.locator("#reviewer-id").select_option(label="Rey Reviewer")
    coordinator.get_by_role("button", name="Assign", exact=True).click()
    expect(coordinator.get_by_text("Assigned to Rey Reviewer.")).to_be_visible()
    assigned = wait_for_mail(
        smtp_server, REVIEWER_EMAIL, f"Assigned to you: Alliance proposal {reference}"
    )

    # -- The reviewer approves from the e-mail's link and releases the decision.
    reviewer.goto(link_named(assigned, f"Open the proposal {reference}"))
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text(ORGANIZATION)
    check(reviewer, "kind-3")  # Approve
    reviewer.locator("#liaison-id").select_option(label="Lee Liaison")
    assert reviewer.locator("#signing-date").count() == 0  # signing is its own step, later
    reviewer.get_by_role("button", name="Prepare the decision").click()
    reviewer.goto(f"{base}/review/staff/decisions")
    expect(reviewer.get_by_text("prepared by Rey Reviewer")).to_be_visible()
    check(reviewer, "decision-1")
    reviewer.get_by_role("button", name="Release the chosen decisions").click()
    expect(reviewer.get_by_text("held for a last look in Messages")).to_be_visible()
    screens.take(reviewer, "05-reviewer-decision-released")

    # The approval letter waits in Messages; the count says so. The reviewer releases it.
    messages_item = waiting_count(reviewer, 1)
    messages_item.click()
    check(reviewer, "message-1")
    reviewer.get_by_role("button", name="Release the chosen messages").click()
    approved = wait_for_mail(
        smtp_server, PARTNER_EMAIL, f"Alliance proposal {reference} is approved"
    )
    assert "signed" in text_of(approved)
    time.sleep(2)  # time passes on purpose: nothing about a signed alliance may follow it
    assert not smtp_server.inbox.matching(lambda m: "is signed" in str(m["Subject"]))

    # -- Weeks later the agreement is signed: the Coordinator records the date.
    coordinator.goto(f"{base}/review/staff/alliances")
    coordinator.get_by_role("link", name=re.compile(ORGANIZATION)).first.click()
    expect(coordinator.get_by_text("Awaiting signature").first).to_be_visible()
    assert_accessible(coordinator, context_label="an alliance awaiting its signing")
    screens.take(coordinator, "06-coordinator-awaiting-signature")
    coordinator.locator("#signing-signing-date").fill(today.isoformat())
    coordinator.get_by_role("button", name="Record the signing").click()
    expect(coordinator.get_by_text("Signing recorded: signed on")).to_be_visible()
    expect(coordinator.locator("#signing-signing-date")).to_have_count(0)
    screens.take(coordinator, "07-coordinator-signed")
    signed = wait_for_mail(smtp_server, PARTNER_EMAIL, f"is signed ({reference})")
    wait_for_mail(smtp_server, LIAISON_EMAIL, "you are the liaison")
    # The history names who did what, in words: no e-mail address, field name or ISO date.
    history = coordinator.locator("#history + table").inner_text()
    assert "Cora Coordinator" in history
    assert f"Signed on: (none) → {today.strftime('%B %-d, %Y')}" in history, history
    assert "Status: Awaiting signature → Active" in history, history
    for raw in ("signing_date", "term_years", "ends_on", "@agency.example", "review\t"):
        assert raw not in history, (raw, history)

    # -- The first report falls overdue (the operator's scan, at that moment).
    overdue_at = reminder_instant(clean_databases, "overdue") + timedelta(minutes=1)
    assert scan(system, overdue_at).startswith("due_soon: 0, due: 0, overdue: 1")
    wait_for_mail(smtp_server, PARTNER_EMAIL, "is overdue")

    # -- The liaison, on a phone, opens the overdue report and sends the partner a new link.
    liaison.goto(f"{base}/reporting/staff/reports")
    liaison.get_by_role("link", name=re.compile(r"^Quarterly")).first.click()
    expect(liaison.get_by_text("Overdue").first).to_be_visible()
    fits(liaison)
    assert_accessible(liaison, context_label="an overdue report, on a phone")
    liaison.get_by_role("button", name="Send the partner a new link to this report").click()
    expect(
        liaison.get_by_text("A new link to this report is on its way to Dana Smith")
    ).to_be_visible()
    screens.take(liaison, "08-liaison-overdue-report-link-sent")
    new_link = wait_for_mail(smtp_server, PARTNER_EMAIL, "a new link to your overdue")

    # -- The partner reports from the new link (before the quarter ends: said and confirmed).
    partner.goto(link_named(new_link, "Open your report"))
    fill_report(partner, today)
    partner.locator("#narratives-outreach-communication-results").fill("45 roofers reached.")
    assert_accessible(partner, context_label="the report form, on a phone")
    screens.take(partner, "09-partner-report-form")
    if partner.locator("#confirm-early").count():
        check(partner, "confirm-early")
    partner.get_by_role("button", name="Submit report").click()
    expect(partner.get_by_role("heading", level=1)).to_have_text("Report submitted")
    wait_for_mail(smtp_server, LIAISON_EMAIL, "review the quarterly report")

    # -- The liaison asks for a revision; the due date stays (it is later than 14 days on).
    liaison.reload()
    due_before = first_report_due(clean_databases)
    liaison.locator("#comments").fill("Please add the attendance sheet's count.")
    liaison.get_by_role("button", name="Ask for a revision").click()
    revision = wait_for_mail(smtp_server, PARTNER_EMAIL, "please revise your quarterly report")
    assert first_report_due(clean_databases) == due_before
    assert due_before.strftime("%B %-d, %Y") in str(revision["Subject"])
    screens.take(liaison, "10-liaison-revision-asked")

    # -- The partner revises and sends it again; the liaison accepts; the partner sees it.
    partner.goto(link_named(revision, "Open your quarterly report form to revise and resubmit it"))
    partner.locator("#outreach-0-number-reached").fill("52")
    if partner.locator("#confirm-early").count():
        check(partner, "confirm-early")
    partner.get_by_role("button", name="Submit report").click()
    expect(partner.get_by_role("heading", level=1)).to_have_text("Report submitted")
    liaison.reload()
    liaison.get_by_role("button", name="Accept").click()
    accepted = wait_for_mail(smtp_server, PARTNER_EMAIL, "was accepted")
    partner.goto(link_named(new_link, "Open your report"))
    expect(partner.get_by_text("Accepted").first).to_be_visible()
    screens.take(partner, "11-partner-report-accepted")

    # -- Every e-mail: who got it, in what order, and how it reads on a phone.
    mails = list(smtp_server.inbox.messages)
    to_partner = [str(m["Subject"]) for m in mails if PARTNER_EMAIL in str(m["To"])]
    order = [
        "draft",
        f"We received your Alliance proposal {reference}",
        f"Alliance proposal {reference} is approved",
        f"is signed ({reference})",
        "is overdue",
        "a new link to your overdue",
        "We received your quarterly report",
        "please revise your quarterly report",
        "We received your quarterly report",
        "was accepted",
    ]
    positions: list[int] = []
    for part in order:
        start = positions[-1] + 1 if positions else 0
        found = next(
            (i for i, subject in enumerate(to_partner) if i >= start and part in subject), None
        )
        assert found is not None, f"{part!r} not in order in {to_partner}"
        positions.append(found)
    assert signed in mails
    assert accepted in mails
    for mail in mails:
        to = str(mail["To"])
        assert "program-inbox@agency.example" not in to, mail["Subject"]
        staff_only = ("Set your password", "Assigned to you", "you are the liaison", "Copy:")
        if any(part in str(mail["Subject"]) for part in staff_only):
            assert PARTNER_EMAIL not in to, mail["Subject"]
    check_every_mail(browser, mails)


class _Links(HTMLParser):
    """Every link of an HTML body: its address and the words it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def check_every_mail(browser: Browser, mails: list[EmailMessage]) -> None:
    """Each e-mail is in English, links with words (never a web address as its text) and
    fits a 390 px phone without sideways scrolling."""
    phone = person(browser, PHONE)
    try:
        for mail in mails:
            subject = str(mail["Subject"])
            html_part = mail.get_body(("html",))
            assert html_part is not None, subject
            body = html_part.get_content()
            assert re.search(r'<html[^>]* lang="en"', body), subject
            parser = _Links()
            parser.feed(body)
            for href, words in parser.links:
                assert words, f"{subject}: a link without words to {href}"
                assert not re.match(r"(https?://|www\.)", words), f"{subject}: {words}"
            phone.set_content(body)
            width = phone.evaluate(
                "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            )
            assert width <= PHONE, f"{subject} is {width} px wide on a phone"
    finally:
        phone.context.close()
