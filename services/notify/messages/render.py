"""The Jinja environment of notify's e-mails (``services/notify/templates/email/``): a
template rendered into a subject, a text body and an HTML body with its CSS inlined, and what
every message says of the agency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.agency import AgencyProfile
from shared.config import Settings

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates" / "email"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


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


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, html body) of ``template`` with ``context``.

    The subject is one line whatever the context holds (a line break in a name cannot start
    another header); the text ends with the signature; the HTML has its CSS inlined.
    """
    subject = TEMPLATES.get_template(f"{template}.subject.txt").render(context).strip()
    text = TEMPLATES.get_template(f"{template}.txt").render(context)
    html = TEMPLATES.get_template(f"{template}.html").render(context)
    signature = context.get("signature") or f"The {context['agency']} Alliance Program"
    text = f"{text.rstrip()}\n\n-- \n{signature}\n"
    return " ".join(subject.split()), text, INLINER.inline(html)


def edited_html(text_body: str, *, settings: Settings, profile: AgencyProfile) -> str:
    """The HTML part of a held message a staff member rewrote: their paragraphs, escaped, in
    the usual layout (logo, signature, inlined CSS). The text's own signature block (after
    "-- ") is left to the layout, which signs every message."""
    body = text_body.replace("\r\n", "\n").partition("\n-- \n")[0]
    paragraphs = [p.strip("\n") for p in body.split("\n\n") if p.strip()]
    context = {**branding(settings, profile), "paragraphs": paragraphs}
    return INLINER.inline(TEMPLATES.get_template("_edited.html").render(context))
