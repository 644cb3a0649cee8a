"""Every e-mail notify sends, read on a phone: the HTML part links with words, never
with a raw web address, and fits a 390 px wide screen in Chromium however long the signed
links, addresses and errors in it are; the plain-text part puts each web address on its own
line, after a short label.

Each template under services/notify/templates/email is rendered as notify renders it (CSS
inlined), for the partner's copy and the liaison's, with the values the events carry at their
longest: a signed report link of 150 characters, a webhook address, a mail server's error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from services.notify.messages import render as messages
from shared.config import load_agency_profile, load_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser]

PHONE = 390
TEMPLATE_DIR = Path(messages.__file__).parent.parent / "templates" / "email"
TEMPLATES = sorted(
    p.name.removesuffix(".html") for p in TEMPLATE_DIR.glob("*.html") if not p.name.startswith("_")
)
BASE = "http://127.0.0.1:8000"
# A partner's signed report link as reporting writes it: about 150 characters, no break.
SIGNED = (
    f"{BASE}/reporting/reports/eyJyZXBvcnQiOiI1ZjQ2YjE0Yi0yYjY0LTRhMmQtYTcxNy1mZDQ2ZGYzMTEy"
    "NjUifQ.ZxYw3Q.Kq1xNmV3b0FhY2tTZWNyZXRTaWduYXR1cmVfX19fXw"
)


def person(name: str, address: str) -> dict[str, str]:
    return {"name": name, "email": address, "title": "Safety Director", "phone": "517-555-0100"}


REPORT = {
    "report_id": uuid.UUID(int=1),
    "kind": "quarterly",
    "period_start": date(2026, 4, 1),
    "period_end": date(2026, 6, 30),
    "due_date": date(2026, 7, 30),
}


def context(to_liaison: bool) -> dict[str, Any]:
    """What any template may ask for, as the events carry it (notify's messages/domain.py)."""
    settings = load_settings()
    at = datetime(2026, 7, 1, 14, 30, tzinfo=UTC)
    return {
        **messages.branding(settings, load_agency_profile()),
        **REPORT,
        "reference": "AP-2026-00042",
        "version": 2,
        "submitted_at": at,
        "status_url": f"{BASE}/status/{SIGNED.rsplit('/', 1)[1]}",
        "organization": {
            "name": "Great Lakes Roofing Contractors Association",
            "address": {"city": "Lansing", "state": "MI"},
        },
        "organization_name": "Great Lakes Roofing Contractors Association",
        "organization_type": "Trade association",
        "partner_name": "Great Lakes Roofing Contractors Association",
        "contact": person("Dana Smith", "dana.smith-longname@greatlakesroofingcontractors.org"),
        "contact_name": "Dana Smith",
        "liaison": person("Lee Liaison", "lee.liaison@agency.example"),
        "recipient_name": "Lee Liaison" if to_liaison else "Dana Smith",
        "to_liaison": to_liaison,
        "goals": [{"category_label": "Outreach and communication", "description": "Talks"}],
        "division": "construction_safety_health",
        "division_label": "Construction Safety & Health",
        "review_url": f"{BASE}/review/staff/proposals/{uuid.UUID(int=2)}",
        "id": uuid.UUID(int=2),
        "message": "Name your training venues.",
        "reason": "Not this year.",
        "decided_at": at,
        "requested_at": at,
        "signing_date": date(2026, 7, 15),
        "term_years": 2,
        "ends_on": date(2028, 7, 14),
        "previous_ends_on": date(2026, 7, 14),
        "term": 0,
        "reports": [REPORT, {**REPORT, "kind": "annual", "due_date": date(2027, 5, 30)}],
        "report_url": SIGNED,
        "resume_url": SIGNED.replace("/reporting/reports/", "/apply/resume/"),
        "expires_at": at,
        "days": 30,
        "reminder": "overdue",
        "alliance_url": f"{BASE}/review/staff/alliances/{uuid.UUID(int=3)}",
        "staff_report_url": f"{BASE}/reporting/staff/reports/{REPORT['report_id']}",
        "on_time": False,
        "comments": "Add the meeting on May 5 to the activities.",
        "reviewed_at": at,
        "reviewed_by": "lee.liaison@agency.example",
        "sent_by": "Lee Liaison",
        "assigned_by": "Cora Coordinator",
        "assigned_at": at,
        "proposal_url": f"{BASE}/review/staff/proposals/{uuid.UUID(int=4)}",
        "status": "overdue",
        "year": 1,
        "ratings": [
            {"requirement": "Training and education", "rating": "Met", "justification": "Six."}
        ],
        "shared_at": at,
        "concluded_on": date(2028, 7, 14),
        "effective_on": date(2027, 1, 1),
        "notice_date": date(2026, 12, 1),
        "designated_on": date(2027, 1, 1),
        "to_address": "dana.smith-longname@greatlakesroofingcontractors.org",
        "subject": "Action required: your quarterly report for AP-2026-00042 is overdue",
        "attempts": 13,
        "ambiguous_deliveries": 1,
        "last_error": "SMTPRecipientsRefused: 550 5.1.1 <dana.smith-longname@greatlakes"
        "roofingcontractors.org>: Recipient address rejected: User unknown in virtual table",
        "failures_url": f"{BASE}/notify/staff/deliveries",
        "url": "https://hooks.greatlakesroofingcontractors.org/alliance/events/" + "a1b2" * 20,
        "description": "The association's CRM",
        "endpoints_url": f"{BASE}/notify/staff/webhooks/{uuid.UUID(int=4)}",
        # a staff member's invitation or password reset (services/notify/messages/staff_accounts.py)
        "name": "Lee Liaison-Longname",
        "email": "lee.liaison-longname@michigan-department-of-labor.example.gov",
        "roles": "Coordinator, Reviewer and Liaison",
        "invited_by": "Cora Coordinator",
        "set_password_url": f"{BASE}/review/staff/set-password/{'Ab3_-x' * 8}",
    }


CASES = [(t, liaison) for t in TEMPLATES for liaison in (False, True)]


def test_every_template_is_covered() -> None:
    # The e-mails notify sends: each has a subject, a text and an HTML part.
    assert len(TEMPLATES) >= 24
    for template in TEMPLATES:
        assert (TEMPLATE_DIR / f"{template}.subject.txt").is_file()
        assert (TEMPLATE_DIR / f"{template}.txt").is_file()


class Links(HTMLParser):
    """Each <a>'s href and text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._open: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._href = [], dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append((self._href, " ".join("".join(self._open).split())))
            self._open = None


URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"https?://\S+")


@pytest.mark.parametrize(("template", "to_liaison"), CASES)
def test_the_html_part_links_with_words(template: str, to_liaison: bool) -> None:
    _subject, _text, html = messages.render(template, context(to_liaison))
    parser = Links()
    parser.feed(html)
    for href, text in parser.links:
        assert text, f"{template}: a link without text to {href}"
        assert not URLISH.match(text), f"{template}: a link reads as its address: {text}"
        assert not URL_IN_TEXT.search(text), f"{template}: a web address in link text: {text}"


@pytest.mark.parametrize(("template", "to_liaison"), CASES)
def test_the_text_part_puts_each_web_address_on_its_own_line(
    template: str, to_liaison: bool
) -> None:
    _subject, text, _html = messages.render(template, context(to_liaison))
    for line in text.splitlines():
        for url in URL_IN_TEXT.findall(line):
            assert line.strip() == url, f"{template}: {line!r}"


@pytest.fixture(scope="module")
def phone(module_browser: Browser) -> Iterator[Page]:
    """One page at a phone's width for the module's e-mails: each test replaces the whole
    document (set_content), and an e-mail has no script, cookie or storage to leave behind."""
    context = module_browser.new_context(viewport={"width": PHONE, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


WIDTH = "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@pytest.mark.parametrize(("template", "to_liaison"), CASES)
def test_the_html_part_fits_a_phone(phone: Page, template: str, to_liaison: bool) -> None:
    _subject, _text, html = messages.render(template, context(to_liaison))
    phone.set_content(html)
    assert phone.evaluate(WIDTH) <= PHONE, template


def test_a_rewritten_held_message_fits_a_phone(phone: Page) -> None:
    settings = load_settings()
    html = messages.edited_html(
        f"Dear Dana,\n\nYour status page: {SIGNED}\n\nRegards\n\n-- \nMIOSHA\n",
        settings=settings,
        profile=load_agency_profile(),
    )
    phone.set_content(html)
    assert phone.evaluate(WIDTH) <= PHONE
