"""The intake service's USWDS layout and form macros, in headless Chromium.

A test-only route renders a page that extends layout.html and uses every macro in
_macros.html, with and without errors; axe-core checks it against WCAG 2.1 AA and Section 508,
and the keyboard and USWDS JavaScript behaviour is exercised for real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask, render_template_string, request
from playwright.sync_api import expect

from deploy.assets import DEST, css_references, differences, locked_versions
from services.intake import create_app
from tests.browser_harness import assert_accessible, watch_errors

pytestmark = pytest.mark.browser

CHECK_PAGE = """
{% extends "layout.html" %}
{% import "_macros.html" as ui %}
{% block title %}Layout check{% endblock %}
{% block content %}
<h1>Propose an alliance</h1>
{{ ui.error_summary(summary) }}
{{ ui.required_fields_note() }}
<form class="usa-form usa-form--large" method="post" action="">
  {{ ui.text_input("legal_name", "Legal name of the organization", required=true,
                   value="Acme <Safety> Association", maxlength=200,
                   autocomplete="organization",
                   hint="As registered with the state.", errors=errors.get("legal_name")) }}
  {{ ui.text_input("email", "E-mail address", type="email", required=true,
                   autocomplete="email", value="contact@", errors=errors.get("email")) }}
  {{ ui.text_input("zip", "ZIP code", inputmode="numeric", width="md",
                   autocomplete="postal-code", attrs={"pattern": "[0-9]{5}(-[0-9]{4})?"},
                   hint="5 digits, or 9 with a hyphen.") }}
  {{ ui.text_input("website", "Website", type="url", maxlength=80, counter=true) }}
  {{ ui.textarea("mission", "What will the alliance do?", maxlength=2000, rows=4,
                 required=true, hint="A few sentences.", value="Train members.") }}
  {{ ui.textarea("expertise", "Which expertise does the agency lack?", maxlength=500,
                 hint="Say why it matters.", errors=errors.get("expertise")) }}
  {{ ui.select("organization_type", "Type of organization", organization_types,
               required=true, errors=errors.get("organization_type")) }}
  {{ ui.select("state", "State", [("MI", "Michigan"), ("OH", "Ohio")], value="MI",
               autocomplete="address-level1") }}
  {{ ui.checkboxes("hazards", "Hazards the alliance will address", hazards, required=true,
                   hint="Choose at least one.", errors=errors.get("hazards")) }}
  {{ ui.checkboxes("activities", "Activities", [
        ("training", "Training", "Courses for member companies"),
        ("outreach", "Outreach", "Mailing lists and conferences")],
      value=["outreach"], tile=true) }}
  {{ ui.radios("term", "Goal term", {"short": "Short-term", "long": "Long-term"},
               required=true, hint="When the goal should be met.",
               errors=errors.get("term")) }}
  {{ ui.radios("lead", "Lead division", [("cet", "Consultation Education & Training"),
                                         ("gi", "General Industry Safety & Health")],
               value="gi", tile=true) }}
  <button class="usa-button" type="submit">Submit proposal</button>
</form>
{% endblock %}
"""

ERRORS = {
    "legal_name": ["Enter the organization's legal name."],
    "email": ["Enter an e-mail address like name@example.org."],
    "expertise": "Explain in 500 characters or fewer.",
    "organization_type": ["Choose the type of organization."],
    "hazards": ["Choose at least one hazard."],
    "term": ["Choose whether the goal is short- or long-term."],
}
LABELS = {
    "legal_name": "Legal name",
    "email": "E-mail address",
    "expertise": "Expertise",
    "organization_type": "Type of organization",
    "hazards": "Hazards",
    "term": "",
}


def layout_check_app() -> Flask:
    app = create_app()

    @app.get("/_layout-check")
    def layout_check() -> str:
        errors = {} if request.args.get("clean") else ERRORS
        summary = [
            (field, LABELS[field], message if isinstance(message, str) else message[0])
            for field, message in errors.items()
        ]
        return render_template_string(
            CHECK_PAGE,
            errors=errors,
            summary=summary,
            organization_types={"business": "Business or employer", "union": "Labor union"},
            hazards=[("falls", "Falls"), ("heat", "Heat illness"), ("silica", "Silica")],
        )

    return app


@pytest.fixture
def base_url(live_server) -> str:
    return live_server(layout_check_app())


@pytest.fixture
def js_errors(page) -> Iterator[list[str]]:
    errors = watch_errors(page)
    yield errors
    assert errors == [], "the page raised JavaScript errors"


def active_element(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName.toLowerCase(), id: el.id, text: el.textContent.trim(),
                    classes: [...el.classList]};
        }"""
    )


