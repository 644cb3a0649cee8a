"""Bad ids answer 404 in every path of every service, never a 500.

The walk reads each service's route table (``app.url_map``), not a hand list: for every rule
with a path parameter and every method it takes, each parameter in turn gets each bad shape
(zero, negative, past PostgreSQL's integer and bigint, not a number, a fraction, a NUL byte;
a malformed UUID for UUID parameters) while the others keep a well-formed value. Signed in as
the Coordinator (and sending the CSRF token on writes), so a path the rule matches reaches
the view. Every answer must be a 404 (405 where the method does not exist): from an API
``{"errors": ...}``, the not-found page otherwise. Number parameters must use
shared/converters.py's ``<number:...>``, whose bounds keep every matched value inside its
column. Query strings get the same shapes in the names the pages and APIs read (``page``,
``version``, ...): a 4xx or an answer that ignores them, never a 500.

Once, ``/staff/alliances/<id>/evaluations/0/10000`` and
``.../99999999999999999999/1`` of a real alliance answered 500.

``<number:...>`` (shared/converters.py): what it matches, and how the OpenAPI document
describes it."""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, PathConverter, Rule, UnicodeConverter, UUIDConverter

from services.reporting.reports.models import Report
from services.reporting.reports.tokens import make_token as make_report_token
from services.reporting.worker import database as reporting_database
from shared.api import ServiceApi
from shared.converters import BIGINT_MAX, INTEGER_MAX, NumberConverter, register_converters
from tests.intake.factories import proposal
from tests.reporting.factories import run_reporting_task
from tests.review.factories import alliance_signed_event, queued_proposal, staff_member
from tests.shared.factories import csrf_header, signed_in

SERVICES = ("intake", "review", "notify", "reporting")
# ... and a superscript two ("²"): a digit to str.isdigit, but not to int().
BAD_IDS = ("0", "-1", "99999999999999999999", str(2**63), "abc", "1.5", "%00", "%C2%B2")
BAD_UUIDS = (
    *BAD_IDS,
    "00000000-0000-0000-0000-000000000002a",  # one digit too many
    "00000000-0000-0000-0000-0000000002a",  # one too few
    "0000000g-0000-0000-0000-00000000002a",  # not hexadecimal
    "00000000000000000000000000000042",  # no dashes
)
# What the pages and APIs read from the query string as numbers or ids.
QUERY_NAMES = ("page", "version", "compare", "proposal_id", "term", "year", "id", "liaison")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def create(service: str) -> Flask:
    app: Flask = importlib.import_module(f"services.{service}").create_app({"TESTING": True})
    return app


@pytest.fixture
def reporting_alliance(clean_databases: Any, redis_client: Any) -> uuid.UUID:
    """A signed alliance in reporting: the evaluation page of a real alliance reaches the dates
    of the year asked for."""
    event = alliance_signed_event()
    run_reporting_task("reporting.alliance_signed", event)
    found: uuid.UUID = event.payload["alliance_id"]
    return found


@pytest.fixture
def coordinator(reporting_alliance: uuid.UUID) -> Any:
    return staff_member("cora@agency.example", "coordinator")


def real_ids(service: str, alliance_id: uuid.UUID) -> dict[str, str]:
    """Rows that exist, so a bad number beside them reaches what reads it (reporting's
    alliance and one of its reports; a made-up UUID elsewhere)."""
    if service != "reporting":
        return {}
    with reporting_database.transaction() as session:
        report_id = session.scalars(select(Report.id).where(Report.alliance_id == alliance_id))
        return {"alliance_id": str(alliance_id), "report_id": str(report_id.first())}


def client_of(app: Flask, person: Any) -> tuple[FlaskClient, dict[str, str]]:
    client = signed_in(app, person)
    return client, csrf_header(app, client)


# -- finding 5 ----------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("term", "year"),
    [
        ("0", "10000"),  # a year whose dates are past 9999
        ("99999999999999999999", "1"),  # a term past PostgreSQL's bigint
        ("2147483648", "1"),  # past integer
        ("0", "0"),
        ("-1", "1"),
        ("0", "-1"),
        ("abc", "1"),
        ("0", "1.5"),
    ],
)
def test_a_bad_term_or_year_of_a_real_alliance_is_not_found(
    reporting_alliance, coordinator, term, year
):
    client, _ = client_of(create("reporting"), coordinator)
    path = f"/staff/alliances/{reporting_alliance}/evaluations/{term}/{year}"
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.status_code, answer.get_data(as_text=True))
    assert answer.mimetype == "text/html"
    assert client.get(f"/staff/alliances/{reporting_alliance}/evaluations/0/1").status_code == 200


# -- every route of every service ---------------------------------------------------------------


