"""A partner who reads Spanish, over the real processes (``alliance run``, a worker per
service, e-mail over SMTP): the partner fills the form in Spanish on a phone; the receipt, the
decision, the welcome with its report calendar (.ics) and an overdue reminder reach them in
Spanish; the partner reports from the reminder's link in Spanish and prints the report, in
Spanish. The staff side is the same as every day, in English."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from services.notify.messages.render import catalog
from tests.browser import test_whole_cycle
from tests.browser.test_whole_cycle import (
    COORDINATOR_EMAIL,
    LIAISON_EMAIL,
    PARTNER_EMAIL,
    PHONE,
    accept_invitation,
    agency_today,
    check,
    fill_report,
    fits,
    invite,
    link_named,
    person,
    reminder_instant,
    scan,
    sign_in,
    wait_for_mail,
    waiting_count,
)
from tests.browser_harness import assert_accessible
from tests.smtp import text_of

# The whole cycle's running system (``alliance run`` with a Coordinator), as a fixture here.
system = test_whole_cycle.system

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]

ORGANIZATION = "Asociación de Techadores de Michigan"
SPANISH = catalog("es")
# Words that would give away a message (or part of one) left in English.
ENGLISH = ("Dear ", "Hello,", "Your liaison", "Thank you", "report is due", "What happens next")


def es(text: str, **values: str) -> str:
    """``text`` as the Spanish catalog says it, with ``values``."""
    return str(SPANISH.gettext(text)) % values if values else str(SPANISH.gettext(text))


def in_spanish(mail: EmailMessage) -> str:
    body = text_of(mail)
    html_part = mail.get_body(("html",))
    assert html_part is not None
    assert '<html lang="es">' in html_part.get_content(), mail["Subject"]
    for words in ENGLISH:
        assert words not in body, (words, mail["Subject"], body)
    return body


def test_a_spanish_reading_partner_proposes_is_told_reminded_and_prints_in_spanish(
    browser: Browser, system: Any, smtp_server: Any, clean_databases: dict[str, str]
) -> None:
    base = system.base
    today = agency_today()

    # -- The partner fills the form in Spanish, on a phone.
    partner = person(browser, PHONE)
    partner.goto(f"{base}/apply?lang=es")
    expect(partner.locator("html")).to_have_attribute("lang", "es")
    partner.locator("#organization-name").fill(ORGANIZATION)
    partner.locator("#organization-type").select_option("trade_association")
    partner.locator("#organization-address-street").fill("200 Ottawa St")
    partner.locator("#organization-address-city").fill("Lansing")
    partner.locator("#organization-address-state").select_option("MI")
    partner.locator("#organization-address-zip").fill("48933")
    partner.locator("#organization-workers-reached").fill("1800")
    partner.locator("#organization-industry").fill("Techado")
    partner.locator("#contact-name").fill("Dana Smith")
    partner.locator("#contact-email").fill(PARTNER_EMAIL)
    partner.locator("#contact-phone").fill("517-555-0100")
    # The language of our messages: the page's, already chosen.
    expect(partner.locator("#contact-language-2")).to_be_checked()
    partner.locator("#goals-0-description").fill("Charlas de seguridad sobre caídas")
    check(partner, "goals-0-term")
    partner.locator("#goals-0-measure").fill("Miembros alcanzados")
    check(partner, "requested-division-3")
    fits(partner)
    partner.get_by_role("button", name="Enviar propuesta").click()
    partner.wait_for_url(re.compile(r"/apply/confirmation/[^/]+$"))
    expect(partner.get_by_role("heading", level=1)).to_have_text("Propuesta enviada")
    reference = partner.get_by_role("status").locator("strong").inner_text()
    receipt = wait_for_mail(
        smtp_server,
        PARTNER_EMAIL,
        es("We received your Alliance proposal %(reference)s", reference=reference),
    )
    in_spanish(receipt)

    # -- Staff, in English: a liaison joins; the Coordinator approves and releases.
    coordinator = person(browser)
    sign_in(coordinator, base, COORDINATOR_EMAIL)
    invite(coordinator, base, LIAISON_EMAIL, "Lee Liaison", "roles-3")
    accept_invitation(browser, base, smtp_server, LIAISON_EMAIL, 1280).context.close()
    coordinator.goto(f"{base}/review/staff/queue")
    coordinator.get_by_role("link", name=re.compile(ORGANIZATION)).first.click()
    expect(coordinator.locator("#contact-language")).to_have_text("Spanish")
    check(coordinator, "kind-3")  # Approve
    coordinator.locator("#liaison-id").select_option(label="Lee Liaison")
    coordinator.get_by_role("button", name="Prepare the decision").click()
    coordinator.goto(f"{base}/review/staff/decisions")
    check(coordinator, "decision-1")
    coordinator.get_by_role("button", name="Release the chosen decisions").click()
    waiting_count(coordinator, 1).click()
    check(coordinator, "message-1")
    coordinator.get_by_role("button", name="Release the chosen messages").click()
    approved = wait_for_mail(
        smtp_server,
        PARTNER_EMAIL,
        es("Your Alliance proposal %(reference)s is approved", reference=reference),
    )
    in_spanish(approved)

    # -- The signing: the welcome, with its report calendar, in Spanish.
    coordinator.goto(f"{base}/review/staff/alliances")
    coordinator.get_by_role("link", name=re.compile(ORGANIZATION)).first.click()
    coordinator.locator("#signing-signing-date").fill(today.isoformat())
    coordinator.get_by_role("button", name="Record the signing").click()
    expect(coordinator.get_by_text("Signing recorded: signed on")).to_be_visible()
    welcome = wait_for_mail(smtp_server, PARTNER_EMAIL, f"({reference})")
    assert "firmada" in str(welcome["Subject"]), welcome["Subject"]
    body = in_spanish(welcome)
    assert "de 20" in body  # days as Spanish writes them ("15 de enero de 2027")
    calendars = [
        part.get_content() for part in welcome.walk() if part.get_content_type() == "text/calendar"
    ]
    assert calendars, "the welcome carries the report calendar"
    assert "SUMMARY:Vence el informe trimestral: alianza de" in calendars[0].replace("\r\n ", "")

    # -- The first report falls overdue: the reminder, in Spanish, with the form's link.
    overdue_at = reminder_instant(clean_databases, "overdue") + timedelta(minutes=1)
    assert scan(system, overdue_at).startswith("due_soon: 0, due: 0, overdue: 1")
    reminder = wait_for_mail(smtp_server, PARTNER_EMAIL, "atrasado")
    in_spanish(reminder)
    form_link = link_named(reminder, es("Open your %(kind)s report form", kind=es("quarterly")))

    # -- The partner reports in Spanish and prints it.
    # (The operator's scan ran in its own terminal, with the default public address.)
    partner.goto(base + urlsplit(form_link).path)
    expect(partner.locator("html")).to_have_attribute("lang", "es")
    expect(partner.get_by_role("heading", level=1)).to_contain_text("Informe trimestral")
    fill_report(partner, today)
    partner.locator("#narratives-outreach-communication-results").fill("Llegamos a 45 techadores.")
    if partner.locator("#confirm-early").count():
        check(partner, "confirm-early")
    partner.get_by_role("button", name="Enviar informe").click()
    expect(partner.get_by_role("heading", level=1)).to_have_text("Informe enviado")
    assert_accessible(partner, context_label="the Spanish confirmation, on a phone")
    fits(partner)
    printable = partner.get_by_role("link", name=re.compile("Descargar una copia para imprimir"))
    href = printable.get_attribute("href") or ""
    pdf = partner.request.get(href if href.startswith("http") else base + href)
    assert pdf.ok, href
    reader = PdfReader(io.BytesIO(pdf.body()))
    printed = " ".join(page.extract_text() for page in reader.pages)
    assert str(reader.trailer["/Root"]["/Lang"]) == "es"
    for words in ("Informe trimestral de", "Período:", "Llegamos a 45 techadores.", "Página 1 de"):
        assert words in printed, words
    receipt_of_report = wait_for_mail(smtp_server, PARTNER_EMAIL, "trimestral")
    in_spanish(receipt_of_report)

    # The liaison's copy of the reminder stays in English.
    copy = wait_for_mail(smtp_server, LIAISON_EMAIL, "is overdue")
    assert str(copy["Subject"]).startswith("Copy: the quarterly report of")