@pytest.mark.parametrize("state", ["with errors", "without errors"])
def test_the_layout_and_every_macro_have_no_wcag_violations(page, base_url, js_errors, state):
    url = f"{base_url}/_layout-check" + ("?clean=1" if state == "without errors" else "")
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    assert page.title() == "Layout check | MIOSHA Alliance Program"
    assert page.locator("html").get_attribute("lang") == "en"

    results = assert_accessible(page, context_label=f"the layout check page {state}")
    assert len(results["passes"]) > 20  # axe really looked at the page

    # The banner's explanation, once opened, must pass too.
    page.locator(".usa-banner__button").click()
    assert_accessible(page, context_label=f"the layout check page {state}, banner open")


def test_error_state_markup_links_every_message_to_its_control(page, base_url, js_errors):
    page.goto(f"{base_url}/_layout-check")

    summary = page.locator("#error-summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.locator(".usa-alert__heading").inner_text() == "There are 6 problems"
    # The summary takes focus on load (autofocus), so keyboard users start there.
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    assert links.count() == 6
    assert links.first.inner_text() == "Legal name: Enter the organization's legal name."
    assert links.last.inner_text() == "Choose whether the goal is short- or long-term."

    for field in ERRORS:
        href = f"#{field}"
        assert summary.locator(f'a[href="{href}"]').count() == 1
        control = page.locator(href)  # the control itself, or a group's first option
        assert control.count() == 1
        error = page.locator(f"#{field}-error")
        assert error.get_attribute("class") == "usa-error-message"
        assert error.inner_text() in str(ERRORS[field])
        group = page.locator(f"#{field}-fieldset")
        described = group if group.count() else control
        assert f"{field}-error" in (described.get_attribute("aria-describedby") or "").split()
        assert "usa-form-group--error" in page.locator(".usa-form-group", has=error).evaluate(
            "el => el.className"
        )

    name = page.get_by_label("Legal name of the organization")
    assert name.get_attribute("aria-invalid") == "true"
    assert name.get_attribute("aria-describedby") == "legal_name-hint legal_name-error"
    assert name.get_attribute("class") == "usa-input usa-input--error"
    assert name.get_attribute("required") == ""
    assert name.get_attribute("maxlength") == "200"
    assert name.get_attribute("autocomplete") == "organization"
    assert name.input_value() == "Acme <Safety> Association"  # escaped, not markup
    label = page.locator('label[for="legal_name"]')
    assert "usa-label--error" in (label.get_attribute("class") or "")
    assert label.locator("abbr").get_attribute("title") == "required"
    assert page.locator("#email").get_attribute("type") == "email"
    assert page.locator("#organization_type").get_attribute("aria-invalid") == "true"
    # An errored textarea keeps its maxlength but gets no character counter.
    assert page.locator("#expertise").get_attribute("maxlength") == "500"
    assert page.locator("#expertise-info").count() == 0
    # Radios are required one by one; a checkbox group only says so in its legend.
    assert page.locator('input[name="term"][required]').count() == 2
    assert page.locator('input[name="hazards"][required]').count() == 0
    assert page.locator("#hazards-fieldset legend abbr").get_attribute("title") == "required"

    # A summary link leads to its control.
    summary.locator('a[href="#email"]').click()
    assert page.evaluate("location.hash") == "#email"


def test_values_hints_and_the_character_counter(page, base_url, js_errors):
    page.goto(f"{base_url}/_layout-check?clean=1")
    assert page.locator("#error-summary").count() == 0
    assert page.locator(".usa-form-group--error, [aria-invalid]").count() == 0

    assert page.locator("#state").input_value() == "MI"
    assert page.locator("#organization_type").input_value() == ""
    assert page.locator("#activities-2").is_checked()
    assert not page.locator("#activities").is_checked()
    assert page.locator("#lead-2").is_checked()
    zip_code = page.get_by_label("ZIP code")
    assert zip_code.get_attribute("aria-describedby") == "zip-hint"
    assert zip_code.get_attribute("pattern") == "[0-9]{5}(-[0-9]{4})?"
    assert zip_code.get_attribute("inputmode") == "numeric"
    assert "usa-input--md" in (zip_code.get_attribute("class") or "")

    # uswds.min.js turned the textarea into a live character count.
    mission = page.get_by_label("What will the alliance do?")
    assert mission.get_attribute("aria-describedby") == "mission-info mission-hint"
    status = page.locator(".usa-character-count:has(#mission) .usa-character-count__status")
    # USWDS 3.14 shows the limit until the first keystroke, even for a prefilled value.
    assert status.first.inner_text() == "2000 characters allowed"
    assert mission.get_attribute("maxlength") is None  # the counter took it over
    mission.fill("x" * 2005)
    assert status.first.inner_text() == "5 characters over limit"
    assert "usa-input--error" in (mission.get_attribute("class") or "")
    mission.fill("x" * 10)
    assert status.first.inner_text() == "1990 characters left"
    assert "usa-input--error" not in (mission.get_attribute("class") or "")


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, base_url, js_errors):
    page.goto(f"{base_url}/_layout-check?clean=1")

    page.keyboard.press("Tab")
    first = active_element(page)
    assert first["tag"] == "a"
    assert "usa-skipnav" in first["classes"]
    assert first["text"] == "Skip to main content"
    assert page.locator(".usa-skipnav").is_visible()  # shown when focused

    page.keyboard.press("Enter")
    assert active_element(page)["id"] == "main-content"
    top = page.evaluate("document.getElementById('main-content').getBoundingClientRect().top")
    assert abs(top) < 2, f"main should be scrolled to the top of the window, is at {top}px"
    # The next Tab continues inside main, past the banner and the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main-content').contains(document.activeElement)")


