"""schemathesis against every service's OpenAPI document (``/api/v1/openapi.json``).

Each service's app runs in-process (WSGI) with a few real records (tests/contract/conftest.py);
schemathesis reads its document and sends every operation a bounded number of generated
requests (its explicit examples, the coverage cases the schema defines and ``EXAMPLES``
fuzzed ones), about half of them aimed at the real rows, signed in as the Coordinator where
the API is for staff. Every answer must be no server error, a status code, content type,
body and headers that the document gives for that operation; an error body is shared/api.py's
``ErrorSchema``. ``pytest -s`` prints the cases and status codes per operation.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import Service

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
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
