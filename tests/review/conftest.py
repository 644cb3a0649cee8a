"""Fixtures for the tests of review: its app as a test uses it by default, and a client of it."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.review import create_app


@pytest.fixture
def review_app(redis_client: Any) -> Flask:
    """The review app in testing mode, its forms taking no CSRF token (a test of the token makes
    an app of its own), on an emptied Redis."""
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


@pytest.fixture
def review_client(review_app: Flask) -> FlaskClient:
    return review_app.test_client()


@pytest.fixture
def session(rolled_back: Any) -> Any:
    """A session on review's database, rolled back after the test (``rolled_back``)."""
    return rolled_back("review")


@pytest.fixture
def program(session):
    """Roofers, Ironworkers, Masons and Painters in their roundtables (``build_program``)."""
    from tests.review.factories import build_program

    return build_program(session)
