"""Languages: what a partner reads in, and the catalogs that say it (Flask-Babel, Babel).

Everything a partner sees is written in English and marked for translation (``_()`` in
templates and code); ``shared/translations/<language>/LC_MESSAGES/messages.po`` holds the
translations, compiled to ``messages.mo`` (``make translations`` extracts, updates and compiles
them; a test keeps the catalogs complete and the compiled files current).

Which language a page is in:

- a staff page (a path under ``/staff/`` or ``/api/``): English, always (staff pages are marked
  for translation, not translated);
- a partner's page: the language a view chose for the person (``use_language``), else the one
  asked for (``?lang=es``, which a link on every public page offers and a cookie keeps), else
  the browser's (``Accept-Language``), else English; among the languages ``OFFERED``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
)
from flask_babel import Babel, gettext, refresh

from shared.i18n_messages import PATTERNED
from shared.times import agency_time, in_agency_zone

LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
# What staff pages (in English) call each language a partner may read.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Spanish"}
DEFAULT_LANGUAGE = "en"
# The languages a service offers its partners (``init_languages(offering=...)``): a service
# offers Spanish once its catalog covers every page of it a partner meets; until then a
# partner asking for it reads English rather than a page half in each language.
OFFERED: tuple[str, ...] = ("en",)


def offer_every_language(app: Flask) -> None:
    """An app whose partner pages are all translated offers every language (intake's)."""
    app.config["OFFERED_LANGUAGES"] = tuple(LANGUAGES)


def offered() -> tuple[str, ...]:
    """The languages this service's partner pages are offered in."""
    found = current_app.config.get("OFFERED_LANGUAGES") if has_app_context() else None
    return tuple(found) if found else OFFERED


COOKIE = "alliance_lang"
TRANSLATIONS = Path(__file__).parent / "translations"


def is_staff_path(path: str) -> bool:
    return path.startswith(("/staff/", "/api/")) or path == "/staff"


def use_language(language: str) -> None:
    """The page being made is for a person who chose ``language`` (an unknown one: English)."""
    g.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    refresh()  # a translation already made in this request used the language guessed before


def use_language_of(person_language: str | None) -> None:
    """A page through a person's own link (their proposal's status, their report): in the
    language they chose on the form, unless this browser asks for another (``?lang=`` now,
    or the choice it keeps), which is the person changing their mind."""
    if not has_request_context():
        return
    asked = request.args.get("lang", "") in offered()
    kept = request.cookies.get(COOKIE, "") in offered()
    if not asked and not kept:
        use_language(person_language or DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the page being made (see the module's rules)."""
    chosen = g.get("language") if has_app_context() else None
    if chosen:
        return str(chosen)
    if not has_request_context() or is_staff_path(request.path):
        return DEFAULT_LANGUAGE
    languages = offered()
    asked = request.args.get("lang", "")
    if asked in languages:
        return asked
    kept = request.cookies.get(COOKIE, "")
    if kept in languages:
        return kept
    return request.accept_languages.best_match(list(languages)) or DEFAULT_LANGUAGE


def _keep_asked_language(response: Response) -> Response:
    """A ``?lang=`` a person chose is kept for their next pages (a year, this site only)."""
    asked = request.args.get("lang", "")
    if asked in offered() and not is_staff_path(request.path):
        response.set_cookie(
            COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure
        )
    return response


def init_languages(app: Flask, *, offering: tuple[str, ...] = OFFERED) -> None:
    """Flask-Babel for ``app``: ``_()`` in its templates and code, the page's language by the
    rules above among those it is ``offering`` its partners (``offer_every_language``), and
    ``current_language`` and ``languages`` (the offered ones, for the switch on public
    pages) in every template."""
    app.config["OFFERED_LANGUAGES"] = offering
    Babel(
        app,
        locale_selector=current_language,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.after_request(_keep_asked_language)

    app.add_template_filter(translated_choices, "translated")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(translate_message, "translated_message")
    app.add_template_filter(language_name, "language_name")
    # An instant as the page's readers write it, in the agency's zone (shared/times.py).
    app.add_template_filter(format_moment, "agency_time")

    @app.context_processor
    def languages() -> dict[str, object]:
        public = has_request_context() and not is_staff_path(request.path)
        shown = {c: LANGUAGES[c] for c in offered()} if public else {}
        return {"current_language": current_language(), "languages": shown}


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
            for index, part in enumerate(parts)
        )
    )


def translate_message(text: str) -> str:
    """``text`` (a label or a check's message, in the code's English) in the page's language:
    as the catalog has it, or, for a message with values in it (``PATTERNED``), its
    translated pattern with the same values (a day written the English way rewritten the
    page's way, a word the catalog has translated); as it is when the catalog has neither."""
    translated = gettext(text)
    if translated != text:
        return str(translated)
    for template in PATTERNED:
        found = _pattern(template).fullmatch(text)
        if found:
            pattern = gettext(template)
            if pattern != template:
                values = {name: _value(value) for name, value in found.groupdict().items()}
                return str(pattern).format(**values)
    return text


def _value(text: str) -> str:
    """A value inside a patterned message, in the page's language: an English day
    ("March 31, 2026") as the page writes days; a word the catalog has; else as it is."""
    try:
        return format_day(datetime.strptime(text, "%B %d, %Y").date())  # noqa: DTZ007 (a day)
    except ValueError:
        return str(gettext(text))


def language_name(code: object) -> str:
    """The name staff read for a partner's language code ("es": "Spanish"); English when
    none was chosen (every contact before languages were offered)."""
    return LANGUAGE_NAMES.get(str(code or DEFAULT_LANGUAGE), LANGUAGE_NAMES[DEFAULT_LANGUAGE])


def translated_choices(
    choices: Mapping[str, str] | Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """A list's (value, label) pairs with each label in the page's language."""
    pairs = choices.items() if isinstance(choices, Mapping) else choices
    return [(value, translate_message(label)) for value, label in pairs]


def format_day(value: date | str | None) -> str:
    """A day as the page's readers write it: "March 1, 2024", "1 de marzo de 2024"."""
    if value is None or value == "":
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return day.strftime("%B %-d, %Y")
    return str(format_date(day, "d 'de' MMMM 'de' y", locale=language))


def format_moment(moment: datetime | str | None) -> str:
    """An instant in the agency's zone, named, as the page's readers write it: "Dec 6, 2026,
    1:13 PM EST" (shared/times.py), "6 de diciembre de 2026, 13:13 EST"."""
    language = current_language()
    if language == DEFAULT_LANGUAGE or not moment:
        return agency_time(moment)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = in_agency_zone(moment)
    shown = format_datetime(local, "d 'de' MMMM 'de' y, H:mm", locale=language)
    return f"{shown} {local.strftime('%Z')}"
