"""``<number:...>`` (shared/converters.py): what it matches, and how the OpenAPI document
describes it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_smorest import Blueprint

from shared.api import ServiceApi
from shared.converters import BIGINT_MAX, INTEGER_MAX, register_converters


def app_with(rule: str) -> Flask:
    app = Flask(__name__)
    register_converters(app)
    app.config.update(
        API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/"
    )
    bp = Blueprint("things", __name__)

    @bp.route(rule)  # type: ignore[untyped-decorator]
    def thing(**values: Any) -> dict[str, Any]:
        return {"values": values}

    ServiceApi(app).register_blueprint(bp)
    return app


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


def test_the_bounds_are_the_rules_own():
    client = app_with("/terms/<number(min=0):term>/<number(max=100, min=1):year>").test_client()
    assert client.get("/terms/0/100").get_json() == {"values": {"term": 0, "year": 100}}
    assert client.get("/terms/0/101").status_code == 404
    assert client.get("/terms/0/0").status_code == 404
    big = app_with(f"/rows/<number(max={BIGINT_MAX}):row_id>").test_client()
    assert big.get(f"/rows/{BIGINT_MAX}").status_code == 200
    assert big.get(f"/rows/{BIGINT_MAX + 1}").status_code == 404


def test_bounds_past_bigint_or_upside_down_are_refused():
    with pytest.raises(ValueError, match="min <= max"):
        app_with(f"/rows/<number(max={BIGINT_MAX + 1}):row_id>")
    with pytest.raises(ValueError, match="min <= max"):
        app_with("/rows/<number(min=5, max=4):row_id>")


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
