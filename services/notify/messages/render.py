"""The Jinja environment of notify's e-mails (``services/notify/templates/email/``): a
template rendered into a subject, a text body and an HTML body with its CSS inlined, and what
every message says of the agency."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import css_inline
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.agency import AgencyProfile
from shared.config import MAIL_SIGNATURES, Settings
from shared.i18n import DEFAULT_LANGUAGE, LANGUAGES, TRANSLATIONS


def _environment(language: str) -> Environment:
    """The templates in ``language``: ``_()`` and ``ngettext()`` in them from that language's
    catalog (shared/translations), ``when`` and ``day`` writing a moment and a day as people
    of that language do."""
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent.parent / "templates" / "email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(catalog(language), newstyle=True)  # type: ignore[attr-defined]

    def when(moment: datetime) -> str:
        if language == DEFAULT_LANGUAGE:
            return moment.strftime("%B %-d, %Y at %-I:%M %p %Z")
        pattern = "d 'de' MMMM 'de' y, H:mm"
        return f"{format_datetime(moment, pattern, locale=language)} {moment.strftime('%Z')}"

    def day(value: date) -> str:
        if language == DEFAULT_LANGUAGE:
            return value.strftime("%B %-d, %Y")
        return format_date(value, "d 'de' MMMM 'de' y", locale=language)

    environment.filters["when"] = when
    environment.filters["day"] = day
    return environment


@cache
def catalog(language: str) -> NullTranslations:
    """The compiled translations of ``language`` (English: none, the templates' own words)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language])


# The messages a partner reads that are translated (every word marked): the others stay in
# English whatever the contact reads, rather than a message half in each language.
TRANSLATED: frozenset[str] = frozenset(
    {
        "proposal_receipt",
        "draft_link",
        "decision_approved",
        "decision_changes_requested",
        "decision_declined",
        "alliance_signed_partner",
        "report_due_soon",
        "report_due",
        "report_overdue",
        "report_submitted_receipt",
        "report_accepted",
        "report_revision_requested",
        "report_link",
        "evaluation_shared",
        "alliance_term_calendar",
        "alliance_renewed",
        "alliance_concluded",
        "alliance_terminated",
        "alliance_ambassador",
    }
)


@cache
def templates(language: str) -> Environment:
    return _environment(language if language in LANGUAGES else DEFAULT_LANGUAGE)


TEMPLATES = templates(DEFAULT_LANGUAGE)


# The HTML part's styles are written once, in _layout.html's <style>, and copied into each
# element's style attribute: Gmail and Outlook drop or ignore much of a <style> element.
INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def branding(settings: Settings, profile: AgencyProfile) -> dict[str, Any]:
    """What every message says of the agency: its name, logo and signature (MAIL_LOGO_URL,
    MAIL_SIGNATURE), for the templates' context."""
    return {
        "agency": profile.name,
        "logo_url": settings.mail_logo_url,
        "signature": settings.mail_signature,
    }


def render(
    template: str, context: dict[str, Any], *, language: str = DEFAULT_LANGUAGE
) -> tuple[str, str, str]:
    """(subject, text body, html body) of ``template`` with ``context``, in ``language`` as
    far as the template is translated (its words marked with ``_()``).

    The subject is one line whatever the context holds (a line break in a name cannot start
    another header); the text ends with the signature; the HTML has its CSS inlined.
    """
    language = language if template in TRANSLATED else DEFAULT_LANGUAGE
    environment = templates(language)
    if context.get("signature"):
        context = {
            **context,
            "signature": signature_in(
                context["signature"], agency=context["agency"], language=language
            ),
        }
    subject = environment.get_template(f"{template}.subject.txt").render(context).strip()
    text = environment.get_template(f"{template}.txt").render(context)
    html = environment.get_template(f"{template}.html").render(context)
    signature = context.get("signature") or catalog(language).gettext(
        "The %(agency)s Alliance Program"
    ) % {"agency": context["agency"]}
    text = f"{text.rstrip()}\n\n-- \n{signature}\n"
    return " ".join(subject.split()), text, INLINER.inline(html)


def signature_in(signature: str, *, agency: str, language: str) -> str:
    """``signature`` in ``language`` when it is the profile's own (``MAIL_SIGNATURES``: the
    program's words, marked for translation in shared/i18n_messages.py); one the agency wrote
    (``MAIL_SIGNATURE``) stays as written."""
    for template in MAIL_SIGNATURES.values():
        if signature == template.format(agency=agency):
            words = catalog(language)
            return "\n".join(
                words.gettext(line).format(agency=agency) for line in template.splitlines()
            )
    return signature


def edited_html(
    text_body: str, *, settings: Settings, profile: AgencyProfile, language: str = DEFAULT_LANGUAGE
) -> str:
    """The HTML part of a held message a staff member rewrote: their paragraphs, escaped, in
    the usual layout (logo, signature, inlined CSS) in the message's ``language``
    (``language_of`` its first HTML part). The text's own signature block (after "-- ") is
    left to the layout, which signs every message."""
    body = text_body.replace("\r\n", "\n").partition("\n-- \n")[0]
    paragraphs = [p.strip("\n") for p in body.split("\n\n") if p.strip()]
    context = {**branding(settings, profile), "paragraphs": paragraphs}
    if context.get("signature"):
        context["signature"] = signature_in(
            context["signature"], agency=context["agency"], language=language
        )
    return INLINER.inline(templates(language).get_template("_edited.html").render(context))


_HTML_LANGUAGE = re.compile(r'<html\b[^>]*\blang="([a-z]{2})"')


def language_of(html_body: str | None) -> str:
    """The language a rendered message is in, as its HTML part says (``<html lang="es">``)."""
    found = _HTML_LANGUAGE.search(html_body or "")
    return found.group(1) if found and found.group(1) in LANGUAGES else DEFAULT_LANGUAGE