def test_banner_accordion_opens_and_closes(page, base_url, js_errors):
    page.goto(f"{base_url}/_layout-check?clean=1")
    button = page.locator(".usa-banner__button")
    content = page.locator("#gov-banner")

    assert button.get_attribute("aria-expanded") == "false"
    assert content.is_hidden()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert content.is_visible()
    assert content.get_by_text("Official websites use .gov").is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "false"
    assert content.is_hidden()
    assert page.evaluate("window.uswdsPresent") is True


def test_vendored_css_js_and_fonts_are_served(page, base_url, js_errors):
    page.goto(f"{base_url}/_layout-check?clean=1")
    css_url, site_url = page.locator('link[rel="stylesheet"]').evaluate_all(
        "els => els.map(el => el.href)"
    )
    # The project's own rules (shared/static/site/site.css) come after USWDS's, to win ties.
    assert site_url.endswith("/assets/site/site.css"), site_url
    assert requests.get(site_url, timeout=10).headers["Content-Type"].startswith("text/css")
    assert re.search(r"/assets/uswds/css/uswds\.min\.css\?v=3\.\d+\.\d+$", css_url), css_url
    script_urls = page.locator("script[src]").evaluate_all("els => els.map(el => el.src)")
    assert [url.split("?")[0].rsplit("/", 1)[-1] for url in script_urls] == [
        "uswds-init.min.js",
        "uswds.min.js",
    ]

    css = requests.get(css_url, timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    references = css_references(css.text)
    fonts = [ref for ref in references if ref.endswith(".woff2")]
    assert fonts, "uswds.min.css references no font"
    font = requests.get(urljoin(css_url, "../" + fonts[0].removeprefix("css/")), timeout=10)
    assert font.status_code == 200
    assert font.headers["Content-Type"] == "font/woff2"
    assert len(font.content) > 1000
    # Every file the CSS refers to is there, so no icon or font quietly 404s.
    missing = [
        ref
        for ref in references
        if requests.get(urljoin(css_url, f"../{ref}"), timeout=10).status_code != 200
    ]
    assert missing == []
    for url in script_urls:
        assert requests.get(url, timeout=10).status_code == 200

    # And the browser itself resolved the CSS's relative url()s and loaded the web font.
    loaded = page.evaluate(
        """async () => {
            await document.fonts.ready;
            return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family);
        }"""
    )
    assert any("Source Sans Pro Web" in family for family in loaded), loaded


def test_the_vendored_uswds_is_the_locked_version_unchanged():
    # package.json bumped without 'make assets', or a hand-edited copy, fails here.
    assert (DEST / "VERSION").read_text().strip() == locked_versions()["@uswds/uswds"]
    assert differences() == []
    size = sum(path.stat().st_size for path in DEST.rglob("*") if path.is_file())
    assert size < 3 * 1024 * 1024, f"the vendored USWDS grew to {size} bytes"


def test_the_harness_reports_violations(page):
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>Broken</title></head>'
        '<body><main><img src="data:,"><input type="text"></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(page, context_label="a page with known problems")
    message = str(failure.value)
    assert "on a page with known problems" in message
    assert "image-alt [critical]" in message
    assert "label [critical]" in message
    assert '"img"' in message
