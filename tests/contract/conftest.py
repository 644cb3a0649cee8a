"""What the contract run needs: each service's app with a few real records, its OpenAPI
document loaded by schemathesis, and a signed-in caller.

The records are made the way the system makes them (intake's API, review's consumer of
``proposal.submitted`` and its staff API, notify's message log); each answer the service's
own API gives while making them is checked against its document too (``Seeder``). The
generated requests are pointed at them some of the time (``aim_at``), so that schemathesis
reads and changes real rows as well as answering "not found" and "bad input".
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import hypothesis.strategies as st
import pytest
import schemathesis
from flask import Flask

from services.review.staff.models import StaffUser
from shared.domain import Acting
from shared.staff_auth import COOKIE_NAME
from tests.factories import (
    COORDINATOR,
    agency_today,
    alliance_signed_event,
    csrf_header,
    held_decision_message,
    proposal,
    queued_proposal,
    signed_in,
    staff_member,
    submitted_event,
)
from tests.offline_dns import OfflineResolver

OPENAPI = "/api/v1/openapi.json"


@dataclass
class Caller:
    """Who sends the generated requests: the cookies and headers of a signed-in person (none
    for a public API), and how many cases each operation got."""

    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Counter[int]] = field(default_factory=dict)

    def call_and_validate(self, case: schemathesis.Case, checks: list[Any]) -> Any:
        response = case.call(headers=self.headers, cookies=self.cookies)
        self.answers.setdefault(case.operation.label, Counter())[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=self.headers)
        return response

    def summary(self) -> str:
        """Cases per operation and the status codes answered (shown with ``pytest -s``)."""
        lines = [
            f"  {label}: {sum(codes.values())} cases, "
            + ", ".join(f"{code} x{n}" for code, n in sorted(codes.items()))
            for label, codes in sorted(self.answers.items())
        ]
        cases = sum(sum(codes.values()) for codes in self.answers.values())
        return f"{len(self.answers)} operations, {cases} cases\n" + "\n".join(lines)


def caller_for(app: Flask, person: StaffUser | Acting) -> Caller:
    """``person`` signed in (a staff session, shared/staff_auth.py) and the CSRF token API
    writes send as ``X-CSRFToken``, with the Flask session cookie that holds its secret half."""
    client = signed_in(app, person)
    headers = csrf_header(app, client)
    cookies = {}
    for name in (COOKIE_NAME, app.config["SESSION_COOKIE_NAME"]):
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        cookies[name] = cookie.value
    return Caller(headers=headers, cookies=cookies)


def aim_at(schema: Any, rows: list[Mapping[str, Any]]) -> None:
    """Point about half of the generated (schema-conforming) requests at real rows.

    Each row binds parameter names to real values (``{"proposal_id": ..., "token": ...}``):
    for a case that has one of those names among its path parameters, query or top-level
    body fields, a row is chosen and its values replace the generated ones (a list field such
    as ``message_ids`` gets the value in a list of one).
    """

    def names_of(case: schemathesis.Case) -> set[str]:
        names = set(case.path_parameters or {}) | set(case.query or {})
        if isinstance(case.body, dict):
            names |= set(case.body)
        return names

    def apply(case: schemathesis.Case, row: Mapping[str, Any]) -> schemathesis.Case:
        for name, value in row.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = str(value)
            if case.query and name in case.query:
                case.query[name] = str(value)
            if isinstance(case.body, dict) and name in case.body:
                single = case.body[name]
                case.body[name] = [str(value)] if isinstance(single, list) else str(value)
        return case

    @schema.hook
    def flatmap_case(context: Any, case: schemathesis.Case) -> st.SearchStrategy[Any]:
        if case.meta is not None and case.meta.generation.mode.is_negative:
            return st.just(case)  # a real value would make a schema-violating case valid
        names = names_of(case)
        fitting = [row for row in rows if names & set(row)]
        if not fitting:
            return st.just(case)
        return st.one_of(st.just(case), st.sampled_from(fitting).map(lambda row: apply(case, row)))


@dataclass
class Service:
    schema: Any
    caller: Caller


class Seeder:
    """Makes the records through the service's own API, as the caller, and checks each answer
    against the document too: the valid requests that random data seldom builds (a whole
    proposal, an approval naming a liaison) are checked this way."""

    def __init__(self, app: Flask, schema: Any, caller: Caller) -> None:
        self.client = app.test_client()
        self.schema = schema
        self.caller = caller
        for name, value in caller.cookies.items():
            self.client.set_cookie(name, value)

    def __call__(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self.client.open(path, method=method, json=json, headers=self.caller.headers)
        assert response.status_code < 300, (method, path, response.status_code, response.json)
        operation = self.schema.find_operation_by_path(method, urlsplit(path).path)
        assert operation is not None, f"{method} {path} is not in the OpenAPI document"
        operation.validate_response(response)
        body: dict[str, Any] = response.get_json()
        return body


# -- intake: public, a submitted proposal and a draft ------------------------------------------


@pytest.fixture
def intake(clean_databases: Any, redis_client: Any) -> Service:
    from services.intake import create_app
    from services.intake.tokens import make_token
    from shared.testing import example_proposal

    app = create_app({"TESTING": True})
    service = Service(schemathesis.openapi.from_wsgi(OPENAPI, app), Caller())
    seed = Seeder(app, service.schema, service.caller)
    proposal_id = uuid.UUID(seed("POST", "/api/v1/proposals", example_proposal())["id"])
    draft_id = uuid.UUID(seed("POST", "/api/v1/drafts", {"proposal": example_proposal()})["id"])
    status_token, draft_token = make_token("status", proposal_id), make_token("draft", draft_id)
    seed("GET", f"/api/v1/proposals/{proposal_id}?token={status_token}")
    seed("GET", f"/api/v1/drafts/{draft_id}?token={draft_token}")
    aim_at(
        service.schema,
        [
            {"proposal_id": proposal_id, "token": status_token},
            {"draft_id": draft_id, "token": draft_token},
        ],
    )
    return service


# -- review: staff; proposals in the queue, a signed alliance, a roundtable and its work ---------


@pytest.fixture
def review(clean_databases: Any, redis_client: Any) -> Service:
    from services.review import create_app

    app = create_app({"TESTING": True})
    cora = staff_member("cora@agency.example", "coordinator")
    lee_id = staff_member("lee@agency.example", "liaison").id
    rae_id = staff_member("rae@agency.example", "reviewer").id  # whose account the run may change
    caller = caller_for(app, cora)
    service = Service(schemathesis.openapi.from_wsgi(OPENAPI, app), caller)
    seed = Seeder(app, service.schema, caller)

    names = ("Roofers", "Welders", "Bakers")
    signed, claimed, waiting = (str(queued_proposal(proposal(n)).proposal_id) for n in names)
    approval = {
        "kind": "approved",
        "details": {
            "division": "construction_safety_health",
            "liaison_id": str(lee_id),
        },
    }
    decision = seed("POST", f"/api/v1/proposals/{signed}/decision", approval)
    seed("POST", "/api/v1/decisions/release", {"decision_ids": [decision["id"]]})
    [alliance] = seed("GET", "/api/v1/alliances")["alliances"]
    alliance_id = alliance["id"]
    # Signed the day it was approved: nothing of its life may come before either.
    today = agency_today().isoformat()
    seed("POST", f"/api/v1/alliances/{alliance_id}/signing", {"signing_date": today})
    milestone = seed(
        "POST",
        f"/api/v1/alliances/{alliance_id}/milestones",
        {"title": "Toolbox talks", "target_date": "2026-06-01", "responsible": "Partner"},
    )
    meeting = seed("POST", f"/api/v1/alliances/{alliance_id}/meetings", {"met_on": today})
    document = seed(
        "POST",
        f"/api/v1/alliances/{alliance_id}/documents",
        {"title": "Agreement", "kind": "agreement", "url": "https://example.org/a.pdf"},
    )
    roundtable = seed(
        "POST", "/api/v1/roundtables", {"name": "Construction", "starts_on": "2026-01-01"}
    )
    membership = seed(
        "POST",
        f"/api/v1/roundtables/{roundtable['id']}/memberships",
        {"alliance_id": alliance_id, "joined_on": today},
    )
    roundtable_meeting = seed(
        "POST",
        f"/api/v1/roundtables/{roundtable['id']}/meetings",
        {"held_on": today, "topic": "Fall protection"},
    )
    product = seed(
        "POST",
        f"/api/v1/roundtables/{roundtable['id']}/products",
        {"kind": "fact_sheet", "title": "Ladders", "published_on": today},
    )
    seed("POST", f"/api/v1/proposals/{claimed}/assignment", {"reviewer_id": str(cora.id)})
    seed("POST", f"/api/v1/proposals/{claimed}/comments", {"body": "Good reach."})
    declined = {"kind": "declined", "details": {"reason": "Not this year."}}
    prepared = seed("POST", f"/api/v1/proposals/{claimed}/decision", declined)
    for path in (
        "/api/v1/queue",
        "/api/v1/decisions",
        f"/api/v1/proposals/{claimed}",
        f"/api/v1/alliances/{alliance_id}",
        f"/api/v1/alliances/{alliance_id}/milestones",
        f"/api/v1/alliances/{alliance_id}/meetings",
        f"/api/v1/alliances/{alliance_id}/documents",
        "/api/v1/roundtables",
        f"/api/v1/roundtables/{roundtable['id']}/memberships",
        f"/api/v1/roundtables/{roundtable['id']}/meetings",
        f"/api/v1/roundtables/{roundtable['id']}/products",
        "/api/v1/staff",
        "/api/v1/directory",
    ):
        seed("GET", path)
    aim_at(
        service.schema,
        [
            {"proposal_id": waiting},
            {"proposal_id": claimed, "decision_ids": prepared["id"]},
            {"proposal_id": signed, "alliance_id": alliance_id},
            {
                "alliance_id": alliance_id,
                "milestone_id": milestone["id"],
                "meeting_id": meeting["id"],
                "document_id": document["id"],
            },
            {
                "roundtable_id": roundtable["id"],
                "membership_id": membership["id"],
                "alliance_id": alliance_id,
                "parent_id": roundtable["id"],
                "meeting_id": roundtable_meeting["id"],
                "product_id": product["id"],
            },
            {"reviewer_id": cora.id, "liaison_id": lee_id, "user_id": rae_id},
        ],
    )
    return service


# -- notify: staff; a held decision message and a sent one -------------------------------------


@pytest.fixture
def notify(clean_databases: Any, redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> Service:
    from services.notify import create_app
    from services.notify.webhooks.tasks import CONSUMERS as webhook_consumers

    # Registering a webhook looks its host up: the seed's host is public, no name reaches DNS.
    OfflineResolver({"hooks.example.org": ["93.184.215.14"]}).install(monkeypatch)
    app = create_app({"TESTING": True})
    proposal_id = uuid.uuid4()
    held = held_decision_message(proposal_id).id
    pending = held_decision_message(proposal_id, held=False).id
    caller = caller_for(app, COORDINATOR)
    service = Service(schemathesis.openapi.from_wsgi(OPENAPI, app), caller)
    seed = Seeder(app, service.schema, caller)
    seed("GET", "/api/v1/held")
    seed("GET", f"/api/v1/messages/{held}")
    seed("GET", f"/api/v1/messages?proposal_id={proposal_id}")
    # A webhook endpoint with one delivery (services/notify/webhooks).
    hook = seed(
        "POST",
        "/api/v1/webhooks/endpoints",
        {"url": "https://hooks.example.org/alliance", "event_types": ["proposal.submitted"]},
    )
    webhook_consumers["proposal.submitted"](event=submitted_event().to_message())
    [delivery] = seed("GET", f"/api/v1/webhooks/endpoints/{hook['id']}/deliveries")["deliveries"]
    seed("GET", f"/api/v1/webhooks/deliveries/{delivery['id']}")
    aim_at(
        service.schema,
        [
            {"message_id": held, "message_ids": held, "proposal_id": proposal_id},
            {"message_id": pending, "message_ids": pending, "proposal_id": proposal_id},
            {"endpoint_id": hook["id"], "delivery_id": delivery["id"]},
        ],
    )
    return service


# -- reporting: staff; a signed alliance's reports, one reminder sent ---------------------------


@pytest.fixture
def reporting(clean_databases: Any, redis_client: Any) -> Service:
    from datetime import UTC, datetime

    import services.reporting.tasks
    from services.reporting import create_app
    from services.reporting.reports import domain as reports
    from services.reporting.worker import database, outbox

    app = create_app({"TESTING": True})
    signed = alliance_signed_event()
    services.reporting.tasks.celery.tasks["reporting.alliance_signed"](event=signed.to_message())
    alliance_id = signed.payload["alliance_id"]
    with database.transaction() as session:
        reports.sweep(session, now=datetime(2026, 4, 20, 15, tzinfo=UTC), outbox=outbox)
    caller = caller_for(app, COORDINATOR)
    service = Service(schemathesis.openapi.from_wsgi(OPENAPI, app), caller)
    seed = Seeder(app, service.schema, caller)
    seed("GET", f"/api/v1/alliances/{alliance_id}/reports")
    aim_at(service.schema, [{"alliance_id": alliance_id}])
    return service


@pytest.fixture
def intake_schema(intake: Service) -> Iterator[Any]:
    yield intake.schema
    print(f"\nintake: {intake.caller.summary()}")


@pytest.fixture
def review_schema(review: Service) -> Iterator[Any]:
    yield review.schema
    print(f"\nreview: {review.caller.summary()}")


@pytest.fixture
def notify_schema(notify: Service) -> Iterator[Any]:
    yield notify.schema
    print(f"\nnotify: {notify.caller.summary()}")


@pytest.fixture
def reporting_schema(reporting: Service) -> Iterator[Any]:
    yield reporting.schema
    print(f"\nreporting: {reporting.caller.summary()}")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's from_fixture reads and renames ``item._nodeid`` to name each
    # operation's subtest; pytest 9.2 keeps the node id elsewhere (``_id``), so give it one.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
