"""Who may use each route of the notify app (its staff pages and API): every route, every
kind of visitor. Same rules as tests/integration/test_route_access.py for review: a route
missing from EXPECTED fails the first test; the second checks each identity's answer."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest

from services.notify import create_app
from tests.factories import acting, signed_in

pytestmark = pytest.mark.integration

PUBLIC = "public"
ANY_STAFF = ("coordinator", "reviewer", "liaison")
RELEASERS = ("coordinator", "reviewer")
COORDINATOR = ("coordinator",)
IDENTITIES = ("anonymous", "reviewer", "liaison", "coordinator")

EXPECTED: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("/healthz", "GET"): PUBLIC,
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
        "add these notify routes to EXPECTED in tests/integration/test_route_access_notify.py "
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
