"""Languages (shared/i18n.py): the Spanish catalog translates every string marked for
translation, its compiled file is current, a page made for a Spanish reader is in Spanish
with ``lang="es"``, staff pages stay in English, and a partner is offered only the languages
whose catalogs are complete."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template

from services.intake import create_app
from shared import i18n

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
CATALOG = ROOT / "shared" / "translations" / "es" / "LC_MESSAGES"


def _key(message_id: object) -> str:
    """A message's id; a plural message by its singular."""
    return str(message_id[0]) if isinstance(message_id, list | tuple) else str(message_id)


def _translated(string: object) -> tuple[str, ...]:
    """A message's translation (each plural form of a plural message); empty: none."""
    forms = tuple(string) if isinstance(string, list | tuple) else (str(string or ""),)
    return forms if all(forms) else ()


def marked_strings(tmp_path: Path) -> set[str]:
    """Every string marked for translation in the code and templates, extracted afresh."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_",
            "-k",
            "N_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(template),
            "--omit-header",
            "--no-location",
            "services",
            "shared",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as f:
        return {_key(m.id) for m in read_po(f) if m.id}


def test_every_marked_string_has_its_spanish_and_the_compiled_catalog_is_current(
    tmp_path: Path,
) -> None:
    with (CATALOG / "messages.po").open("rb") as f:
        spanish = {_key(m.id): _translated(m.string) for m in read_po(f, locale="es") if m.id}
    untranslated = sorted(s for s in marked_strings(tmp_path) if not spanish.get(s))
    assert untranslated == [], "run `make translations` and translate these in the .po"
    compiled = read_mo(io.BytesIO((CATALOG / "messages.mo").read_bytes()))
    assert {_key(m.id): _translated(m.string) for m in compiled if m.id} == {
        key: value for key, value in spanish.items() if value
    }, "the .mo is older than the .po: run `make translations`"


def test_a_page_made_for_a_spanish_reader_is_in_spanish(redis_client) -> None:
    app = create_app({"TESTING": True})
    with app.test_request_context("/apply"):
        i18n.use_language("es")
        page = render_template("layout.html", page_title="x")
    assert '<html lang="es">' in page
    assert "Saltar al contenido principal" in page
    assert "Un sitio web oficial del Estado de Michigan" in page  # the government, in Spanish
    with app.test_request_context("/apply"):
        page = render_template("layout.html", page_title="x")
    assert '<html lang="en">' in page
    assert "Skip to main content" in page


def test_staff_pages_are_english_and_partners_get_only_the_offered_languages(redis_client) -> None:
    app = create_app({"TESTING": True})  # intake offers every language
    with app.test_request_context("/staff/queue?lang=es", headers={"Accept-Language": "es"}):
        assert i18n.current_language() == "en"
    with app.test_request_context("/apply", headers={"Accept-Language": "es-MX,es;q=0.9"}):
        assert i18n.current_language() == "es"
    answer = app.test_client().get("/apply?lang=fr")
    assert answer.status_code == 200
    assert '<html lang="en">' in answer.get_data(as_text=True)
    # A service whose partner pages are not all translated yet offers English only.
    from flask import Flask

    untranslated = Flask(__name__)
    i18n.init_languages(untranslated)
    with untranslated.test_request_context("/reports/x?lang=es", headers={"Accept-Language": "es"}):
        assert i18n.offered() == ("en",)
        assert i18n.current_language() == "en"


# The templates every partner page of a service that offers Spanish is made of (intake's).
PARTNER_TEMPLATES = [
    "shared/templates/layout.html",
    "shared/templates/_macros.html",
    "services/intake/templates/apply.html",
    "services/intake/templates/confirmation.html",
    "services/intake/templates/status.html",
    "services/intake/templates/message.html",
    "services/intake/templates/refusal.html",
    "services/review/templates/directory/directory.html",
    "shared/templates/refusal.html",
    "services/reporting/templates/report_form.html",
    "services/reporting/templates/report_submitted.html",
    "services/reporting/templates/reports/printout.html",
    "services/reporting/templates/_letterhead.html",
]
_VISIBLE_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"{]*[A-Za-z][^"{]*)"')


def unmarked_text(source: str) -> list[str]:
    """The words a template shows that are not marked for translation: text outside every
    Jinja tag, expression and comment and every HTML tag, and the visible attributes."""
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"<(script|style|svg)\b.*?</\1>", "", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    found = [f'attribute: "{value}"' for value in _VISIBLE_ATTRIBUTE.findall(source)]
    source = re.sub(r"<[^>]*>", " ", source, flags=re.S)
    # (A word with = in it is a piece of a tag a macro writes in parts, not text.)
    found += [w for w in source.split() if re.search(r"[A-Za-z]{2,}", w) and "=" not in w]
    return found


@pytest.mark.parametrize("template", PARTNER_TEMPLATES)
def test_a_partner_template_marks_every_word_it_shows(template: str) -> None:
    source = (ROOT / template).read_text(encoding="utf-8")
    if template.endswith("_macros.html"):
        source = source.split("-#}", 1)[1]  # its long opening comment documents the macros
    assert unmarked_text(source) == []


def test_the_lists_marked_for_translation_are_the_lists_the_code_holds() -> None:
    from services.intake.forms import GOAL_LABELS
    from services.reporting.figures.domain import STATUS_LABELS
    from services.reporting.reports.content import FIELDS, SECTIONS
    from services.reporting.reports.submission import PERIOD_WORDS
    from services.reporting.submissions.forms import NARRATIVE_PARTS, ROW_NAMES
    from services.review.roundtables.domain import PRODUCT_KINDS
    from shared import agency
    from shared.i18n_messages import LISTS
    from shared.proposal import PROPOSAL_FIELD_LABELS

    held = [
        *agency.ORGANIZATION_TYPES.values(),
        *agency.GOAL_CATEGORIES.values(),
        *agency.GOAL_TERMS.values(),
        *agency.DEFAULT_HAZARDS.values(),
        *agency.DEFAULT_ACTIVITIES.values(),
        *agency.DEFAULT_PRIORITY_AREAS.values(),
        *agency.STATE_PLAN_DIVISIONS.values(),
        *agency.FEDERAL_OFFICES.values(),
        *PROPOSAL_FIELD_LABELS.values(),
        *GOAL_LABELS.values(),
        *SECTIONS.values(),
        *(label for fields in FIELDS.values() for label in fields.values()),
        *ROW_NAMES.values(),
        *NARRATIVE_PARTS.values(),
        *PERIOD_WORDS.values(),
        *STATUS_LABELS.values(),
        *PRODUCT_KINDS.values(),
    ]
    assert [label for label in held if label not in LISTS] == []
