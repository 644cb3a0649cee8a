"""Browser tests: headless Debian Chromium driven by Playwright, accessibility by axe-core.

The fixtures that use this module live in ``tests/conftest.py``: ``browser`` (one Chromium
for the browser tests in a row), ``page`` (a fresh browser context per test) and
``live_server`` (serves a Flask or any WSGI app on 127.0.0.1 in a background thread)::

    @pytest.mark.browser
    def test_form(page, live_server):
        base_url = live_server(create_app())
        page.goto(base_url + "/apply")
        assert_accessible(page, context_label="the empty form")

Every page runs under the apps' own Content-Security-Policy (shared/security_headers.py):
the ``page`` fixture fails a test when Chromium reports refusing anything under it
(:func:`watch_csp_violations`).

Playwright never downloads a browser here: it launches the system Chromium
(``/usr/bin/chromium``, Debian package ``chromium``, which ``make system-deps`` installs;
``CHROMIUM_PATH`` points elsewhere). axe-core comes from ``node_modules/`` (``npm ci``,
which ``make test`` runs).

While a Playwright session is open, the main thread looks to asyncio as if a loop were running
(that is how Playwright's sync API works), so ``asyncio.run()`` would fail in any test run
after it. The browser tests therefore run one after another at the end (tests/scheduling.py)
on one Chromium, which ``tests/conftest.py`` closes before any other test.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

ROOT = Path(__file__).resolve().parent.parent
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused by a closed
# network and slow everything down.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # V8's optimizing compilers pay off in long-lived pages; a test's page lives seconds, and
    # compiling axe-core's hot paths cost more than it saved (about a tenth of the renderers'
    # CPU time on two cores). What the page does is the same.
    "--js-flags=--no-opt,--no-maglev",
)
# WCAG 2.1 A and AA plus Section 508: the standard the public pages must meet.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "section508")


def launch_chromium(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is not at {CHROMIUM}: run 'make system-deps' "
            "(as root: apt-get install chromium), or set CHROMIUM_PATH",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


@cache
def axe_source() -> str:
    if not AXE_SCRIPT.is_file():
        pytest.fail(
            f"{AXE_SCRIPT.relative_to(ROOT)} is missing: run 'make test' "
            "(or 'npm ci' in the repository root) to install axe-core",
            pytrace=False,
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def run_axe(page: Page, *, tags: tuple[str, ...] = AXE_TAGS) -> dict[str, Any]:
    """axe-core's results for the whole document currently in the page."""
    # page.evaluate runs over the DevTools protocol, so a page's Content-Security-Policy
    # does not stop axe from being injected (a <script> tag would be).
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    results: dict[str, Any] = page.evaluate(
        "(options) => axe.run(document, options)",
        options,
    )
    return results


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation.get('impact')}] {violation['help']} "
            f"({violation.get('helpUrl', '')})"
        )
        for node in violation.get("nodes", []):
            target = " ".join(json.dumps(part) for part in node.get("target", []))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def assert_accessible(
    page: Page, *, context_label: str, tags: tuple[str, ...] = AXE_TAGS
) -> dict[str, Any]:
    """Fail unless axe-core finds no WCAG 2.1 AA / Section 508 violation in the page.

    ``context_label`` says which page or state was checked (it starts the failure message).
    Returns axe's results, for tests that want to look further.
    """
    results = run_axe(page, tags=tags)
    violations = results["violations"]
    if violations:
        version = results.get("testEngine", {}).get("version", "?")
        count = len(violations)
        pytest.fail(
            f"axe-core {version} found {count} accessibility violation"
            f"{'' if count == 1 else 's'} on {context_label} ({page.url}), "
            f"tags {', '.join(tags)}:\n{format_violations(violations)}",
            pytrace=False,
        )
    return results


def watch_errors(page: Page) -> list[str]:
    """A list that fills with the page's uncaught JavaScript errors and console errors."""
    errors: list[str] = []

    def on_page_error(error: Any) -> None:
        errors.append(f"uncaught: {error}")

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("pageerror", on_page_error)
    page.on("console", on_console)
    return errors


# What every refusal under a Content-Security-Policy says on Chromium's console, whatever the
# version's wording ("Executing inline script violates the following Content Security Policy
# directive ...", formerly "Refused to execute inline script because it violates ...").
CSP_VIOLATION = "Content Security Policy"


def watch_csp_violations(context: BrowserContext) -> list[str]:
    """A list that fills with every Content-Security-Policy violation Chromium reports in any
    page or frame of ``context``: the ``page`` fixture (tests/conftest.py) fails the test when
    it is not empty, so every browser test runs the pages under their real policy."""
    violations: list[str] = []

    def on_console(message: Any) -> None:
        if CSP_VIOLATION in message.text:
            page = message.page
            where = page.url if page is not None else "?"
            violations.append(f"{where}: {message.text}")

    context.on("console", on_console)
    return violations


def assert_no_csp_violation(violations: list[str]) -> None:
    if violations:
        pytest.fail(
            "the browser refused something under the pages' Content-Security-Policy "
            "(shared/security_headers.py): move inline scripts, styles and event handlers "
            "into files:\n" + "\n".join(f"- {v}" for v in violations),
            pytrace=False,
        )


class LiveServer:
    """A WSGI app served on 127.0.0.1 (a free port) by werkzeug in a background thread."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"live-server-{self.url}",
            daemon=True,
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
