"""Every page's banner names whose official website it is (a state plan's state, or the United
States government), and the program's icon is served: issue 16's "Smaller" items."""

from __future__ import annotations

import pytest

from services.intake import create_app

pytestmark = pytest.mark.integration


def page() -> str:
    answer = create_app({"TESTING": True}).test_client().get("/apply")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_a_state_plans_banner_names_its_state_not_the_united_states(monkeypatch):
    monkeypatch.delenv("AGENCY_PROFILE", raising=False)
    html = page()
    assert "An official website of the State of Michigan" in html
    assert 'aria-label="Official website of the State of Michigan"' in html
    assert "United States government" not in html


def test_federal_osha_and_a_configured_government_are_named(monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    assert "An official website of the United States government" in page()
    monkeypatch.setenv("AGENCY_PROFILE", "state_plan")
    monkeypatch.setenv("AGENCY_GOVERNMENT", "the State of Oregon")
    assert "An official website of the State of Oregon" in page()


def test_every_page_names_the_programs_icon_and_it_is_served():
    html = page()
    assert '<link rel="icon" type="image/svg+xml" href="/assets/site/favicon.svg">' in html
    with create_app({"TESTING": True}).test_client().get("/assets/site/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).startswith("<svg")