def routes_with_parameters(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.arguments:
            for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
                yield rule, method


def well_formed(rule: Rule, name: str, real: dict[str, str]) -> str:
    converter = rule._converters[name]
    if isinstance(converter, UUIDConverter):
        return real.get(name, str(uuid.UUID(int=42)))
    if isinstance(converter, IntegerConverter):
        return str(max(converter.min or 0, 1))
    if isinstance(converter, PathConverter):
        return "no/such/file.txt"
    return "not-a-token"


def bad_shapes(rule: Rule, name: str) -> tuple[str, ...]:
    converter = rule._converters[name]
    if isinstance(converter, UUIDConverter):
        return BAD_UUIDS
    if isinstance(converter, IntegerConverter):  # and just outside its bounds, not inside
        low = converter.min if converter.min is not None else 0
        high = converter.max if converter.max is not None else 2**63
        shapes = dict.fromkeys((*BAD_IDS, str(low - 1), str(high + 1)))
        return tuple(v for v in shapes if not (v.isdigit() and low <= int(v) <= high))
    return BAD_IDS


def path_of(rule: Rule, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", lambda m: values[m[1]], rule.rule)


def refusal_problem(path: str, answer: Any) -> str:
    """What is wrong with the answer to a bad id ('' if nothing)."""
    if answer.status_code not in (404, 405):
        return f"answered {answer.status_code}"
    if "/api/" in path:
        body = answer.get_json(silent=True)
        if not isinstance(body, dict) or "errors" not in body:
            return f"answered {answer.status_code} without an errors body"
    elif answer.mimetype != "text/html":
        return f"answered {answer.status_code} as {answer.mimetype}, not the HTML page"
    return ""


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
def test_every_id_in_every_path_answers_404(service, reporting_alliance, coordinator):
    app = create(service)
    client, csrf = client_of(app, coordinator)
    real = real_ids(service, reporting_alliance)
    problems, tried, rules = [], 0, set()
    for rule, method in routes_with_parameters(app):
        rules.add(rule.rule)
        for name in rule.arguments:
            others = {other: well_formed(rule, other, real) for other in rule.arguments}
            for bad in bad_shapes(rule, name):
                path = path_of(rule, {**others, name: bad})
                answer = client.open(path, method=method, headers=csrf)
                tried += 1
                if problem := refusal_problem(path, answer):
                    problems.append(f"{method} {path} ({rule.rule}): {problem}")
    assert rules, f"{service} has no route with a path parameter?"
    assert not problems, f"{len(problems)} of {tried} bad ids not a 404:\n" + "\n".join(problems)


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
def test_number_parameters_are_bounded_by_their_column(service):
    """A number in a path is shared/converters.py's ``<number:...>``, within PostgreSQL's
    integer unless it says otherwise, and every parameter is of a kind the walk knows."""
    for rule in create(service).url_map.iter_rules():
        for name, converter in rule._converters.items():
            where = f"{rule.rule}: {name}"
            if isinstance(converter, IntegerConverter):
                assert isinstance(converter, NumberConverter), f"{where}: use <number:{name}>"
                assert 0 <= converter.min <= converter.max <= INTEGER_MAX, where
            else:
                assert isinstance(converter, UUIDConverter | PathConverter | UnicodeConverter), (
                    f"{where}: {type(converter).__name__} is not tried by the walk above"
                )


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
def test_bad_numbers_and_ids_in_the_query_string_never_answer_500(
    service, reporting_alliance, coordinator
):
    app = create(service)
    client, _ = client_of(app, coordinator)
    real = real_ids(service, reporting_alliance)
    problems, tried = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in (rule.methods or set()) or rule.rule == "/healthz":
            continue
        path = path_of(rule, {name: well_formed(rule, name, real) for name in rule.arguments})
        for bad in BAD_UUIDS:
            query = "&".join(f"{name}={bad}" for name in QUERY_NAMES)
            answer = client.get(f"{path}?{query}")
            tried += 1
            if answer.status_code >= 500:
                problems.append(f"GET {path}?{query}: answered {answer.status_code}")
    assert tried
    assert not problems, f"{len(problems)} of {tried} answered 5xx:\n" + "\n".join(problems)


@pytest.mark.integration
def test_the_page_number_of_the_message_log_is_checked(reporting_alliance, coordinator):
    client, _ = client_of(create("notify"), coordinator)
    for bad in ("0", "-1", "abc", "1.5"):
        answer = client.get(f"/staff/log?page={bad}")
        assert answer.status_code < 500, (bad, answer.status_code)
        assert "Pages are numbered from 1." in answer.get_data(
            as_text=True
        ) or "Give a page number." in answer.get_data(as_text=True), bad
    huge = client.get("/staff/log?page=99999999999999999999")
    assert huge.status_code == 200  # a page past the last shows the last


# -- numbers read by hand from forms and bodies ---------------------------------------------------
# "²" and "٣" are digits to str.isdigit, which int() then refuses; int() refuses more than 4300
# digits too. Each place that reads a number itself answers a 4xx or ignores it, never a 500.

ODD_NUMBERS = ("²", "٣", "+-1", "9" * 5000)
NOT_NUMBERS = ("²", "+-1", "9" * 5000)  # to int() (which reads "٣" as 3)


@pytest.mark.integration
def test_odd_numbers_in_the_proposal_form_are_refused_inline_or_ignored(coordinator):
    app = create("intake")
    client, csrf = client_of(app, coordinator)
    for odd in ODD_NUMBERS:
        for form in (
            {"organization.workers_reached": odd, "action": "save_draft"},
            {"action": f"remove_goal:{odd}"},
        ):
            answer = client.post("/apply", data=form, headers=csrf)
            assert answer.status_code in (200, 422), (form, answer.status_code)


@pytest.mark.integration
def test_odd_numbers_in_the_scoring_form_and_an_adjustment_are_refused(coordinator):
    app = create("review")
    client, csrf = client_of(app, coordinator)
    proposal_id = queued_proposal(proposal("Roofers")).proposal_id
    for odd in ODD_NUMBERS:
        answer = client.post("/staff/scoring", data={"rows": odd}, headers=csrf)
        assert answer.status_code < 500, (odd, answer.status_code)
    for odd in NOT_NUMBERS:
        path = f"/api/v1/proposals/{proposal_id}/adjustment"
        answer = client.post(path, json={"points": odd, "reason": "Reach."}, headers=csrf)
        assert answer.status_code == 422, (odd, answer.status_code)
        assert answer.get_json()["errors"]["points"] == ["Enter a whole number, such as 10 or -10."]


@pytest.mark.integration
def test_odd_row_numbers_in_the_report_form_are_ignored(reporting_alliance):
    app = create("reporting")
    ids = real_ids("reporting", reporting_alliance)
    client = app.test_client()
    client.get("/")  # a session for the CSRF token
    csrf = csrf_header(app, client)
    token = make_report_token(uuid.UUID(ids["report_id"]))
    for odd in ODD_NUMBERS:
        form = {f"meetings.{odd}.date": "2024-03-01", "action": "save_draft"}
        answer = client.post(f"/reports/{token}", data=form, headers=csrf)
        assert answer.status_code < 500, (odd, answer.status_code)


def app_with(rule: str) -> Flask:
    app = Flask(__name__)
    register_converters(app)
    app.config.update(
        API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/"
    )
    bp = Blueprint("things", __name__)

    @bp.route(rule)
    def thing(**values: Any) -> dict[str, Any]:
        return {"values": values}

    ServiceApi(app).register_blueprint(bp)
    return app


@pytest.mark.unit
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/things/1", 200),
        ("/things/007", 200),
        (f"/things/{INTEGER_MAX}", 200),
        (f"/things/{INTEGER_MAX + 1}", 404),
        ("/things/0", 404),
        ("/things/-1", 404),
        ("/things/99999999999999999999", 404),
        ("/things/" + "9" * 5000, 404),  # int() refuses more than 4300 digits: never tried
        ("/things/1.5", 404),
        ("/things/abc", 404),
        ("/things/%00", 404),
        ("/things/%D9%A3", 404),  # an Arabic-Indic three: a digit to Python, not to us
        ("/things/+1", 404),
        ("/things/%201", 404),
    ],
)
def test_a_number_matches_only_ascii_digits_within_its_bounds(path, status):
    assert app_with("/things/<number:thing_id>").test_client().get(path).status_code == status


