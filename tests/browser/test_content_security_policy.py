"""The pages' Content-Security-Policy in Chromium: what it refuses, and that the browser tests'
collector (tests/browser_harness.py ``watch_csp_violations``, used by every test's ``page``)
hears each refusal, so a page that breaks under the policy fails its test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, Response

from shared.security_headers import PAGE_POLICY, init_security_headers
from tests.browser_harness import watch_csp_violations

pytestmark = [pytest.mark.browser]

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Inline</title>
<style>h1 { color: red; }</style></head>
<body><h1 style="color: red">Inline</h1>
<button type="button" onclick="document.title = 'handler ran'">Go</button>
<script>document.title = 'script ran';</script>
</body></html>"""


def inline_page_app() -> Flask:
    app = Flask(__name__)
    init_security_headers(app)

    @app.get("/")
    def inline() -> Response:
        return Response(PAGE, mimetype="text/html")

    return app


def test_an_inline_script_style_or_handler_is_refused_and_heard(
    browser: Any, live_server: Callable[[Any], str]
):
    base_url = live_server(inline_page_app())
    context = browser.new_context()
    try:
        violations = watch_csp_violations(context)
        page = context.new_page()
        response = page.goto(base_url + "/")
        assert response.headers["content-security-policy"] == PAGE_POLICY
        page.get_by_role("button", name="Go").click()
        page.wait_for_timeout(200)

        assert page.title() == "Inline"  # neither the script nor the handler ran
        # Chromium's wording changes between versions ("Refused to execute inline script
        # because it violates ...", "Executing inline script violates ..."); these stay.
        heard = {
            (what, directive)
            for line in violations
            for what in ("inline script", "inline event handler", "inline style")
            for directive in ("script-src", "style-src")
            if what in line and f"directive '{directive}" in line
        }
        assert heard == {
            ("inline script", "script-src"),
            ("inline event handler", "script-src"),
            ("inline style", "style-src"),
        }
    finally:
        context.close()
