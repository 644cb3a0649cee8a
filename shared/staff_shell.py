"""The one staff header of every service: who is signed in, one navigation across the
services, sign-out (shared/templates/_staff_header.html, included by layout.html). The site
title leads to the person's first page (:data:`HOME`): the services' roots are no pages.

The four services are mounted under one host (``deploy/gateway.py`` in development,
``deploy/nginx.conf`` in production): intake at ``/``, then ``/review``, ``/reporting`` and
``/notify``. An app only knows its own routes (``url_for``) and its own prefix
(``request.script_root``), so a link to another service is built here from the gateway's
prefixes (:func:`service_url`); a link within the same service keeps the app's own prefix, so
an app served on its own (as some tests do) still finds its own pages.

Each navigation item goes to the first of its destinations whose roles the person holds, and
is left out when none fits: the roles are those the destination admits (its view's
``staff_required(...)`` and its domain rule; ``()`` is any staff member), which
``tests/shared/test_staff_shell.py`` checks by opening every destination in every role.

Sign-out is a POST to review's ``/staff/sign-out`` from whichever service's page the person is
on. Its CSRF token is made by that page's app and checked by review: both read the same Flask
session cookie (path ``/``, one host) signed with the same ``SECRET_KEY``, so the token of a
notify or reporting page is review's too (tested through the gateway).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, has_request_context, request

from shared.staff_auth import ROLES, StaffSession, current_staff

# Where each service is mounted behind the gateway: the one list deploy/gateway.py mounts from,
# which deploy/nginx.conf's locations repeat for production.
GATEWAY_PREFIXES: dict[str, str] = {
    "intake": "",
    "review": "/review",
    "reporting": "/reporting",
    "notify": "/notify",
}

# Review's staff pages: where signing in and out happens for every service.
SIGN_OUT = ("review", "/staff/sign-out")
ACCOUNT = ("review", "/staff/me")


@dataclass(frozen=True)
class Destination:
    """One page an item may lead to, for the people holding any one of ``roles``."""

    service: str
    path: str  # within the service, as its own url_map has it
    roles: tuple[str, ...] = ()  # () is any staff member
    # Within the same service: a JSON answer ``{"waiting": n}`` of how much waits there for
    # the person, shown beside the item (shared/static/site/staff-nav.js).
    waiting: str | None = None


@dataclass(frozen=True)
class Section:
    """One item of the navigation: its destinations (the first one the person may use wins)
    and the pages that belong to it (``(service, path prefix)``), marked as current."""

    label: str
    destinations: tuple[Destination, ...]
    pages: tuple[tuple[str, str], ...]


ANY_STAFF: tuple[str, ...] = ()

SECTIONS: tuple[Section, ...] = (
    Section(
        "Queue",
        (Destination("review", "/staff/queue"),),
        (
            ("review", "/staff/queue"),
            ("review", "/staff/proposals/"),
            ("review", "/staff/conflicts"),
        ),
    ),
    Section(
        "Decisions",
        (Destination("review", "/staff/decisions", ("coordinator", "reviewer")),),
        (("review", "/staff/decisions"),),
    ),
    Section(
        "Alliances",
        (Destination("review", "/staff/alliances"),),
        (("review", "/staff/alliances"),),
    ),
    Section(
        # The roundtables and workgroups, their members, meetings and products: any staff
        # member reads them, the Coordinator keeps them.
        "Roundtables",
        (Destination("review", "/staff/roundtables"),),
        (("review", "/staff/roundtables"),),
    ),
    Section(
        "Reports",
        # The work list (the domain's rule: liaisons and the Coordinator); the Coordinator's
        # program figures are one link away on it. Anyone reaches an alliance's reports from
        # the alliance's page.
        (Destination("reporting", "/staff/reports", ("coordinator", "liaison")),),
        (("reporting", "/staff/"),),
    ),
    Section(
        "Messages",
        (
            # The decision messages waiting for release, for those who release them, with how
            # many wait (notify's count, within what each may release); the message log for
            # everyone else, without a count.
            Destination(
                "notify",
                "/staff/messages",
                ("coordinator", "reviewer"),
                waiting="/api/v1/held/waiting",
            ),
            Destination("notify", "/staff/log"),
        ),
        (("notify", "/staff/messages"), ("notify", "/staff/log"), ("notify", "/staff/deliveries")),
    ),
    Section(
        "Webhooks",
        (Destination("notify", "/staff/webhooks", ("coordinator",)),),
        (("notify", "/staff/webhooks"),),
    ),
    Section(
        "Staff",
        (Destination("review", "/staff/people", ("coordinator",)),),
        (("review", "/staff/people"),),
    ),
    Section(
        # What the public sees of the program: the active alliances and Ambassadors.
        "Public directory",
        (Destination("review", "/directory"),),
        (("review", "/directory"),),
    ),
    Section(
        "Settings",
        (
            # The program's settings (the priority areas and their scoring) for the
            # Coordinator; one's own account for everyone else.
            Destination("review", "/staff/scoring", ("coordinator",)),
            Destination("review", "/staff/me"),
        ),
        (("review", "/staff/scoring"), ("review", "/staff/me"), ("review", "/staff/password")),
    ),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    current: bool
    # Where the page's script asks how much waits behind the item (None: no count).
    waiting_url: str | None = None


def _this_service() -> str:
    return str(current_app.config.get("SERVICE_NAME", "")) if has_request_context() else ""


def service_url(service: str, path: str, **query: Any) -> str:
    """The browser's path to ``path`` of ``service`` on this host, e.g.
    ``service_url("notify", "/staff/log", reference="AP-2026-00042")`` is
    ``/notify/staff/log?reference=AP-2026-00042``. Within the same service the app's own prefix
    is used (``request.script_root``), else the gateway's."""
    prefix = request.script_root if service == _this_service() else GATEWAY_PREFIXES[service]
    values = {key: value for key, value in query.items() if value is not None}
    return prefix + path + (f"?{urlencode(values)}" if values else "")


