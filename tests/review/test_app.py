"""Who may use each route of the review app: every route, every kind of visitor.

EXPECTED below says, for each route and method, who may use it. The first test fails when
the app has a route the table does not name (or the table names one that is gone), so a new
route cannot slip in unchecked: add it to the table. The second test then signs in as each
identity through the real sign-in page and checks the answer: the sign-in page (HTML) or 401
(API) for visitors who are not signed in, 403 for staff without the role, and for those
allowed anything but those (and never a server error; /healthz may say 503, as no workers
run here)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, select, text

from services.review import create_app
from services.review.staff import domain as accounts
from services.review.staff.models import StaffUser
from services.review.worker import database
from shared.config import load_settings
from shared.dates import term_end
from shared.db import sqlalchemy_url
from tests.helpers import stored_rows
from tests.intake.factories import proposal
from tests.review.factories import (
    PASSWORD,
    agency_today,
    approved_alliance,
    prepared_decision,
    queued_proposal,
    signed_alliance,
    staff_member,
)
from tests.shared.factories import acting

pytestmark = pytest.mark.integration

PUBLIC = "public"
ANY_STAFF = ("coordinator", "reviewer", "liaison")
COORDINATOR = ("coordinator",)
DECIDERS = ("coordinator", "reviewer")
WORK_PLAN_EDITORS = ("coordinator", "liaison")

# (rule, method) -> PUBLIC, or the roles any one of which lets a person in.
EXPECTED: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("/healthz", "GET"): PUBLIC,
    ("/readyz", "GET"): PUBLIC,
    ("/metrics", "GET"): PUBLIC,
    ("/static/<path:filename>", "GET"): PUBLIC,
    ("/assets/uswds/<path:filename>", "GET"): PUBLIC,
    ("/assets/site/<path:filename>", "GET"): PUBLIC,
    ("/api/v1/openapi.json", "GET"): PUBLIC,  # the API's description; no data
    # Signing in and out (services/review/staff/views.py; the API: staff/api.py)
    ("/staff/sign-in", "GET"): PUBLIC,
    ("/staff/sign-in", "POST"): PUBLIC,
    ("/staff/sign-out", "POST"): PUBLIC,
    # A forgotten password, and the e-mailed link that sets one (the link is the credential)
    ("/staff/forgot-password", "GET"): PUBLIC,
    ("/staff/forgot-password", "POST"): PUBLIC,
    ("/staff/set-password/<token>", "GET"): PUBLIC,
    ("/staff/set-password/<token>", "POST"): PUBLIC,
    # One's own account
    ("/staff/me", "GET"): ANY_STAFF,
    ("/staff/password", "GET"): ANY_STAFF,
    ("/staff/password", "POST"): ANY_STAFF,
    ("/api/v1/staff/me", "GET"): ANY_STAFF,
    ("/api/v1/staff/me/password", "POST"): ANY_STAFF,
    # Staff management
    ("/staff/people", "GET"): COORDINATOR,
    ("/staff/people/new", "GET"): COORDINATOR,
    ("/staff/people/new", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>", "GET"): COORDINATOR,
    ("/staff/people/<uuid:user_id>", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>/deactivate", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>/reactivate", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>/password", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>/office", "POST"): COORDINATOR,
    ("/staff/people/<uuid:user_id>/invitation", "POST"): COORDINATOR,
    ("/api/v1/staff", "GET"): COORDINATOR,
    ("/api/v1/staff", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/roles", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/active", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/office", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/password", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/invitation", "POST"): COORDINATOR,
    # The queue and decisions: pages and API (services/review/queue/, decisions/)
    ("/staff/", "GET"): ANY_STAFF,
    ("/staff/queue", "GET"): ANY_STAFF,
    ("/staff/proposals/<uuid:proposal_id>", "GET"): ANY_STAFF,
    ("/staff/proposals/<uuid:proposal_id>/comments", "POST"): ANY_STAFF,
    ("/staff/proposals/<uuid:proposal_id>/claim", "POST"): DECIDERS,
    ("/staff/proposals/<uuid:proposal_id>/assignment", "POST"): COORDINATOR,
    ("/staff/queue/assignments", "POST"): COORDINATOR,
    ("/staff/proposals/<uuid:proposal_id>/adjustment", "POST"): DECIDERS,
    ("/staff/proposals/<uuid:proposal_id>/decision", "POST"): DECIDERS,
    ("/staff/decisions", "GET"): DECIDERS,
    ("/staff/decisions", "POST"): DECIDERS,
    ("/staff/conflicts", "GET"): ANY_STAFF,
    ("/staff/conflicts", "POST"): ANY_STAFF,
    ("/staff/scoring", "GET"): COORDINATOR,
    ("/staff/scoring", "POST"): COORDINATOR,
    ("/api/v1/queue", "GET"): ANY_STAFF,
    ("/api/v1/progress", "GET"): ANY_STAFF,
    ("/api/v1/proposals/<uuid:proposal_id>", "GET"): ANY_STAFF,
    ("/api/v1/proposals/<uuid:proposal_id>/comments", "POST"): ANY_STAFF,
    ("/api/v1/proposals/<uuid:proposal_id>/adjustment", "POST"): DECIDERS,
    ("/api/v1/proposals/<uuid:proposal_id>/assignment", "POST"): DECIDERS,
    ("/api/v1/proposals/assignments", "POST"): COORDINATOR,
    ("/api/v1/proposals/<uuid:proposal_id>/decision", "POST"): DECIDERS,
    ("/api/v1/decisions", "GET"): DECIDERS,
    ("/api/v1/decisions/release", "POST"): DECIDERS,
    ("/api/v1/conflicts", "GET"): ANY_STAFF,
    ("/api/v1/conflicts", "POST"): ANY_STAFF,
    ("/api/v1/scoring-config", "GET"): ANY_STAFF,
    ("/api/v1/scoring-config", "POST"): COORDINATOR,
    # Signed alliances and roundtables (services/review/alliances/api.py, roundtables/api.py);
    # a liaison edits only their own alliances' work plans (alliances.domain, not this table).
    # Signed alliances: staff pages (services/review/alliances/views.py); as in the API, a
    # liaison changes only their own alliances' work plans (alliances.domain).
    ("/staff/alliances", "GET"): ANY_STAFF,
    ("/staff/alliances/<uuid:alliance_id>", "GET"): ANY_STAFF,
    ("/staff/alliances/<uuid:alliance_id>/milestones", "POST"): WORK_PLAN_EDITORS,
    ("/staff/alliances/<uuid:alliance_id>/milestones/<uuid:milestone_id>", "POST"): (
        WORK_PLAN_EDITORS
    ),
    ("/staff/alliances/<uuid:alliance_id>/meetings", "POST"): WORK_PLAN_EDITORS,
    ("/staff/alliances/<uuid:alliance_id>/documents", "POST"): WORK_PLAN_EDITORS,
    ("/staff/alliances/<uuid:alliance_id>/signing", "POST"): COORDINATOR,
    ("/staff/alliances/<uuid:alliance_id>/renewal", "POST"): COORDINATOR,
    ("/staff/alliances/<uuid:alliance_id>/office", "POST"): COORDINATOR,
    ("/staff/alliances/import", "GET"): COORDINATOR,
    ("/staff/alliances/import", "POST"): COORDINATOR,
    ("/staff/alliances/import/template.csv", "GET"): COORDINATOR,
    ("/staff/alliances/<uuid:alliance_id>/conclusion", "POST"): COORDINATOR,
    ("/staff/alliances/<uuid:alliance_id>/termination", "POST"): COORDINATOR,
    ("/staff/alliances/<uuid:alliance_id>/ambassador", "POST"): COORDINATOR,
    ("/directory", "GET"): PUBLIC,  # the public directory of alliances
    ("/api/v1/directory", "GET"): PUBLIC,
    ("/api/v1/alliances", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>/milestones", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>/milestones", "POST"): WORK_PLAN_EDITORS,
    ("/api/v1/alliances/<uuid:alliance_id>/milestones/<uuid:milestone_id>", "PATCH"): (
        WORK_PLAN_EDITORS
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/meetings", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>/meetings", "POST"): WORK_PLAN_EDITORS,
    ("/api/v1/alliances/<uuid:alliance_id>/meetings/<uuid:meeting_id>", "DELETE"): (
        WORK_PLAN_EDITORS
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/documents", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>/documents", "POST"): WORK_PLAN_EDITORS,
    ("/api/v1/alliances/<uuid:alliance_id>/documents/<uuid:document_id>", "DELETE"): (
        WORK_PLAN_EDITORS
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/signing", "POST"): COORDINATOR,
    ("/api/v1/alliances/<uuid:alliance_id>/renewal", "POST"): COORDINATOR,
    ("/api/v1/alliances/<uuid:alliance_id>/office", "POST"): COORDINATOR,
    ("/api/v1/alliances/<uuid:alliance_id>/conclusion", "POST"): COORDINATOR,
    ("/api/v1/alliances/<uuid:alliance_id>/termination", "POST"): COORDINATOR,
    ("/api/v1/alliances/<uuid:alliance_id>/ambassador", "GET"): ANY_STAFF,
    ("/api/v1/alliances/<uuid:alliance_id>/ambassador", "POST"): COORDINATOR,
    ("/api/v1/roundtables", "GET"): ANY_STAFF,
    ("/api/v1/roundtables", "POST"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>", "PATCH"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>/memberships", "GET"): ANY_STAFF,
    ("/api/v1/roundtables/<uuid:roundtable_id>/memberships", "POST"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>/memberships/<uuid:membership_id>", "PATCH"): (
        COORDINATOR
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/meetings", "GET"): ANY_STAFF,
    ("/api/v1/roundtables/<uuid:roundtable_id>/meetings", "POST"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>/meetings/<uuid:meeting_id>", "DELETE"): (
        COORDINATOR
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/products", "GET"): ANY_STAFF,
    ("/api/v1/roundtables/<uuid:roundtable_id>/products", "POST"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>", "PATCH"): COORDINATOR,
    ("/api/v1/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>", "DELETE"): (
        COORDINATOR
    ),
    # Roundtables: staff pages (services/review/roundtables/views.py); the Coordinator keeps them.
    ("/staff/roundtables", "GET"): ANY_STAFF,
    ("/staff/roundtables", "POST"): COORDINATOR,
    ("/staff/roundtables/<uuid:roundtable_id>", "GET"): ANY_STAFF,
    ("/staff/roundtables/<uuid:roundtable_id>/workgroups", "POST"): COORDINATOR,
    ("/staff/roundtables/<uuid:roundtable_id>/members", "POST"): COORDINATOR,
    (
        "/staff/roundtables/<uuid:roundtable_id>/members/<uuid:membership_id>/departure",
        "POST",
    ): COORDINATOR,
    ("/staff/roundtables/<uuid:roundtable_id>/meetings", "POST"): COORDINATOR,
    ("/staff/roundtables/<uuid:roundtable_id>/products", "POST"): COORDINATOR,
    ("/staff/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>/listing", "POST"): (
        COORDINATOR
    ),
    ("/staff/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>/removal", "POST"): (
        COORDINATOR
    ),
}

IDENTITIES = ("anonymous", "reviewer", "liaison", "coordinator")
SAMPLE = {"uuid": str(uuid.UUID(int=42)), "path": "no/such/file.txt"}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_of_the_review_app_is_in_the_table():
    routes = app_routes(create_app({"TESTING": True}))
    missing = sorted(routes - EXPECTED.keys())
    gone = sorted(EXPECTED.keys() - routes)
    assert not missing, (
        "These routes of the review app are not in EXPECTED in "
        "tests/review/test_app.py: add each one, saying who may use it "
        "(PUBLIC, ANY_STAFF, COORDINATOR, DECIDERS, WORK_PLAN_EDITORS or a tuple of roles), "
        "and protect the view with shared.staff_auth.staff_required / staff_api_required:\n"
        + "\n".join(f"    {method} {rule}" for rule, method in missing)
    )
    assert not gone, "EXPECTED names routes the app no longer has; remove them:\n" + "\n".join(
        f"    {method} {rule}" for rule, method in gone
    )


@pytest.fixture(scope="module")
def app():
    """One review app answers every request of the module, as one process answers many."""
    return create_app({"TESTING": True})


@pytest.fixture(scope="module")
def staff_accounts(migrated):
    """One person per role, made once for this module (sign-ins are made per test)."""
    engine = create_engine(sqlalchemy_url(migrated["review"]))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE staff_users CASCADE"))
    engine.dispose()
    with database.transaction() as session:
        for role in ("reviewer", "liaison", "coordinator"):
            name = f"Only {role.title()}"
            staff_member(f"{role}@agency.example", role, name=name, session=session)
    yield
    with database.transaction() as session:
        session.execute(text("TRUNCATE staff_users CASCADE"))


def url_for_rule(rule: str) -> str:
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: SAMPLE.get(m[1] or "", "x"), rule)


def client_as(app, identity: str):
    client = app.test_client()
    html = client.get("/staff/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    if identity != "anonymous":
        response = client.post(
            "/staff/sign-in",
            data={"csrf_token": token, "email": f"{identity}@agency.example", "password": PASSWORD},
        )
        assert response.status_code == 303, f"could not sign in as {identity}"
    return client, token


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("rule", "method"), sorted(EXPECTED), ids=lambda v: str(v))
def test_route_answers_each_identity_as_the_table_says(
    app, staff_accounts, redis_client, rule, method, identity
):
    client, token = client_as(app, identity)
    url = url_for_rule(rule)
    api = rule.startswith("/api/")
    kwargs: dict = {"headers": {"X-CSRFToken": token}}
    if method != "GET":
        kwargs["json" if api else "data"] = {}
    response = client.open(url, method=method, **kwargs)
    location = response.headers.get("Location", "")
    sent_to_sign_in = (
        response.status_code in (302, 303)
        and urlsplit(location).path == "/staff/sign-in"
        and "signed_out" not in location
    )
    expected = EXPECTED[(rule, method)]
    allowed = expected == PUBLIC or identity in expected
    what = f"{method} {url} as {identity}: {response.status_code} {location}"

    unhealthy = rule == "/healthz" and response.status_code == 503  # no workers in this test
    assert response.status_code < 500 or unhealthy, what
    if allowed:
        assert response.status_code not in (401, 403), what
        assert not sent_to_sign_in, what
    elif identity == "anonymous":
        if api:
            assert response.status_code == 401, what
            assert response.get_json() == {"errors": {"_request": ["Sign in as staff first."]}}
        else:
            assert response.status_code == 303, what
            assert sent_to_sign_in, what
            if method == "GET":
                assert location == f"/staff/sign-in?{urlencode({'next': url})}", what
    else:
        assert response.status_code == 403, what


# -- writes with a valid body ------------------------------------------------------------------
# The table above sends writes an empty body, so "allowed" there means only "not refused".
# Here each write of the JSON API gets a valid body aimed at records made for the test (through
# tests/factories.py): whoever the table allows gets a 2xx and the database changes; whoever it
# refuses gets 401/403 and the database stays as it was, row for row.


def account(role: str) -> StaffUser:
    with database.transaction() as session:
        person = session.scalars(
            select(StaffUser).where(StaffUser.email == f"{role}@agency.example")
        ).one()
        session.expunge(person)
        return person


def liaison_account() -> accounts.Liaison:
    person = account("liaison")
    return accounts.Liaison(id=person.id, name=person.name, email=person.email)


def own_alliance() -> uuid.UUID:
    """A signed alliance whose liaison is the signed-in liaison's account."""
    return signed_alliance(
        name=f"Partner {uuid.uuid4().hex[:8]}",
        signing_date=agency_today() - timedelta(days=400),
        liaison=liaison_account(),
    ).id


