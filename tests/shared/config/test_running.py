"""Rotating ``SECRET_KEY``: put the new key in ``SECRET_KEY`` and the old one in
``SECRET_KEY_FALLBACKS``. What the old key signed keeps opening (a partner's status link and
report link, the Flask session cookie and the CSRF token of a signed-in staff member's page, an
endpoint's sealed webhook secret) until the old key is dropped from the fallbacks; everything
new is signed with the new key.

Each step starts the apps again, as a deployment restarts its processes with the new
environment. The staff cookie itself is no signature but a random id looked up in Redis
(shared/staff_auth.py): rotating the key neither breaks it nor is needed to end it."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from services.intake import create_app as intake_app
from services.notify.webhooks import signing
from services.reporting import create_app as reporting_app
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens as report_tokens
from services.reporting.worker import database as reporting_database
from services.review import create_app as review_app
from shared.config import load_settings
from shared.staff_auth import COOKIE_NAME
from shared.testing import example_proposal
from tests.reporting.factories import run_reporting_task
from tests.review.factories import PASSWORD, alliance_signed_event, staff_member

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases", "redis_client")]

OLD = secrets.token_hex(32)
NEW = secrets.token_hex(32)


def use_keys(monkeypatch: pytest.MonkeyPatch, key: str, *fallbacks: str) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", ",".join(fallbacks))


# -- signed links -----------------------------------------------------------------------------


def test_a_status_link_signed_with_the_old_key_opens_until_the_key_is_dropped(monkeypatch):
    use_keys(monkeypatch, OLD)
    before = intake_app({"TESTING": True}).test_client()
    answer = before.post("/api/v1/proposals", json=example_proposal())
    assert answer.status_code == 201, answer.get_data(as_text=True)
    old_link = urlsplit(answer.json["status_url"]).path
    assert before.get(old_link).status_code == 200

    use_keys(monkeypatch, NEW, OLD)
    rotated = intake_app({"TESTING": True}).test_client()
    assert rotated.get(old_link).status_code == 200
    new_link = urlsplit(
        rotated.post("/api/v1/proposals", json=example_proposal()).json["status_url"]
    ).path
    assert rotated.get(new_link).status_code == 200

    use_keys(monkeypatch, NEW)
    dropped = intake_app({"TESTING": True}).test_client()
    refused = dropped.get(old_link)
    assert refused.status_code == 404
    assert "This link is not valid" in refused.get_data(as_text=True)
    assert dropped.get(new_link).status_code == 200  # signed with the new key


def test_a_report_link_signed_with_the_old_key_opens_until_the_key_is_dropped(monkeypatch):
    signed = alliance_signed_event(signing_date=date(2026, 1, 15), ends_on=date(2028, 1, 14))
    run_reporting_task("reporting.alliance_signed", signed)
    with reporting_database.transaction() as session:
        report_id = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0].id

    use_keys(monkeypatch, OLD)
    old_link = f"/reports/{report_tokens.make_token(report_id)}"
    assert reporting_app({"TESTING": True}).test_client().get(old_link).status_code == 200

    use_keys(monkeypatch, NEW, OLD)
    rotated = reporting_app({"TESTING": True}).test_client()
    assert rotated.get(old_link).status_code == 200
    new_link = f"/reports/{report_tokens.make_token(report_id)}"
    assert new_link != old_link

    use_keys(monkeypatch, NEW)
    dropped = reporting_app({"TESTING": True}).test_client()
    assert dropped.get(old_link).status_code == 404
    assert dropped.get(new_link).status_code == 200


# -- a signed-in staff member's session and form token ------------------------------------------


def signed_in_with_old_key(monkeypatch: pytest.MonkeyPatch) -> tuple[FlaskClient, str]:
    """A staff member signed in while ``OLD`` was the key, and the CSRF token their page got."""
    use_keys(monkeypatch, OLD)
    client = review_app({"TESTING": True}).test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/staff/sign-in",
        data={"csrf_token": form_token, "email": "rae@agency.example", "password": PASSWORD},
    )
    assert signed_in.status_code == 303
    return client, client.get("/api/v1/staff/me").json["csrf_token"]


def restarted(old: FlaskClient) -> FlaskClient:
    """A client of review started again with the environment now set, carrying ``old``'s
    cookies: the Flask session signed with the old key and the staff cookie."""
    client = review_app({"TESTING": True}).test_client()
    for name in ("session", COOKIE_NAME):
        cookie = old.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        client.set_cookie(name, cookie.value)
    return client


def test_a_staff_session_and_its_form_token_keep_working_while_the_old_key_is_a_fallback(
    monkeypatch,
):
    staff_member()
    before, form_token = signed_in_with_old_key(monkeypatch)

    use_keys(monkeypatch, NEW, OLD)
    rotated = restarted(before)
    assert rotated.get("/api/v1/staff/me").json["email"] == "rae@agency.example"
    # The page's token, signed with the old key, against the Flask session it signed too.
    signed_out = rotated.post("/staff/sign-out", data={"csrf_token": form_token})
    assert signed_out.status_code == 303
    assert rotated.get("/api/v1/staff/me").status_code == 401  # signed out indeed


def test_a_form_token_signed_with_a_dropped_key_is_refused(monkeypatch):
    staff_member()
    before, form_token = signed_in_with_old_key(monkeypatch)

    use_keys(monkeypatch, NEW)
    dropped = restarted(before)
    refused = dropped.post("/staff/sign-out", data={"csrf_token": form_token})
    assert refused.status_code == 400
    assert "For your security, this page timed out" in refused.get_data(as_text=True)
    # Still signed in: the sign-out did not happen. The staff cookie is no signature (a
    # random id in Redis), so it outlives the key; a new page gives a token of the new key.
    assert dropped.get("/api/v1/staff/me").json["email"] == "rae@agency.example"
    fresh = dropped.get("/api/v1/staff/me").json["csrf_token"]
    assert dropped.post("/staff/sign-out", data={"csrf_token": fresh}).status_code == 303


# -- the endpoints' sealed webhook secrets ------------------------------------------------------


def test_a_webhook_secret_sealed_with_the_old_key_opens_until_the_key_is_dropped(monkeypatch):
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY", raising=False)
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY_FALLBACKS", raising=False)
    secret = signing.new_secret()
    use_keys(monkeypatch, OLD)
    sealed = signing.seal(secret, key=load_settings().webhooks.secrets_key)

    def unsealed() -> Any:
        keys = load_settings().webhooks
        return signing.unseal(sealed, key=keys.secrets_key, fallbacks=keys.secrets_key_fallbacks)

    use_keys(monkeypatch, NEW, OLD)
    assert unsealed() == secret
    # Moving to a key of its own: the old SECRET_KEY listed among the webhook fallbacks.
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", secrets.token_hex(32))
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY_FALLBACKS", OLD)
    assert unsealed() == secret
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY")
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY_FALLBACKS")

    use_keys(monkeypatch, NEW)
    with pytest.raises(signing.SecretUnreadable):
        unsealed()
