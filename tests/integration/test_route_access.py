"""Who may use each route of the review app: every route, every kind of visitor.

EXPECTED below says, for each route and method, who may use it. The first test fails when
the app has a route the table does not name (or the table names one that is gone), so a new
route cannot slip in unchecked: add it to the table. The second test then signs in as each
identity through the real sign-in page and checks the answer: the sign-in page (HTML) or 401
(API) for visitors who are not signed in, 403 for staff without the role, and for those
allowed anything but those (and never a server error; /healthz may say 503, as no workers
run here).
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text

from services.review import create_app
from services.review.worker import database
from shared.db import sqlalchemy_url
from tests.factories import PASSWORD, staff_member

pytestmark = pytest.mark.integration

PUBLIC = "public"
ANY_STAFF = ("coordinator", "reviewer", "liaison")
COORDINATOR = ("coordinator",)
DECIDERS = ("coordinator", "reviewer")
WORK_PLAN_EDITORS = ("coordinator", "liaison")

# (rule, method) -> PUBLIC, or the roles any one of which lets a person in.
EXPECTED: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("/healthz", "GET"): PUBLIC,
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
    ("/staff/people/<uuid:user_id>/invitation", "POST"): COORDINATOR,
    ("/api/v1/staff", "GET"): COORDINATOR,
    ("/api/v1/staff", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/roles", "POST"): COORDINATOR,
    ("/api/v1/staff/<uuid:user_id>/active", "POST"): COORDINATOR,
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
        "tests/integration/test_route_access.py: add each one, saying who may use it "
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
