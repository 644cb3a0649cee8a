"""The public directory and roundtable membership over time, on real PostgreSQL: each test
in a transaction rolled back after it (``session``), but the one over HTTP."""

import pytest

from services.review import create_app
from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from services.review.worker import database
from tests.review.factories import agency_today, build_program

pytestmark = pytest.mark.integration

PRIVATE = [
    "dana@example.org",
    "Dana Smith",
    "517-555-0100",
    "517-555-0101",
    "Safety Director",
    "lee@agency.example",
    "Lee Liaison",
    "100 Main St",
    "48933",
    "AP-2026-",
    "members reached",
    "Internal: their last report was thin",
    "Partner dissolved",
]


@pytest.mark.usefixtures("clean_databases")
def test_anyone_reads_the_directory_as_json_and_as_a_page():
    with database.transaction() as session:
        program = build_program(session)
    client = create_app({"TESTING": True}).test_client()

    as_json = client.get("/api/v1/directory")
    assert (as_json.status_code, as_json.headers["Cache-Control"]) == (200, "public, max-age=300")
    with database.transaction() as session:
        assert as_json.get_json() == DirectoryOut().dump(
            directory.public_directory(session, today=agency_today())
        )
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/directory"]["get"]
    assert spec["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DirectoryOut"
    }
    assert [a["partner_name"] for a in as_json.get_json()["alliances"]] == [
        "Ironworkers Guild",
        "Roofers Association",
    ]

    page = client.get("/directory")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Alliance directory | MIOSHA Alliance Program</title>" in html
    assert 'class="usa-banner"' in html  # the shared USWDS layout
    for text in (
        "Roofers Association",
        "Ironworkers Guild",
        "Ambassador since",
        "Fall Protection Workgroup",
        "Construction Safety &amp; Health",
        'href="https://roofers.example"',
    ):
        assert text in html, text
    today = program["today"].strftime("%B %-d, %Y")
    assert f'Ambassador since</dt>\n        <dd class="margin-left-0">{today}</dd>' in html
    for text in ("Masons Council", "Painters Union", "Silica Roundtable", *PRIVATE):
        assert text not in html, text


@pytest.mark.usefixtures("clean_databases")
def test_the_directory_reads_in_spanish() -> None:
    with database.transaction() as session:
        build_program(session)
    client = create_app({"TESTING": True}).test_client()
    page = client.get("/directory?lang=es")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="es">' in html
    assert "Directorio de alianzas" in html
    assert "Alianzas activas (" in html
    assert "Divulgación y comunicación" in html  # a goal's category
    assert "Mesas redondas" in html
