from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from deploy.embedded import free_port
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
# The browser tests of a run come one after another (tests/scheduling.py), on one Chromium,
# closed once the next test is not a browser test: while Playwright is open, asyncio thinks
# a loop runs in the main thread, which would break ``asyncio.run()`` in a later test.
class _Chromium:
    def __init__(self) -> None:
        self._playwright: Any = None
        self.browser: Browser | None = None

    def open(self) -> "Browser":
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            from tests.browser_harness import launch_chromium

            self._playwright = sync_playwright().start()
            try:
                self.browser = launch_chromium(self._playwright)
            except BaseException:
                self.close()
                raise
        return self.browser

    def close(self) -> None:
        browser, playwright = self.browser, self._playwright
        self.browser = self._playwright = None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


_chromium = _Chromium()


@pytest.fixture
def browser() -> "Browser":
    return _chromium.open()


@pytest.fixture(scope="module")
def module_browser() -> "Browser":
    """The same Chromium, for a context that the tests of a module share; it stays open
    between them as long as every test of the module is marked ``browser``."""
    return _chromium.open()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    try:
        return (yield)
    finally:
        if nextitem is None or nextitem.get_closest_marker("browser") is None:
            _chromium.close()


@pytest.fixture
def page(browser: "Browser") -> "Iterator[Page]":
    """A page in a fresh context; the test fails if the browser refused anything under a
    page's Content-Security-Policy (tests/browser_harness.py watch_csp_violations)."""
    from tests.browser_harness import assert_no_csp_violation, axe_source, watch_csp_violations

    context = browser.new_context()
    context.set_default_timeout(10_000)
    # axe-core in every page of the context, compiled once, instead of sent to each page
    # that a test checks (run_axe sends it to a page that lacks it).
    context.add_init_script(script=axe_source())
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
