"""Signed links: bearer credentials that stay with the partner they were made for.

A partner's signed link opens their proposal's status page (intake's ``/status/<token>``),
their saved draft (``/apply/resume/<token>``, ``/apply/confirmation/<token>``) or a report's
form (reporting's ``/reporting/reports/<token>``) without signing in: whoever holds it acts as
the partner. Notify mails these links to the partner, and keeps them in the stored message so
that a retry or a resend carries them, but never shows them to anyone else:

- ``without_signed_fields``: an event's payload without its links (``*_url`` fields), as a
  webhook's ``data`` carries it (services/notify/webhooks);
- ``hide_signed_links``: a message's text or HTML part with every signed link replaced by
  ``HIDDEN``, as the message log, its HTML frame and the API show it
  (``services/notify/log/domain.py``);
- ``restore_signed_links``: a held message a staff member rewrote from the hidden text gets its
  links back where the placeholders stand.

A staff member's link to set their password (review's ``/staff/set-password/<token>``, in the
invitation and the "Forgot your password?" e-mail) is a bearer credential too: it is hidden
the same way, from everyone, as ``HIDDEN_STAFF``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

HIDDEN = "[partner's signed link, hidden]"
HIDDEN_STAFF = "[personal link to set a password, hidden]"

# A staff member's link to set their password (services/review/staff/views.py).
_STAFF_PATH = r"/staff/set-password/[^\s\"'<>/?#]+"
STAFF_LINK = re.compile(_STAFF_PATH, re.IGNORECASE)
# The paths the partners' signed links open (services/intake/views.py,
# services/reporting/submissions/views.py behind the gateway's /reporting), and the staff's.
_SIGNED_PATHS = (
    r"/(?:status|apply/resume|apply/confirmation|reporting/reports)/[^\s\"'<>/?#]+"
    rf"|{_STAFF_PATH}"
)
# An itsdangerous token (payload.timestamp.signature), whatever path carries it.
_ITSDANGEROUS_SHAPE = r"/[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}(?=[/?#\s\"'<>]|$)"
_URL_START = r"(?:[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>/]+)?"
_REST = r"[^\s\"'<>]*"
SIGNED_LINK = re.compile(
    rf"{_URL_START}[^\s\"'<>]*?(?:{_SIGNED_PATHS}|{_ITSDANGEROUS_SHAPE}){_REST}", re.IGNORECASE
)
# An HTML link to a signed address: the element keeps its text (itself hidden if a link).
_HTML_LINK = re.compile(
    r"<a\b[^>]*?\bhref\s*=\s*([\"'])(?P<href>[^\"']*)\1[^>]*>(?P<text>.*?)</a\s*>",
    re.IGNORECASE | re.DOTALL,
)
_HIDDEN_HTML = HIDDEN.replace("'", "&#39;")
_HIDDEN_ANY = re.compile("|".join(re.escape(text) for text in (HIDDEN, _HIDDEN_HTML, HIDDEN_STAFF)))


def is_signed_field(name: str) -> bool:
    """A payload field that holds a link (``status_url``, ``report_url``, ``resume_url``...):
    the events' links are the partners' signed links, or staff pages a receiver has no use for."""
    return str(name).endswith("_url")


def without_signed_fields(value: Any) -> Any:
    """``value`` (an event's payload) without any link field, at any depth."""
    if isinstance(value, dict):
        return {k: without_signed_fields(v) for k, v in value.items() if not is_signed_field(k)}
    if isinstance(value, list):
        return [without_signed_fields(v) for v in value]
    return value


def _placeholder(match: re.Match[str], *, html: bool = False) -> str:
    if STAFF_LINK.search(match[0]):
        return HIDDEN_STAFF
    return _HIDDEN_HTML if html else HIDDEN


def _hide_html_link(match: re.Match[str]) -> str:
    if not SIGNED_LINK.search(match["href"]):
        return match[0]
    text = SIGNED_LINK.sub(lambda found: _placeholder(found, html=True), match["text"])
    return f"<span>{text}</span>"


def hide_signed_links(text: str, *, html: bool = False) -> str:
    """``text`` with every partner's signed link replaced by ``HIDDEN`` (a staff member's link
    to set their password by ``HIDDEN_STAFF``); for an HTML part (``html``), a link element to
    one keeps its words but no address."""
    if html:
        text = _HTML_LINK.sub(_hide_html_link, text)
    return SIGNED_LINK.sub(lambda found: _placeholder(found, html=html), text)


def signed_links(text: str) -> list[str]:
    """The signed links in ``text``, in order."""
    return [match[0] for match in SIGNED_LINK.finditer(text)]


def restore_signed_links(edited: str, original: str) -> str:
    """``edited`` (a rewrite of ``original`` as shown, links hidden) with each placeholder
    given back the link it stood for, in order; placeholders past the last link keep the
    last one. Without a link in ``original`` the text is left as it is."""
    links = signed_links(original)
    if not links:
        return edited
    order = itertools.count()

    def back(_: re.Match[str]) -> str:
        return links[min(next(order), len(links) - 1)]

    return _HIDDEN_ANY.sub(back, edited)