@pytest.mark.unit
def test_the_bounds_are_the_rules_own():
    client = app_with("/terms/<number(min=0):term>/<number(max=100, min=1):year>").test_client()
    assert client.get("/terms/0/100").get_json() == {"values": {"term": 0, "year": 100}}
    assert client.get("/terms/0/101").status_code == 404
    assert client.get("/terms/0/0").status_code == 404
    big = app_with(f"/rows/<number(max={BIGINT_MAX}):row_id>").test_client()
    assert big.get(f"/rows/{BIGINT_MAX}").status_code == 200
    assert big.get(f"/rows/{BIGINT_MAX + 1}").status_code == 404


@pytest.mark.unit
def test_bounds_past_bigint_or_upside_down_are_refused():
    with pytest.raises(ValueError, match="min <= max"):
        app_with(f"/rows/<number(max={BIGINT_MAX + 1}):row_id>")
    with pytest.raises(ValueError, match="min <= max"):
        app_with("/rows/<number(min=5, max=4):row_id>")


@pytest.mark.unit
def test_the_openapi_document_gives_an_integer_and_its_bounds():
    app = app_with("/terms/<number(min=0):term>/<number:year>")
    document = app.test_client().get("/openapi.json").get_json()
    parameters = {
        p["name"]: p["schema"] for p in document["paths"]["/terms/{term}/{year}"]["parameters"]
    }
    assert parameters == {
        "term": {"type": "integer", "minimum": 0, "maximum": INTEGER_MAX},
        "year": {"type": "integer", "minimum": 1, "maximum": INTEGER_MAX},
    }
