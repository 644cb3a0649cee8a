"""The one staff header (shared/staff_shell.py, shared/templates/_staff_header.html) on every
service's staff pages, served through the gateway (deploy/gateway.py) as ``make run`` serves
them, so the prefixes and the cookies are the real ones: who is signed in, the items each role
sees and only those, the current section, the sign-out form (which signs out from any service),
and the links from one service's page to the related pages of the others.

What waits and where the public goes: the staff navigation's "Messages" asks notify how many
held messages wait for the person's release (``GET /api/v1/held/waiting``, within what they may
read, none for a liaison), the decisions page says after a release that the e-mails are held in
Messages, and the public directory is linked from every page's footer, the proposal form and
the staff navigation.

The site title of every service's staff pages leads to a page the signed-in person may open
(shared/staff_shell.py HOME), through the gateway as ``make run`` serves them: the queue for
those who decide proposals, a liaison's reports, never a service's root (a bare 404)."""

from __future__ import annotations

import re
import uuid
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.test import Client

from deploy.gateway import MOUNTS, create_gateway
from services.notify import create_app as create_notify
from services.reporting import create_app as create_reporting
from services.reporting.alliances import domain as reporting_alliances
from services.reporting.reports import tokens
from services.reporting.reports.models import Report
from services.reporting.worker import database as reporting_database
from services.review import create_app as create_review
from services.review.staff.models import StaffUser
from services.review.worker import database as review_database
from shared.config import load_settings
from shared.staff_auth import COOKIE_NAME
from shared.staff_shell import GATEWAY_PREFIXES, SECTIONS
from tests.intake.factories import proposal
from tests.notify.log.test_views import a_message
from tests.reporting.factories import run_reporting_task
from tests.review.factories import (
    alliance_signed_event,
    prepared_decision,
    queued_proposal,
    signed_alliance,
    staff_member,
)
from tests.shared.factories import acting, signed_in, staff_session

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

ALL_ROLES = frozenset({"coordinator", "reviewer", "liaison"})
REVIEWER = acting("riley@agency.example", "reviewer", name="Riley Reviewer")
LIAISON = acting("lee@agency.example", "liaison", name="Lee Liaison")
CORA = acting("cora@agency.example", "coordinator", name="Cora Coordinator")

# What each role's header offers: (label, href), in order.
EXPECTED_ITEMS = {
    "coordinator": [
        ("Queue", "/review/staff/queue"),
        ("Decisions", "/review/staff/decisions"),
        ("Alliances", "/review/staff/alliances"),
        ("Roundtables", "/review/staff/roundtables"),
        ("Reports", "/reporting/staff/reports"),
        ("Messages", "/notify/staff/messages"),
        ("Webhooks", "/notify/staff/webhooks"),
        ("Staff", "/review/staff/people"),
        ("Public directory", "/review/directory"),
        ("Settings", "/review/staff/scoring"),
    ],
    "reviewer": [
        ("Queue", "/review/staff/queue"),
        ("Decisions", "/review/staff/decisions"),
        ("Alliances", "/review/staff/alliances"),
        ("Roundtables", "/review/staff/roundtables"),
        ("Messages", "/notify/staff/messages"),
        ("Public directory", "/review/directory"),
        ("Settings", "/review/staff/me"),
    ],
    "liaison": [
        ("Queue", "/review/staff/queue"),
        ("Alliances", "/review/staff/alliances"),
        ("Roundtables", "/review/staff/roundtables"),
        ("Reports", "/reporting/staff/reports"),
        ("Messages", "/notify/staff/log"),
        ("Public directory", "/review/directory"),
        ("Settings", "/review/staff/me"),
    ],
}

# Pages linked before they exist (none today): each must be added here, and leaves as soon as
# it exists (test_every_destination_is_a_page_of_its_service).
PENDING: set[tuple[str, str]] = set()


@pytest.fixture
def gateway(redis_client: Any) -> Any:
    return create_gateway()


def client_of(gateway: Any, person: Any) -> Client:
    """A browser of the gateway signed in as ``person``, whose staff account is made here."""
    with review_database.transaction() as session:
        account = session.scalars(select(StaffUser).where(StaffUser.email == person.email)).first()
    if account is None:
        account = staff_member(person.email, *sorted(person.roles), name=person.name)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(account))
    return client


