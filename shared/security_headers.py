"""The headers every answer of every service carries, and the flags of its cookies.

``init_security_headers`` (called once from ``shared/web.py`` ``init_app``) makes them part of
the app itself, so the development gateway, gunicorn and nginx all send them:

- ``Content-Security-Policy``: scripts, styles, fonts and frames only from the service's own
  files (no inline script or style: the templates keep theirs in static files and USWDS
  classes), no plugin, no ``<base>``, forms post only here, and no page may be framed;
- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` (for browsers older than
  ``frame-ancestors``);
- ``Referrer-Policy: strict-origin-when-cross-origin``, and ``no-referrer`` on every path that
  carries a signed link (a route with a ``<token>`` argument: the partner's status page, the
  draft's resume link, the report form), so a link followed from there never hands the token to
  another site;
- ``Strict-Transport-Security`` over https (``request.is_secure``, after ProxyFix) and always
  in production.

A view that answers with a document of its own kind sets its own policy first
(:func:`sandboxed_document`); the defaults never replace a header a view has set. The server
software is not named either: gunicorn's own ``Server`` header is dropped by
``deploy/gunicorn_conf.py``.

Cookies: Flask's ``session`` (the CSRF token and the flashed messages) is ``HttpOnly`` and
``SameSite=Lax`` everywhere and ``Secure`` in production, like the staff cookie
(``shared/staff_auth.py``). Lax, not Strict: a partner arriving from an e-mail link must keep
the session the form's CSRF token lives in.
"""

from __future__ import annotations

from flask import Flask, Response, request

from shared.config import load_settings

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # data: for the layout's empty favicon
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A document shown in a sandboxed frame of one of our pages (an e-mail's HTML part in the
# message log): no script at all, its own inline styles, images as a mail program shows them
# (the agency's logo is https), and framed only by our own pages.
SANDBOXED_POLICY = "; ".join(
    (
        "sandbox",
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: data:",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    )
)
REFERRER_POLICY = "strict-origin-when-cross-origin"
SIGNED_LINK_REFERRER_POLICY = "no-referrer"
HSTS = "max-age=63072000; includeSubDomains"
# The path argument that holds a signed link in every service's routes.
SIGNED_LINK_ARGUMENT = "token"


def init_security_headers(app: Flask) -> None:
    settings = load_settings()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
    )
    # Registered before any other after_request hook, so it runs last and sees their headers.
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault(
        "Referrer-Policy",
        SIGNED_LINK_REFERRER_POLICY if reached_by_signed_link() else REFERRER_POLICY,
    )
    if request.is_secure or load_settings().production:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def reached_by_signed_link() -> bool:
    """Whether this request's path holds a signed link (its route has a ``<token>``)."""
    rule = request.url_rule
    return rule is not None and SIGNED_LINK_ARGUMENT in rule.arguments


def sandboxed_document(html: str) -> Response:
    """``html`` as a document of its own for a sandboxed ``<iframe src>`` on one of our pages:
    under :data:`SANDBOXED_POLICY` (its inline styles apply, no script runs whatever the frame
    says), framed only by our own pages, sending no referrer, never cached."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SANDBOXED_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = SIGNED_LINK_REFERRER_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response