def waiting_proposal() -> str:
    return str(queued_proposal(proposal(f"Partner {uuid.uuid4().hex[:8]}")).proposal_id)


def other_person() -> str:
    return str(staff_member(f"p{uuid.uuid4().hex[:8]}@agency.example", "reviewer").id)


def invited_person() -> str:
    """An account waiting for its person to set a password (an invitation can be sent again)."""
    with database.transaction() as session:
        person = accounts.add_account(
            session,
            email=f"i{uuid.uuid4().hex[:8]}@agency.example",
            name="Invited Person",
            roles=["reviewer"],
            password=None,
            actor="test",
            settings=load_settings(),
        )
        return str(person.id)


def api_write(client: Any, url: str, method: str, token: str, body: Any) -> Any:
    return client.open(url, method=method, json=body, headers={"X-CSRFToken": token})


def made(client: Any, token: str, url: str, body: Any) -> str:
    """The id of a record made as the Coordinator, for a write that changes it."""
    answer = api_write(client, url, "POST", token, body)
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["id"])


def _milestone(coordinator: Any, token: str) -> tuple[str, Any]:
    url = f"/api/v1/alliances/{own_alliance()}/milestones"
    body = {"title": "Toolbox talks", "target_date": "2026-06-01", "responsible": "Partner"}
    return f"{url}/{made(coordinator, token, url, body)}", {"status": "done"}