def header_of(html: str) -> str:
    found = re.search(r'<header class="usa-header usa-header--extended".*?</header>', html, re.S)
    assert found, "no staff header on the page"
    return found.group(0)


def nav_items(html: str) -> list[tuple[str, str, bool]]:
    """(label, href, current) of each primary item of the staff header."""
    return [
        (unescape(label), unescape(href), bool(current))
        for href, current, label in re.findall(
            r'<a href="([^"]*)" class="usa-nav-link[^"]*"( aria-current="page")?'
            r'(?: data-waiting-url="[^"]*")?><span>([^<]*)</span>',
            header_of(html),
        )
    ]


def sign_out_form(html: str) -> tuple[str, str]:
    """The sign-out form's action and its CSRF token."""
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*id="staff-sign-out">(.*?)</form>',
        header_of(html),
        re.S,
    )
    assert form, "no sign-out form in the staff header"
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(2))
    assert token
    assert "Sign out</button>" in form.group(2)
    return unescape(form.group(1)), token.group(1)


# -- the items and the pages they lead to -----------------------------------------------------


def apps() -> dict[str, Flask]:
    return {
        "review": create_review({"TESTING": True}),
        "reporting": create_reporting({"TESTING": True}),
        "notify": create_notify({"TESTING": True}),
    }


