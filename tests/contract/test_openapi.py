"""schemathesis against every service's OpenAPI document (``/api/v1/openapi.json``).

Each service's app runs in-process (WSGI) with a few real records (tests/contract/conftest.py);
schemathesis reads its document and sends every operation a bounded number of generated
requests (its explicit examples, the coverage cases the schema defines and ``EXAMPLES``
fuzzed ones), about half of them aimed at the real rows, signed in as the Coordinator where
the API is for staff. Every answer must be no server error, a status code, content type,
body and headers that the document gives for that operation; an error body is shared/api.py's
``ErrorSchema``. ``pytest -s`` prints the cases and status codes per operation.

Bad ids are sent on purpose too (``test_bad_ids_answer_404_as_documented``): zero, negative,
past bigint, not a number, a fraction, a NUL byte and malformed UUIDs in every path parameter
(a documented 404) and in every uuid or integer query parameter (a documented 4xx).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import Service

# A service's whole document is fuzzed in one test: review's takes 100-140 s beside the other
# workers' whole systems, too near pytest-timeout's 180 s for every test.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

# Fuzzed cases per operation, on top of the examples and coverage cases: the whole run takes
# about a minute. CONTRACT_EXAMPLES=150 searches harder (about four minutes).
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))

bounded = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written under the working tree
    derandomize=True,  # the same cases on every run: a failure is reproducible
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)

intake_schema = schemathesis.pytest.from_fixture("intake_schema")
review_schema = schemathesis.pytest.from_fixture("review_schema")
notify_schema = schemathesis.pytest.from_fixture("notify_schema")
reporting_schema = schemathesis.pytest.from_fixture("reporting_schema")


@intake_schema.parametrize()
@bounded
def test_intake_answers_as_documented(case: schemathesis.Case, intake: Service) -> None:
    intake.caller.call_and_validate(case, CHECKS)


@review_schema.parametrize()
@bounded
def test_review_answers_as_documented(case: schemathesis.Case, review: Service) -> None:
    review.caller.call_and_validate(case, CHECKS)


@notify_schema.parametrize()
@bounded
def test_notify_answers_as_documented(case: schemathesis.Case, notify: Service) -> None:
    notify.caller.call_and_validate(case, CHECKS)


@reporting_schema.parametrize()
@bounded
def test_reporting_answers_as_documented(case: schemathesis.Case, reporting: Service) -> None:
    reporting.caller.call_and_validate(case, CHECKS)


# -- bad ids ------------------------------------------------------------------------------------
# Every path parameter of every operation gets each bad shape in turn (the others well formed):
# the answer is a documented 404 with the error body. A uuid or integer query parameter gets
# them too: a documented 4xx (422, each field named).

BAD_IDS = ("0", "-1", "99999999999999999999", str(2**63), "abc", "1.5", "\x00")
MALFORMED_UUIDS = (
    "00000000-0000-0000-0000-000000000002a",
    "00000000-0000-0000-0000-0000000002a",
    "0000000g-0000-0000-0000-00000000002a",
)


def bad_values(schema: dict[str, Any]) -> tuple[str, ...]:
    """The bad shapes for a parameter of ``schema`` (none for free text)."""
    if schema.get("format") == "uuid":
        return (*BAD_IDS, *MALFORMED_UUIDS)
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        shapes = dict.fromkeys((*BAD_IDS, str(low - 1), str(high + 1)))
        return tuple(v for v in shapes if not (v.lstrip("-").isdigit() and low <= int(v) <= high))
    return ()


def well_formed(schema: dict[str, Any]) -> str:
    if schema.get("type") == "integer":
        return str(max(schema.get("minimum", 1), 1))
    return str(uuid.UUID(int=42)) if schema.get("format") == "uuid" else "x"


def bad_id_cases(schema: Any) -> Iterator[tuple[schemathesis.Case, str]]:
    """Each operation's cases with one bad path or query parameter, and what it must answer."""
    for result in schema.get_all_operations():
        operation = result.ok()
        path = {p.name: p.definition.get("schema", {}) for p in operation.path_parameters}
        values = {name: well_formed(given) for name, given in path.items()}
        for name, given in path.items():
            for bad in bad_values(given):
                yield operation.Case(path_parameters={**values, name: bad}), "404"
        for parameter in operation.query:
            for bad in bad_values(parameter.definition.get("schema", {})):
                case = operation.Case(path_parameters=values, query={parameter.name: bad})
                yield case, "4xx"


@pytest.mark.parametrize("service", ["intake", "review", "notify", "reporting"])
def test_bad_ids_answer_404_as_documented(service: str, request: pytest.FixtureRequest) -> None:
    under_test: Service = request.getfixturevalue(service)
    wrong, tried = [], 0
    for case, expected in bad_id_cases(under_test.schema):
        response = under_test.caller.call_and_validate(case, CHECKS)
        tried += 1
        status = response.status_code
        if (expected == "404" and status != 404) or (expected == "4xx" and not 400 <= status < 500):
            wrong.append(f"{case.method} {case.formatted_path} {case.query}: {status}")
    assert tried, f"{service}'s document has no id parameter?"
    assert not wrong, f"{len(wrong)} of {tried} cases not as expected:\n" + "\n".join(wrong)
