"""The report form, its confirmation and its printout in the language the partner's contact
chose on the proposal form (shared/i18n.py): Spanish through the same link, with the checks'
messages, the days and the PDF in Spanish; English when the browser asks for it; staff read
the same report in English."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from services.reporting import create_app
from services.reporting.models import Report
from services.reporting.reports import domain as reports
from services.reporting.reports import tokens
from services.reporting.submissions import views as form_views
from services.reporting.worker import database
from tests.reporting.factories import partner_submits, run_reporting_task
from tests.review.factories import LIAISON, acting_as, alliance_signed_event
from tests.shared.factories import signed_in

pytestmark = pytest.mark.integration

SIGNED = date(2026, 1, 15)
SUBMITTED_AT = datetime(2026, 4, 20, 15, tzinfo=UTC)
COMPLETE = {
    "meetings.0.date": "2026-02-10",
    "meetings.0.topic": "Planificación del día de seguridad",
    "meetings.0.attendees": "Dana Smith, Lee Park",
    "outreach.0.date": "2026-03-05",
    "outreach.0.event": "Día de seguridad en techos",
    "outreach.0.city": "Lansing",
    "outreach.0.state": "MI",
    "outreach.0.emphasis_area": "heat",
    "outreach.0.number_reached": "85",
    "narratives.outreach_communication.results": "Llegamos a 85 techadores en Lansing.",
}


def _report(language: str) -> Report:
    signed = alliance_signed_event(signing_date=SIGNED, language=language)
    signed.payload["goals"] = [{"category": "outreach_communication", "description": "Charlas"}]
    run_reporting_task("reporting.alliance_signed", signed)
    with database.transaction() as session:
        first = reports.reports_of(session, alliance_id=signed.payload["alliance_id"])[0]
        session.expunge(first)
        return first


@pytest.fixture
def spanish_report(clean_databases: Any, redis_client: Any) -> Report:
    return _report("es")


def text(answer: Any) -> str:
    return " ".join(answer.get_data(as_text=True).split())


def partner() -> Any:
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


def test_the_form_is_in_the_contacts_language_with_its_checks_and_days(spanish_report, monkeypatch):
    monkeypatch.setattr(form_views, "now", lambda: SUBMITTED_AT)
    url = f"/reports/{tokens.make_token(spanish_report.id)}"
    form = text(partner().get(url))
    assert '<html lang="es">' in form
    assert "Informe trimestral: Michigan Roofing Contractors Association" in form
    assert "Reuniones del equipo de implementación" in form
    assert "Fecha de la reunión" in form
    assert "Guardar borrador" in form
    assert "Enviar informe" in form
    assert "15 de enero de 2026" in form  # the period's first day, as Spanish writes it
    assert "Save draft" not in form
    assert "Meeting date" not in form

    refused = partner().post(url, data={"action": "submit", "outreach.0.number_reached": "diez"})
    assert refused.status_code == 422
    page = text(refused)
    assert '<html lang="es">' in page
    assert "Escriba un número entero, 0 o mayor." in page
    # The error summary names each field in Spanish, never its path.
    assert "Eventos de divulgación y capacitación para públicos externos, fila 1" in page
    assert "Número de personas alcanzadas" in page

    refused = partner().post(
        url,
        data={
            "action": "submit",
            "outreach.0.date": "2025-12-01",  # before the period
            "outreach.0.event": "Charla",
        },
    )
    assert refused.status_code == 422
    page = text(refused)
    assert "Escriba al menos una reunión del equipo" in page
    assert "Escriba una fecha dentro del período de este informe, del 15 de enero de 2026" in page
    assert "Este campo es obligatorio." in page
    assert "Enter " not in page
    assert "This field is required" not in page

    removed = text(partner().post(url, data={**COMPLETE, "action": "remove:meetings:0"}))
    assert "Se quitó reunión 1." in removed


def test_the_confirmation_and_the_printout_are_in_spanish_and_staff_read_english(
    spanish_report, monkeypatch
):
    partner_submits(monkeypatch, spanish_report.id, COMPLETE, SUBMITTED_AT)
    url = f"/reports/{tokens.make_token(spanish_report.id)}"
    confirmation = text(partner().get(url))
    assert '<html lang="es">' in confirmation
    assert "Informe enviado" in confirmation
    assert "Gracias. Se recibió el informe" in confirmation
    assert "a tiempo" in confirmation
    assert "20 de abril de 2026, 11:00 EDT" in confirmation  # the agency's zone, named
    assert "Descargar una copia para imprimir (PDF, versión 1)" in confirmation
    assert "Área de énfasis: Calor" in confirmation or "Área de énfasis:" in confirmation

    pdf = partner().get(f"{url}/report.pdf")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.data))
    printed = " ".join(p.extract_text() for p in reader.pages)
    assert str(reader.trailer["/Root"]["/Lang"]) == "es"
    for words in (
        "Informe",
        "Alianza:",
        "Período:",
        "Reuniones del equipo de implementación",
        "Resultados y obstáculos por categoría de metas",
        "Llegamos a 85 techadores en Lansing.",
        "Página 1 de 2",
        "Impreso el",
    ):
        assert words in printed, words
    assert "Results and obstacles" not in printed
    assert "Page 1 of" not in printed

    # The liaison's page says which language the partner reads; their printout is English.
    page = signed_in(
        create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), acting_as(LIAISON)
    ).get(f"/staff/reports/{spanish_report.id}")
    assert "Partner contact: Dana Smith (reads our messages in Spanish)" in text(page)
    staff = signed_in(
        create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}), acting_as(LIAISON)
    ).get(f"/staff/reports/{spanish_report.id}/report.pdf")
    english = PdfReader(io.BytesIO(staff.data))
    assert str(english.trailer["/Root"]["/Lang"]) == "en"
    assert "Results and obstacles by goal category" in " ".join(
        p.extract_text() for p in english.pages
    )


def test_the_browser_may_ask_for_english_and_an_english_contact_reads_english(
    clean_databases, redis_client
):
    spanish = _report("es")
    url = f"/reports/{tokens.make_token(spanish.id)}"
    client = partner()
    assert "Reuniones del equipo" not in text(client.get(f"{url}?lang=en"))
    # The choice is kept for the person's next pages (a cookie), also for what they post.
    assert "Meeting date" in text(client.get(url))
    english = _report("en")
    page = text(partner().get(f"/reports/{tokens.make_token(english.id)}"))
    assert '<html lang="en">' in page
    assert "Implementation team meetings" in page


def test_a_refused_link_says_so_in_the_browsers_language(clean_databases, redis_client):
    answer = partner().get("/reports/not-a-token", headers={"Accept-Language": "es-MX,es"})
    assert answer.status_code == 404
    page = text(answer)
    assert '<html lang="es">' in page
    assert "Este enlace a un informe no es válido." in page
    assert "No se cambió nada." in page
    assert "_request" not in page