def has_page(app: Flask, path: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
        return False
    return True


def test_the_gateway_prefixes_are_the_gateways():
    assert {prefix: name for name, prefix in GATEWAY_PREFIXES.items() if prefix} == MOUNTS


def test_every_destination_is_a_page_of_its_service():
    services = apps()
    missing = {
        (d.service, d.path)
        for section in SECTIONS
        for d in section.destinations
        if not has_page(services[d.service], d.path)
    }
    # Once a pending page exists it is checked like the others: take it out of PENDING.
    assert missing == PENDING


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_each_item_is_shown_exactly_to_the_roles_that_may_open_it(gateway, role):
    """Every destination opened in every role: an item leads to the first one the person may
    open (200), and is left out when every one of them refuses them (403)."""
    person = acting(f"{role}@agency.example", role, name=f"{role.title()} Person")
    client = client_of(gateway, person)
    html = client.get("/review/staff/queue").get_data(as_text=True)
    shown = {label: href for label, href, _ in nav_items(html)}
    for section in SECTIONS:
        opened = []
        for destination in section.destinations:
            if (destination.service, destination.path) in PENDING:
                continue
            href = GATEWAY_PREFIXES[destination.service] + destination.path
            status = client.get(href).status_code
            assert status in (200, 403), (href, status)
            if status == 200:
                opened.append(href)
        if section.label in shown and opened:
            assert shown[section.label] == opened[0], section.label
        elif opened:
            pytest.fail(f"{section.label} is hidden from the {role}, who may open {opened[0]}")
        else:
            pending = [(d.service, d.path) in PENDING for d in section.destinations]
            assert section.label not in shown or all(pending), (
                f"{section.label} leads the {role} to a refusal"
            )
    assert list(shown.items()) == EXPECTED_ITEMS[role]


def reporting_alliance() -> tuple[uuid.UUID, str]:
    """An alliance as reporting knows it (its id and reference)."""
    event = alliance_signed_event(alliance_id=uuid.uuid4())
    with reporting_database.transaction() as session:
        reporting_alliances.record_signed(session, event=event)
    return event.payload["alliance_id"], event.payload["reference"]


# -- the header on every service's pages ------------------------------------------------------


@pytest.mark.parametrize("service", ["review", "reporting", "notify"])
@pytest.mark.parametrize(
    ("person", "role", "shown_as"),
    [
        (CORA, "coordinator", "Cora Coordinator</strong> (Coordinator)"),
        (REVIEWER, "reviewer", "Riley Reviewer</strong> (Reviewer)"),
    ],
)
def test_the_staff_header_on_each_services_page(gateway, service, person, role, shown_as):
    path, current = {
        "review": ("/review/staff/queue", "Queue"),
        # The work list is not the reviewers': any staff member reads an alliance's reports.
        "reporting": (f"/reporting/staff/alliances/{reporting_alliance()[0]}/reports", "Reports"),
        "notify": ("/notify/staff/messages", "Messages"),
    }[service]
    response = client_of(gateway, person).get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    header = header_of(html)
    assert f"Signed in as <strong>{shown_as}" in header
    assert nav_items(html) == [
        (label, href, label == current) for label, href in EXPECTED_ITEMS[role]
    ]
    marked = [label for label, _ in EXPECTED_ITEMS[role] if label == current]
    assert (
        html.count('aria-current="page"')
        == len(marked)
        == (0 if (role, service) == ("reviewer", "reporting") else 1)
    )
    assert '<button type="button" class="usa-menu-btn">Menu</button>' in header
    assert '<a href="/review/staff/me">Your account</a>' in header
    action, _ = sign_out_form(html)
    assert action == "/review/staff/sign-out"
    # One header: the services' own copies are gone.
    assert html.count("Signed in as") == 1


def test_a_liaison_sees_the_message_log_and_no_reviewers_or_coordinators_items(gateway):
    html = client_of(gateway, LIAISON).get("/reporting/staff/reports").get_data(as_text=True)
    assert nav_items(html) == [
        (label, href, label == "Reports") for label, href in EXPECTED_ITEMS["liaison"]
    ]
    for hidden in ("Decisions", "Webhooks", "Staff"):
        assert f"<span>{hidden}</span>" not in header_of(html)
    assert "/notify/staff/messages" not in header_of(html)


def test_each_section_is_marked_current_on_its_pages(gateway):
    client = client_of(gateway, CORA)
    for path, current in (
        ("/review/staff/decisions", "Decisions"),
        ("/review/staff/alliances", "Alliances"),
        ("/review/staff/roundtables", "Roundtables"),
        ("/review/staff/people", "Staff"),
        ("/review/staff/scoring", "Settings"),
        ("/reporting/staff/dashboard", "Reports"),
        ("/notify/staff/deliveries", "Messages"),
    ):
        html = client.get(path).get_data(as_text=True)
        assert [label for label, _, now in nav_items(html) if now] == [current], path


def test_pages_for_the_public_and_signed_out_people_have_no_staff_header(gateway):
    client = Client(gateway)
    assert "usa-header--extended" not in client.get("/review/staff/sign-in").get_data(as_text=True)
    assert client.get("/notify/staff/messages").status_code == 303
    signed_in = client_of(gateway, CORA)
    assert "usa-header--extended" not in signed_in.get("/apply").get_data(as_text=True)


# -- signing out from any service -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/notify/staff/messages", "/reporting/staff/reports"])
def test_the_sign_out_form_of_another_services_page_signs_out(gateway, path):
    client = client_of(gateway, CORA)
    action, token = sign_out_form(client.get(path).get_data(as_text=True))

    answer = client.post(action, data={"csrf_token": token})

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/review/staff/sign-in?signed_out=1")
    assert client.get_cookie(COOKIE_NAME) is None
    again = client.get(path)
    assert again.status_code == 303
    assert "/review/staff/sign-in" in again.headers["Location"]


def test_the_sign_out_form_needs_its_token(gateway):
    client = client_of(gateway, CORA)
    action, _ = sign_out_form(client.get("/notify/staff/messages").get_data(as_text=True))
    assert client.post(action, data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/notify/staff/messages").status_code == 200


# -- links across the services ----------------------------------------------------------------


def test_a_proposal_links_to_its_messages(gateway):
    entry = queued_proposal()
    html = client_of(gateway, CORA).get(f"/review/staff/proposals/{entry.proposal_id}")
    assert f'href="/notify/staff/log?reference={entry.reference}"' in html.get_data(as_text=True)


def test_an_alliance_links_to_its_reports_and_messages_and_back(gateway):
    alliance = signed_alliance()
    html = client_of(gateway, CORA).get(f"/review/staff/alliances/{alliance.id}")
    page = html.get_data(as_text=True)
    assert f'href="/reporting/staff/alliances/{alliance.id}/reports"' in page
    assert f'href="/notify/staff/log?reference={alliance.reference}"' in page

    alliance_id, reference = reporting_alliance()
    reports = client_of(gateway, CORA).get(f"/reporting/staff/alliances/{alliance_id}/reports")
    assert reports.status_code == 200
    page = reports.get_data(as_text=True)
    assert f'href="/review/staff/alliances/{alliance_id}"' in page
    assert f'href="/notify/staff/log?reference={reference}"' in page


RILEY = acting("riley@agency.example", "reviewer", name="Riley Reviewer")
LEE = acting("lee@agency.example", "liaison", name="Lee Liaison")


@pytest.fixture
def notify(redis_client: Any):
    return create_notify({"TESTING": True, "WTF_CSRF_ENABLED": False})


def held(**values: Any) -> uuid.UUID:
    return a_message(1, status="held", proposal_id=uuid.uuid4(), **values)


def waiting(client: Any) -> tuple[int, Any]:
    answer = client.get("/api/v1/held/waiting")
    return answer.status_code, answer.get_json()


def client_of_nav_count_and_directory_links(gateway: Any, person: Any) -> Client:
    account = staff_member(person.email, *sorted(person.roles), name=person.name)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(account))
    return client


def messages_link(html: str) -> str:
    [link] = re.findall(r'<a href="/notify/staff/(?:messages|log)"[^>]*>.*?</a>', html, re.S)
    return link


def test_the_staff_navigation_links_the_public_directory(gateway):
    for person in (CORA, RILEY, LEE):
        html = (
            client_of_nav_count_and_directory_links(gateway, person)
            .get("/review/staff/alliances")
            .get_data(as_text=True)
        )
        assert re.search(
            r'<a href="/review/directory" class="usa-nav-link"><span>Public directory</span></a>',
            html,
        ), person.email


def footer_directory(html: str) -> str:
    found = re.search(r'<a class="usa-footer__primary-link" href="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert found, "no link in the footer"
    return f"{unescape(found[2])} -> {unescape(found[1])}"


def test_every_public_page_links_the_directory(gateway):
    client = Client(gateway)
    for path in ("/apply", "/review/staff/sign-in", "/review/directory"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert footer_directory(html) == "Alliance directory -> /review/directory", path
    form = client.get("/apply").get_data(as_text=True)
    assert re.search(
        r'in the <a class="usa-link" href="/review/directory" id="apply-directory">'
        r"alliance directory</a>",
        form,
    )
    assert client.get("/review/directory").status_code == 200


def test_after_a_release_the_decisions_page_says_the_e_mails_wait_in_messages(gateway):
    riley = staff_member("riley@agency.example", "reviewer", name="Riley Reviewer")
    first = prepared_decision(queued_proposal(proposal("Roofers")).proposal_id)
    client = Client(gateway)
    client.set_cookie(COOKIE_NAME, staff_session(riley))
    before = client.get("/review/staff/decisions").get_data(as_text=True)
    assert "held for a last look" not in before

    released = client.post(
        "/review/staff/decisions",
        data={"decision_ids": str(first.id), "csrf_token": csrf(before)},
    )
    assert released.status_code == 303
    after = client.get("/review/staff/decisions").get_data(as_text=True)

    assert re.search(
        r'The e-mails are held for a last look in <a class="usa-link" '
        r'href="/notify/staff/messages">Messages</a>',
        after,
    )
    again = client.get("/review/staff/decisions").get_data(as_text=True)
    assert "held for a last look" not in again  # said once, after the release


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found[1]


def test_an_app_served_on_its_own_asks_only_itself_for_the_count(notify, redis_client):
    review = create_review({"TESTING": True})
    alone = signed_in(review, CORA).get("/staff/queue").get_data(as_text=True)
    assert "data-waiting-url" not in messages_link(alone)
    own = signed_in(notify, CORA).get("/staff/log").get_data(as_text=True)
    [link] = re.findall(r'<a href="/staff/messages"[^>]*>', own)
    assert 'data-waiting-url="/api/v1/held/waiting"' in link


# What the title leads each person to.
HOMES = {
    ("coordinator",): "/review/staff/queue",
    ("reviewer",): "/review/staff/queue",
    ("liaison",): "/reporting/staff/reports",
    ("liaison", "reviewer"): "/review/staff/queue",
}


def reporting_alliance_staff_home_link() -> uuid.UUID:
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
        "reporting": f"/reporting/staff/alliances/{reporting_alliance_staff_home_link()}/reports",
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