def _meeting(coordinator: Any, token: str) -> tuple[str, Any]:
    url = f"/api/v1/alliances/{own_alliance()}/meetings"
    return f"{url}/{made(coordinator, token, url, {'met_on': agency_today().isoformat()})}", None


def _document(coordinator: Any, token: str) -> tuple[str, Any]:
    url = f"/api/v1/alliances/{own_alliance()}/documents"
    body = {"title": "Agreement", "kind": "agreement", "url": "https://example.org/a.pdf"}
    return f"{url}/{made(coordinator, token, url, body)}", None


def _roundtable(coordinator: Any, token: str) -> str:
    body = {"name": f"Roundtable {uuid.uuid4().hex[:8]}", "starts_on": "2026-01-01"}
    return made(coordinator, token, "/api/v1/roundtables", body)


def _membership(coordinator: Any, token: str) -> tuple[str, Any]:
    url = f"/api/v1/roundtables/{_roundtable(coordinator, token)}/memberships"
    joined = {"alliance_id": str(own_alliance()), "joined_on": agency_today().isoformat()}
    return f"{url}/{made(coordinator, token, url, joined)}", {"left_on": agency_today().isoformat()}


def _roundtable_meeting(coordinator: Any, token: str) -> tuple[str, Any]:
    url = f"/api/v1/roundtables/{_roundtable(coordinator, token)}/meetings"
    body = {"held_on": agency_today().isoformat(), "topic": "Heat plans"}
    return f"{url}/{made(coordinator, token, url, body)}", None


