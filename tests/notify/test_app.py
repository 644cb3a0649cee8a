"""Who may use each route of the notify app (its staff pages and API): every route, every
kind of visitor. Same rules as tests/review/test_app.py for review: a route
missing from EXPECTED fails the first test; the second checks each identity's answer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.notify import create_app
from services.notify.webhooks.tasks import CONSUMERS as webhook_consumers
from services.notify.worker import database
from tests.helpers import stored_rows
from tests.intake.factories import submitted_event
from tests.notify.factories import held_decision_message
from tests.offline_dns import OfflineResolver
from tests.shared.factories import acting, signed_in

pytestmark = pytest.mark.integration

PUBLIC = "public"
ANY_STAFF = ("coordinator", "reviewer", "liaison")
RELEASERS = ("coordinator", "reviewer")
COORDINATOR = ("coordinator",)
IDENTITIES = ("anonymous", "reviewer", "liaison", "coordinator")

EXPECTED: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("/healthz", "GET"): PUBLIC,
    ("/readyz", "GET"): PUBLIC,
    ("/metrics", "GET"): PUBLIC,
    ("/static/<path:filename>", "GET"): PUBLIC,
    ("/assets/uswds/<path:filename>", "GET"): PUBLIC,
    ("/assets/site/<path:filename>", "GET"): PUBLIC,
    ("/api/v1/openapi.json", "GET"): PUBLIC,
    ("/staff/messages", "GET"): RELEASERS,
    ("/staff/messages", "POST"): RELEASERS,
    ("/staff/messages/<uuid:message_id>", "GET"): RELEASERS,
    ("/staff/messages/<uuid:message_id>", "POST"): RELEASERS,
    ("/staff/log", "GET"): ANY_STAFF,
    ("/staff/log/<uuid:message_id>", "GET"): ANY_STAFF,
    ("/staff/log/<uuid:message_id>/html", "GET"): ANY_STAFF,
    ("/staff/log/<uuid:message_id>/resend", "GET"): RELEASERS,
    ("/staff/log/<uuid:message_id>/resend", "POST"): RELEASERS,
    ("/staff/deliveries", "GET"): COORDINATOR,
    ("/staff/deliveries/<uuid:message_id>/resend", "POST"): COORDINATOR,
    ("/api/v1/messages", "GET"): ANY_STAFF,
    ("/api/v1/messages/<uuid:message_id>", "GET"): ANY_STAFF,
    ("/api/v1/messages/<uuid:message_id>", "PUT"): RELEASERS,
    ("/api/v1/messages/<uuid:message_id>/resend", "POST"): RELEASERS,
    ("/api/v1/held", "GET"): RELEASERS,
    ("/api/v1/held/waiting", "GET"): RELEASERS,
    ("/api/v1/held/release", "POST"): RELEASERS,
    ("/api/v1/held/hold", "POST"): RELEASERS,
    ("/staff/webhooks", "GET"): COORDINATOR,
    ("/staff/webhooks", "POST"): COORDINATOR,
    ("/staff/webhooks/<uuid:endpoint_id>", "GET"): COORDINATOR,
    ("/staff/webhooks/<uuid:endpoint_id>", "POST"): COORDINATOR,
    ("/staff/webhooks/deliveries/<uuid:delivery_id>", "GET"): COORDINATOR,
    ("/staff/webhooks/deliveries/<uuid:delivery_id>", "POST"): COORDINATOR,
    ("/api/v1/webhooks/endpoints", "GET"): COORDINATOR,
    ("/api/v1/webhooks/endpoints", "POST"): COORDINATOR,
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>", "GET"): COORDINATOR,
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>", "PATCH"): COORDINATOR,
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>", "DELETE"): COORDINATOR,
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>/secret", "POST"): COORDINATOR,
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>/deliveries", "GET"): COORDINATOR,
    ("/api/v1/webhooks/deliveries/<uuid:delivery_id>", "GET"): COORDINATOR,
    ("/api/v1/webhooks/deliveries/<uuid:delivery_id>/replay", "POST"): COORDINATOR,
}


def test_every_route_of_the_notify_app_is_in_the_table():
    app = create_app({"TESTING": True})
    routes = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert sorted(routes - EXPECTED.keys()) == [], (
        "add these notify routes to EXPECTED in tests/notify/test_app.py "
        "and protect them with shared.staff_auth"
    )
    assert sorted(EXPECTED.keys() - routes) == [], "remove routes the app no longer has"


def url_for_rule(rule: str) -> str:
    return re.sub(
        r"<(?:\w+:)?(\w+)>",
        lambda m: str(uuid.UUID(int=42)) if m[1].endswith("_id") else "css/uswds.min.css",
        rule,
    )


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("rule", "method"), sorted(EXPECTED), ids=lambda v: str(v))
def test_route_answers_each_identity_as_the_table_says(
    migrated, redis_client, rule, method, identity
):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    if identity == "anonymous":
        client = app.test_client()
    else:
        client = signed_in(app, acting(f"{identity}@agency.example", identity))
    url = url_for_rule(rule) + (
        "?proposal_id=" + str(uuid.UUID(int=7)) if rule == "/api/v1/messages" else ""
    )
    api = rule.startswith("/api/")
    kwargs: dict = {}
    if method != "GET":
        kwargs["json" if api else "data"] = {}
    response = client.open(url, method=method, **kwargs)
    response.close()  # a static file's stream
    location = response.headers.get("Location", "")
    expected = EXPECTED[(rule, method)]
    allowed = expected == PUBLIC or identity in expected
    what = f"{method} {url} as {identity}: {response.status_code} {location}"

    unhealthy = rule == "/healthz" and response.status_code == 503  # no workers here
    assert response.status_code < 500 or unhealthy, what
    if allowed:
        assert response.status_code not in (401, 403), what
    elif identity == "anonymous":
        if api:
            assert response.status_code == 401, what
        else:
            assert response.status_code == 303, what
            assert urlsplit(location).path == "/review/staff/sign-in", what
    else:
        assert response.status_code == 403, what


# -- writes with a valid body ------------------------------------------------------------------
# As in tests/review/test_app.py: each write of the API gets a valid body aimed at records made for
# the test; whom the table allows gets a 2xx and the database changes, whom it refuses gets
# 401/403 and every row stays as it was.

HOOKS = "https://hooks.example.org/alliance"


def as_coordinator(app: Any) -> Any:
    return signed_in(app, acting("coordinator@agency.example", "coordinator"))


def endpoint(app: Any) -> str:
    made = as_coordinator(app).post(
        "/api/v1/webhooks/endpoints", json={"url": HOOKS, "event_types": ["proposal.submitted"]}
    )
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["id"])


def delivery(app: Any) -> str:
    hook = endpoint(app)
    webhook_consumers["proposal.submitted"](event=submitted_event().to_message())
    listed = as_coordinator(app).get(f"/api/v1/webhooks/endpoints/{hook}/deliveries")
    [found] = listed.get_json()["deliveries"]
    return str(found["id"])


WRITES: dict[tuple[str, str], Callable[[Any], tuple[str, Any]]] = {
    ("/api/v1/messages/<uuid:message_id>", "PUT"): lambda app: (
        f"/api/v1/messages/{held_decision_message().id}",
        {"subject": "Your proposal", "text_body": "A decision, in other words."},
    ),
    ("/api/v1/messages/<uuid:message_id>/resend", "POST"): lambda app: (
        f"/api/v1/messages/{held_decision_message(held=False).id}/resend",
        None,
    ),
    ("/api/v1/held/release", "POST"): lambda app: (
        "/api/v1/held/release",
        {"message_ids": [str(held_decision_message().id)]},
    ),
    ("/api/v1/held/hold", "POST"): lambda app: (
        "/api/v1/held/hold",
        {"message_ids": [str(held_decision_message(held=False).id)]},
    ),
    ("/api/v1/webhooks/endpoints", "POST"): lambda app: (
        "/api/v1/webhooks/endpoints",
        {"url": HOOKS, "event_types": ["report.overdue"]},
    ),
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>", "PATCH"): lambda app: (
        f"/api/v1/webhooks/endpoints/{endpoint(app)}",
        {"enabled": False, "description": "Paused"},
    ),
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>", "DELETE"): lambda app: (
        f"/api/v1/webhooks/endpoints/{endpoint(app)}",
        None,
    ),
    ("/api/v1/webhooks/endpoints/<uuid:endpoint_id>/secret", "POST"): lambda app: (
        f"/api/v1/webhooks/endpoints/{endpoint(app)}/secret",
        None,
    ),
    ("/api/v1/webhooks/deliveries/<uuid:delivery_id>/replay", "POST"): lambda app: (
        f"/api/v1/webhooks/deliveries/{delivery(app)}/replay",
        None,
    ),
}


def test_every_api_write_has_a_valid_body_here():
    writes = {
        (rule, method)
        for rule, method in EXPECTED
        if rule.startswith("/api/") and method in ("POST", "PUT", "PATCH", "DELETE")
    }
    assert sorted(writes - WRITES.keys()) == []


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("rule", "method"), sorted(WRITES), ids=lambda v: str(v))
def test_a_valid_write_is_stored_for_whom_the_table_allows_and_only_them(
    migrated, redis_client, monkeypatch, rule, method, identity
):
    # Registering a webhook looks its host up: the host is public, no name reaches DNS.
    OfflineResolver({"hooks.example.org": ["93.184.215.14"]}).install(monkeypatch)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    url, body = WRITES[(rule, method)](app)
    if identity == "anonymous":
        client = app.test_client()
    else:
        client = signed_in(app, acting(f"{identity}@agency.example", identity))
    before = stored_rows(database)
    response = client.open(url, method=method, json=body)
    what = f"{method} {url} as {identity}: {response.status_code} {response.get_data(as_text=True)}"
    if identity in EXPECTED[(rule, method)]:
        assert 200 <= response.status_code < 300, what
        assert stored_rows(database) != before, what
    else:
        assert response.status_code == (401 if identity == "anonymous" else 403), what
        assert stored_rows(database) == before, what
