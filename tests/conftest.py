from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from deploy.embedded import free_port
from tests.scheduling import browser_scope
from tests.smtp import SmtpServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


# Browser tests (tests/browser_harness.py). Playwright is imported only when a test asks for it.
# In one process they run after every other test, on one Chromium; under xdist each browser
# module opens its own (tests/scheduling.py).


@pytest.fixture(scope=browser_scope)
def browser() -> "Iterator[Browser]":
    from playwright.sync_api import sync_playwright

    from tests.browser_harness import launch_chromium

    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: "Browser") -> "Iterator[Page]":
    """A page in a fresh context; the test fails if the browser refused anything under a
    page's Content-Security-Policy (tests/browser_harness.py watch_csp_violations)."""
    from tests.browser_harness import assert_no_csp_violation, watch_csp_violations

    context = browser.new_context()
    context.set_default_timeout(10_000)
    violations = watch_csp_violations(context)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert_no_csp_violation(violations)


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], str]]:
    """Call it with a Flask (or any WSGI) app; returns the base URL, e.g. http://127.0.0.1:5123."""
    from tests.browser_harness import LiveServer

    servers: list[LiveServer] = []

    def serve(app: Any) -> str:
        server = LiveServer(app).start()
        servers.append(server)
        return server.url

    yield serve
    for server in servers:
        server.stop()


# Every test beside its code's mirror (tests/<service>/..., tests/shared, tests/deploy) says what it
# needs: `unit` (a pure rule: no database, no Redis, no server) or `integration`.
_MIRRORED = ("intake", "review", "reporting", "notify", "shared", "deploy")
_SERVERS = {"servers", "migrated", "rolled_back", "clean_databases", "redis_client", "smtp_server"}


def pytest_collection_finish(session: pytest.Session) -> None:
    wrong = []
    for item in session.items:
        parts = item.nodeid.split("/")
        if len(parts) < 3 or parts[0] != "tests" or parts[1] not in _MIRRORED:
            continue
        kinds = {m.name for m in item.iter_markers()} & {"unit", "integration"}
        if len(kinds) != 1:
            wrong.append(f"{item.nodeid}: marked {sorted(kinds) or 'neither'}")
        elif kinds == {"unit"} and _SERVERS & set(getattr(item, "fixturenames", ())):
            wrong.append(f"{item.nodeid}: a unit test asks for a server")
    if wrong:
        raise pytest.UsageError("each test is either `unit` or `integration`:\n" + "\n".join(wrong))
