"""The site title of every service's staff pages leads to a page the signed-in person may open
(shared/staff_shell.py HOME), through the gateway as ``make run`` serves them: the queue for
those who decide proposals, a liaison's reports, never a service's root (a bare 404)."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from deploy.gateway import create_gateway
from services.reporting.alliances import domain as reporting_alliances
from services.reporting.reports import tokens
from services.reporting.reports.models import Report
from services.reporting.worker import database as reporting_database
from shared.config import load_settings
from shared.staff_auth import COOKIE_NAME
from tests.factories import (
    alliance_signed_event,
    run_reporting_task,
    staff_member,
    staff_session,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

# What the title leads each person to.
HOMES = {
    ("coordinator",): "/review/staff/queue",
    ("reviewer",): "/review/staff/queue",
    ("liaison",): "/reporting/staff/reports",
    ("liaison", "reviewer"): "/review/staff/queue",
}


@pytest.fixture
def gateway(redis_client: Any) -> Any:
    return create_gateway()


def reporting_alliance() -> uuid.UUID:
    event = alliance_signed_event(alliance_id=uuid.uuid4())
    with reporting_database.transaction() as session:
        reporting_alliances.record_signed(session, event=event)
    return uuid.UUID(str(event.payload["alliance_id"]))


def title_link(html: str) -> str:
    found = re.search(r'<em class="usa-logo__text"><a href="([^"]*)"', html)
    assert found, "no site title link in the staff header"
    return unescape(found.group(1))


@pytest.mark.parametrize("roles", sorted(HOMES))
def test_the_site_title_of_each_services_staff_page_opens_the_persons_first_page(gateway, roles):
    person = staff_member(f"{'-'.join(roles)}@agency.example", *roles)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(person))
    pages = {
        "review": "/review/staff/me",
        "reporting": f"/reporting/staff/alliances/{reporting_alliance()}/reports",
        "notify": "/notify/staff/log",
    }
    for service, page in pages.items():
        shown = client.get(page)
        assert shown.status_code == 200, page
        home = title_link(shown.get_data(as_text=True))
        assert home == HOMES[roles], (service, home)
        opened = client.get(home)
        assert opened.status_code == 200, (service, home, opened.status_code)
        assert 'id="staff-header"' in opened.get_data(as_text=True)


def test_the_site_title_of_a_page_seen_signed_out_opens_the_public_home(gateway):
    """The sign-in page, the public directory and a partner's report form: the title leads to
    the program's public home (the proposal form), never a service's root."""
    signed = alliance_signed_event(alliance_id=uuid.uuid4())
    run_reporting_task("reporting.alliance_signed", signed)
    with reporting_database.transaction() as session:
        report_id = session.scalars(
            select(Report.id).where(Report.alliance_id == signed.payload["alliance_id"]).limit(1)
        ).one()
    public_home = load_settings().public_base_url.rstrip("/") + "/"
    client = Client(gateway)
    for page in (
        "/review/staff/sign-in",
        "/review/directory",
        f"/reporting/reports/{tokens.make_token(report_id)}",
    ):
        shown = client.get(page)
        assert shown.status_code == 200, page
        assert title_link(shown.get_data(as_text=True)) == public_home, page
    opened = client.get(urlsplit(public_home).path, follow_redirects=True)
    assert opened.status_code == 200
    assert "<form" in opened.get_data(as_text=True)  # the proposal form