PRODUCT = {
    "kind": "fact_sheet",
    "title": "Trench safety at a glance",
    "url": "https://example.org/trench.pdf",
    "published_on": "2026-02-01",
}


def _product(coordinator: Any, token: str) -> str:
    url = f"/api/v1/roundtables/{_roundtable(coordinator, token)}/products"
    return f"{url}/{made(coordinator, token, url, PRODUCT)}"


def _renewal() -> tuple[str, Any]:
    signed = agency_today() - timedelta(days=3 * 365)
    alliance_id = signed_alliance(
        name=f"Partner {uuid.uuid4().hex[:8]}", signing_date=signed, term_years=2
    ).id
    renewal_signed = term_end(signed, 2) - timedelta(days=10)
    body = {"signing_date": renewal_signed.isoformat(), "term_years": 4}
    return f"/api/v1/alliances/{alliance_id}/renewal", body


def _release(identity: str) -> tuple[str, Any]:
    by = acting(f"{identity}@agency.example", "reviewer", staff_id=account(identity).id)
    decision = prepared_decision(uuid.UUID(waiting_proposal()), by=by)
    return "/api/v1/decisions/release", {"decision_ids": [str(decision.id)]}


# (rule, method) -> what to send, given who sends it and a Coordinator's client to make records.
Build = Callable[[str, Any, str], tuple[str, Any]]
WRITES: dict[tuple[str, str], Build] = {
    ("/api/v1/staff", "POST"): lambda who, c, t: (
        "/api/v1/staff",
        {
            "email": f"n{uuid.uuid4().hex[:8]}@agency.example",
            "name": "New Person",
            "roles": ["reviewer"],
            "password": "a long enough password 1",
        },
    ),
    ("/api/v1/staff/<uuid:user_id>/roles", "POST"): lambda who, c, t: (
        f"/api/v1/staff/{other_person()}/roles",
        {"roles": ["liaison"]},
    ),
    ("/api/v1/staff/<uuid:user_id>/active", "POST"): lambda who, c, t: (
        f"/api/v1/staff/{other_person()}/active",
        {"active": False},
    ),
    ("/api/v1/staff/<uuid:user_id>/office", "POST"): lambda who, c, t: (
        f"/api/v1/staff/{other_person()}/office",
        {"office": "construction_safety_health"},
    ),
    ("/api/v1/staff/<uuid:user_id>/password", "POST"): lambda who, c, t: (
        f"/api/v1/staff/{other_person()}/password",
        {"password": "another long password 2"},
    ),
    ("/api/v1/staff/<uuid:user_id>/invitation", "POST"): lambda who, c, t: (
        f"/api/v1/staff/{invited_person()}/invitation",
        {},
    ),
    ("/api/v1/proposals/<uuid:proposal_id>/comments", "POST"): lambda who, c, t: (
        f"/api/v1/proposals/{waiting_proposal()}/comments",
        {"body": "Good reach."},
    ),
    ("/api/v1/proposals/<uuid:proposal_id>/adjustment", "POST"): lambda who, c, t: (
        f"/api/v1/proposals/{waiting_proposal()}/adjustment",
        {"points": 10, "reason": "A partner we asked for."},
    ),
    ("/api/v1/proposals/<uuid:proposal_id>/assignment", "POST"): lambda who, c, t: (
        f"/api/v1/proposals/{waiting_proposal()}/assignment",
        # A claim (the Coordinator assigns herself); someone else for those with no account.
        {"reviewer_id": str(account(who if who in DECIDERS else "reviewer").id)},
    ),
    ("/api/v1/proposals/assignments", "POST"): lambda who, c, t: (
        "/api/v1/proposals/assignments",
        {"proposal_ids": [waiting_proposal()], "reviewer_id": str(account("reviewer").id)},
    ),
    ("/api/v1/proposals/<uuid:proposal_id>/decision", "POST"): lambda who, c, t: (
        f"/api/v1/proposals/{waiting_proposal()}/decision",
        {"kind": "declined", "details": {"reason": "Not this year."}},
    ),
    ("/api/v1/decisions/release", "POST"): lambda who, c, t: _release(
        who if who in DECIDERS else "reviewer"
    ),
    ("/api/v1/conflicts", "POST"): lambda who, c, t: (
        "/api/v1/conflicts",
        {"organization_name": f"Partner {uuid.uuid4().hex[:8]}"},
    ),
    ("/api/v1/scoring-config", "POST"): lambda who, c, t: (
        "/api/v1/scoring-config",
        {"priority_areas": [{"slug": "heat", "label": "Heat", "weight": 80}], "note": "Heat"},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/milestones", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{own_alliance()}/milestones",
        {"title": "Toolbox talks", "target_date": "2026-06-01", "responsible": "Partner"},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/milestones/<uuid:milestone_id>", "PATCH"): (
        lambda who, c, t: _milestone(c, t)
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/meetings", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{own_alliance()}/meetings",
        {"met_on": agency_today().isoformat()},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/meetings/<uuid:meeting_id>", "DELETE"): (
        lambda who, c, t: _meeting(c, t)
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/documents", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{own_alliance()}/documents",
        {"title": "Agreement", "kind": "agreement", "url": "https://example.org/a.pdf"},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/documents/<uuid:document_id>", "DELETE"): (
        lambda who, c, t: _document(c, t)
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/signing", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{approved_alliance(f'Partner {uuid.uuid4().hex[:8]}').id}/signing",
        {"signing_date": agency_today().isoformat()},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/renewal", "POST"): lambda who, c, t: _renewal(),
    ("/api/v1/alliances/<uuid:alliance_id>/office", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{approved_alliance(f'Partner {uuid.uuid4().hex[:8]}').id}/office",
        {"office": "consultation_education_training", "reason": "Its members train others."},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/conclusion", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{own_alliance()}/conclusion",
        {"reason": "The work is done."},
    ),
    ("/api/v1/alliances/<uuid:alliance_id>/termination", "POST"): lambda who, c, t: (
        f"/api/v1/alliances/{own_alliance()}/termination",
        {"notice_date": agency_today().isoformat(), "reason": "Partner dissolved"},
    ),
    ("/api/v1/roundtables", "POST"): lambda who, c, t: (
        "/api/v1/roundtables",
        {"name": f"Roundtable {uuid.uuid4().hex[:8]}", "starts_on": "2026-01-01"},
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>", "PATCH"): lambda who, c, t: (
        f"/api/v1/roundtables/{_roundtable(c, t)}",
        {"description": "Builders of the region."},
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/memberships", "POST"): lambda who, c, t: (
        f"/api/v1/roundtables/{_roundtable(c, t)}/memberships",
        {"alliance_id": str(own_alliance()), "joined_on": agency_today().isoformat()},
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/memberships/<uuid:membership_id>", "PATCH"): (
        lambda who, c, t: _membership(c, t)
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/meetings", "POST"): lambda who, c, t: (
        f"/api/v1/roundtables/{_roundtable(c, t)}/meetings",
        {"held_on": agency_today().isoformat(), "topic": "Heat plans", "attendees": "Roofers"},
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/meetings/<uuid:meeting_id>", "DELETE"): (
        lambda who, c, t: _roundtable_meeting(c, t)
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/products", "POST"): lambda who, c, t: (
        f"/api/v1/roundtables/{_roundtable(c, t)}/products",
        PRODUCT,
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>", "PATCH"): (
        lambda who, c, t: (_product(c, t), {"public": False})
    ),
    ("/api/v1/roundtables/<uuid:roundtable_id>/products/<uuid:product_id>", "DELETE"): (
        lambda who, c, t: (_product(c, t), None)
    ),
}
# Writes of the API not above, and why: one's own password (it would change the password the
# other tests of this module sign in with; tests/shared/test_staff_auth.py covers it), and
# naming an Ambassador (an alliance must first complete a term and a renewal: the whole way is
# tests/review/alliances/test_domain.py's). The HTML forms' writes are tested per page.
NOT_WRITTEN_HERE = {
    ("/api/v1/staff/me/password", "POST"),
    ("/api/v1/alliances/<uuid:alliance_id>/ambassador", "POST"),
}


def test_every_api_write_has_a_valid_body_here():
    writes = {
        (rule, method)
        for rule, method in EXPECTED
        if rule.startswith("/api/") and method in ("POST", "PUT", "PATCH", "DELETE")
    }
    assert sorted(writes - NOT_WRITTEN_HERE - WRITES.keys()) == []


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("rule", "method"), sorted(WRITES), ids=lambda v: str(v))
def test_a_valid_write_is_stored_for_whom_the_table_allows_and_only_them(
    app, staff_accounts, redis_client, rule, method, identity
):
    coordinator, coordinator_token = client_as(app, "coordinator")
    url, body = WRITES[(rule, method)](identity, coordinator, coordinator_token)
    client, token = client_as(app, identity)
    expected = EXPECTED[(rule, method)]
    before = stored_rows(database)
    response = api_write(client, url, method, token, body)
    what = f"{method} {url} as {identity}: {response.status_code} {response.get_data(as_text=True)}"
    if identity in expected:
        assert 200 <= response.status_code < 300, what
        assert stored_rows(database) != before, what
    else:
        assert response.status_code == (401 if identity == "anonymous" else 403), what
        assert stored_rows(database) == before, what
