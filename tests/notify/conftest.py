"""Fixtures for the tests of notify: its app as a test uses it by default, and a client of it."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.notify import create_app


@pytest.fixture
def notify_app(redis_client: Any) -> Flask:
    """The notify app in testing mode, its forms taking no CSRF token (a test of the token makes
    an app of its own), on an emptied Redis."""
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})


@pytest.fixture
def notify_client(notify_app: Flask) -> FlaskClient:
    return notify_app.test_client()