def absolute_url(public_base_url: str, service: str, path: str, **query: Any) -> str:
    """The absolute address of ``path`` of ``service`` for a page outside any request (an
    e-mail, a calendar entry), e.g. ``absolute_url("https://alliances.example", "review",
    "/staff/proposals/42")`` is ``https://alliances.example/review/staff/proposals/42``: the
    public base URL and the gateway's prefix of the service."""
    values = {key: value for key, value in query.items() if value is not None}
    query_string = f"?{urlencode(values)}" if values else ""
    return public_base_url.rstrip("/") + GATEWAY_PREFIXES[service] + path + query_string


def _beside_the_others() -> bool:
    """Whether this app is served at its gateway prefix (deploy/gateway.py, or nginx's
    X-Forwarded-Prefix), so the other services answer on the same host: an app served on its
    own (as some tests do) asks no other service for anything."""
    service = _this_service()
    return service in GATEWAY_PREFIXES and request.script_root == GATEWAY_PREFIXES[service]


def _may(roles: Iterable[str], held: frozenset[str]) -> bool:
    wanted = set(roles)
    return not wanted or bool(wanted & held)


def staff_navigation(
    staff: StaffSession | None,
    *,
    service: str | None = None,
    path: str | None = None,
) -> list[NavItem]:
    """The items ``staff`` may use, in order, with hrefs on this host and the section of the
    page being shown (``service``/``path``: this request's by default) marked current."""
    if staff is None:
        return []
    service = _this_service() if service is None else service
    path = (request.path if has_request_context() else "") if path is None else path
    items = []
    for section in SECTIONS:
        target = next((d for d in section.destinations if _may(d.roles, staff.roles)), None)
        if target is None:
            continue
        current = any(service == s and path.startswith(prefix) for s, prefix in section.pages)
        # The count is asked of the item's service only where the browser reaches it.
        reachable = has_request_context() and (
            target.service == _this_service() or _beside_the_others()
        )
        waiting = None
        if target.waiting and reachable:
            waiting = service_url(target.service, target.waiting)
        items.append(
            NavItem(section.label, service_url(target.service, target.path), current, waiting)
        )
    return items


# Where the site title of a staff page leads: the first of these the person may open (the
# services' roots are no pages). A person's work: proposals for those who decide them, the
# reports for a liaison, else their own account.
HOME: tuple[Destination, ...] = (
    Destination("review", "/staff/queue", ("coordinator", "reviewer")),
    Destination("reporting", "/staff/reports", ("coordinator", "liaison")),
    Destination(*ACCOUNT),
)


def staff_home(staff: StaffSession | None) -> str:
    """The site title's link on a staff page: the first of :data:`HOME` ``staff`` may open."""
    held = staff.roles if staff is not None else frozenset()
    target = next((d for d in HOME if _may(d.roles, held)), HOME[-1])
    return service_url(target.service, target.path)


def role_names(staff: StaffSession) -> list[str]:
    """The person's roles as people read them, in the order of ``ROLES``."""
    return [name for key, name in ROLES.items() if key in staff.roles]


def init_staff_shell(app: Flask) -> None:
    """Make :func:`service_url` and the staff header's pieces available to every template."""
    app.jinja_env.globals.update(
        service_url=service_url,
        staff_navigation=lambda: staff_navigation(current_staff()),
        staff_home_url=lambda: staff_home(current_staff()),
        staff_role_names=role_names,
        staff_sign_out_url=lambda: service_url(*SIGN_OUT),
        staff_account_url=lambda: service_url(*ACCOUNT),
    )
