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

from pathlib import Path

from flask import Flask, Response, g, has_app_context, has_request_context, request
from flask_babel import Babel

LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
# The languages offered to partners. Spanish joins once its catalog covers every page and
# message a partner meets (issue 18: so far the page layout and the form controls); until
# then a partner asking for it reads English rather than a page half in each language.
OFFERED: tuple[str, ...] = ("en",)
COOKIE = "alliance_lang"
TRANSLATIONS = Path(__file__).parent / "translations"


def is_staff_path(path: str) -> bool:
    return path.startswith(("/staff/", "/api/")) or path == "/staff"


def use_language(language: str) -> None:
    """The page being made is for a person who chose ``language`` (an unknown one: English)."""
    g.language = language if language in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the page being made (see the module's rules)."""
    chosen = g.get("language") if has_app_context() else None
    if chosen:
        return str(chosen)
    if not has_request_context() or is_staff_path(request.path):
        return DEFAULT_LANGUAGE
    asked = request.args.get("lang", "")
    if asked in OFFERED:
        return asked
    kept = request.cookies.get(COOKIE, "")
    if kept in OFFERED:
        return kept
    return request.accept_languages.best_match(list(OFFERED)) or DEFAULT_LANGUAGE


def _keep_asked_language(response: Response) -> Response:
    """A ``?lang=`` a person chose is kept for their next pages (a year, this site only)."""
    asked = request.args.get("lang", "")
    if asked in OFFERED and not is_staff_path(request.path):
        response.set_cookie(
            COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure
        )
    return response


def init_languages(app: Flask) -> None:
    """Flask-Babel for ``app``: ``_()`` in its templates and code, the page's language by the
    rules above, and ``current_language`` and ``languages`` in every template."""
    Babel(
        app,
        locale_selector=current_language,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.after_request(_keep_asked_language)

    @app.context_processor
    def languages() -> dict[str, object]:
        offered = {code: LANGUAGES[code] for code in OFFERED}
        return {"current_language": current_language(), "languages": offered}
