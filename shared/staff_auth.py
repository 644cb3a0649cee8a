"""Staff sign-in for every service: server-side sessions in Redis, one cookie for all.

How single sign-on works
------------------------
Staff sign in once, on the review service's page ``/staff/sign-in`` (``/review/staff/sign-in``
behind the gateway). That page checks the password against review's ``staff_users`` table
and calls :func:`start_session`, which stores the session in Redis as
``alliance:staff-session:<id>`` (JSON: user id, e-mail, name, roles, ``created_at``,
``last_seen``) and answers with the cookie ``alliance_staff=<id>``. The id is 256 random bits
and is the only thing the browser holds: no roles, no signature to forge.

The cookie's path is ``/`` and it names no domain, so the browser sends it to every service
on the same host: the development gateway (``deploy/gateway.py``) and the production nginx
(``deploy/nginx.conf``) both put all four services behind one host name. Every service's web
app calls :func:`init_staff_auth`, which reads the cookie on each request, loads the session
from the same Redis (``REDIS_URL``) into ``flask.g.staff`` and guards views with
:func:`staff_required` (HTML: redirect to the sign-in page with ``next``; 403 when a role is
missing) or :func:`staff_api_required` (JSON 401/403). A service other than review sends
people to ``PUBLIC_BASE_URL + "/review/staff/sign-in"`` (or the app's ``STAFF_SIGN_IN_URL``
setting, ``ALLIANCE_STAFF_SIGN_IN_URL`` in the environment);
``next`` is always a path on this host (open redirects are refused), so after signing in the
person comes back to the page they asked for. No service reads another's tables: the session
carries the user's name and roles.

Ending sessions
---------------
Signing out deletes the Redis record, so a copied or replayed cookie is refused afterwards:
the server, not the browser, decides whether a session exists. A session also ends after
``STAFF_IDLE_MINUTES`` (default 30) without a request and ``STAFF_SESSION_HOURS`` (default
12) after sign-in, whatever the activity. Each user's session ids are kept in the set
``alliance:staff-user-sessions:<user id>``, so :func:`end_user_sessions` ends all of a
person's sessions at once when they are deactivated, their roles change or their password
changes. Refreshing ``last_seen`` writes only if the record still exists (``SET ... XX``): a
request in flight cannot bring back a session that sign-out just deleted.

Cross-site request forgery
--------------------------
The cookie is ``SameSite=Lax`` and ``HttpOnly`` (``Secure`` when ``APP_ENV=production``), so
other sites cannot post with it in current browsers. On top of that every app with staff
pages enables Flask-WTF's ``CSRFProtect`` for every POST, PUT, PATCH and DELETE: HTML forms
carry the ``csrf_token`` field, and JSON API calls must send the token in the
``X-CSRFToken`` header (``GET /review/api/v1/staff/me`` returns it as ``csrf_token``). We
chose the header over "require ``Content-Type: application/json``" because it does not lean
on browsers' CORS rules or on SameSite alone, and Flask-WTF checks it with no extra code.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode, urlsplit

import redis
from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from shared.config import load_settings

log = logging.getLogger(__name__)

# Every role there is, with the name people see. A person may hold several.
ROLES: dict[str, str] = {
    "coordinator": "Coordinator",
    "reviewer": "Reviewer",
    "liaison": "Liaison",
}

COOKIE_NAME = "alliance_staff"
SESSION_KEY = "alliance:staff-session:"
USER_SESSIONS_KEY = "alliance:staff-user-sessions:"
SIGN_IN_ENDPOINT = "staff.sign_in"
SIGN_IN_PATH = "/review/staff/sign-in"  # behind the gateway, for services other than review

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class StaffAuthSettings:
    idle_timeout: timedelta
    absolute_timeout: timedelta
    secure_cookie: bool


def load_staff_auth_settings() -> StaffAuthSettings:
    settings = load_settings()  # STAFF_IDLE_MINUTES, STAFF_SESSION_HOURS: shared/config/staff.py
    return StaffAuthSettings(
        idle_timeout=settings.staff_idle_timeout,
        absolute_timeout=settings.staff_session_lifetime,
        secure_cookie=settings.production,
    )


@dataclass(frozen=True)
class StaffSession:
    id: str
    user_id: uuid.UUID
    email: str
    name: str
    roles: frozenset[str]
    created_at: datetime
    last_seen: datetime
    # The office the person belongs to (shared/offices.py); "" for the top office.
    office: str = ""

    def has_any_role(self, roles: Iterable[str]) -> bool:
        """True when ``roles`` is empty (any staff member) or the person holds one of them."""
        wanted = set(roles)
        return not wanted or bool(wanted & self.roles)


def _now() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis[str]:
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
    )


def redis_client() -> redis.Redis[str]:
    return _client_for(load_settings().redis_url)


def _session_key(session_id: str) -> str:
    return SESSION_KEY + session_id


def _user_key(user_id: uuid.UUID | str) -> str:
    return USER_SESSIONS_KEY + str(user_id)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _ttl(record: dict[str, Any], now: datetime, settings: StaffAuthSettings) -> timedelta:
    """Until the earlier of the idle and the absolute deadline."""
    created = datetime.fromisoformat(record["created_at"])
    last_seen = datetime.fromisoformat(record["last_seen"])
    return min(last_seen + settings.idle_timeout - now, created + settings.absolute_timeout - now)


def new_session_id() -> str:
    """A fresh session id (256 random bits), for a session started later with it: one whose
    account change commits first (setting a password from an e-mailed link), so the change's
    end of the person's other sessions can spare it."""
    return secrets.token_urlsafe(32)


def start_session(
    user_id: uuid.UUID,
    email: str,
    name: str,
    roles: Iterable[str],
    *,
    office: str | None = None,
    now: datetime | None = None,
    session_id: str | None = None,
) -> str:
    """Store a new session for a person who just proved who they are; returns its id
    (``session_id`` when given, from :func:`new_session_id`)."""
    now = now or _now()
    settings = load_staff_auth_settings()
    if session_id is None or not _SESSION_ID.match(session_id):
        session_id = new_session_id()
    record = {
        "user_id": str(user_id),
        "email": email,
        "name": name,
        "roles": sorted(set(roles)),
        "office": office or "",
        "created_at": now.isoformat(),
        "last_seen": now.isoformat(),
    }
    client = redis_client()
    with client.pipeline(transaction=True) as pipe:
        pipe.set(_session_key(session_id), json.dumps(record), ex=_seconds(settings.idle_timeout))
        pipe.sadd(_user_key(user_id), session_id)
        pipe.expire(_user_key(user_id), _seconds(settings.absolute_timeout))
        pipe.execute()
    return session_id


def _decode(session_id: str, raw: str) -> StaffSession:
    record = json.loads(raw)
    return StaffSession(
        id=session_id,
        user_id=uuid.UUID(record["user_id"]),
        email=record["email"],
        name=record["name"],
        roles=frozenset(record["roles"]),
        created_at=datetime.fromisoformat(record["created_at"]),
        last_seen=datetime.fromisoformat(record["last_seen"]),
        office=record.get("office", ""),
    )


def load_session(session_id: str | None, *, now: datetime | None = None) -> StaffSession | None:
    """The live session with this id, its ``last_seen`` refreshed; None if there is none or it
    has been idle or alive too long (then it is deleted)."""
    if not session_id or not _SESSION_ID.match(session_id):
        return None
    now = now or _now()
    settings = load_staff_auth_settings()
    client = redis_client()
    key = _session_key(session_id)
    raw = client.get(key)
    if raw is None:
        return None
    try:
        record = json.loads(str(raw))
        remaining = _ttl(record, now, settings)
    except (ValueError, KeyError, TypeError):
        log.warning("discarding an unreadable staff session record")
        client.delete(key)
        return None
    if remaining <= timedelta(0):
        end_session(session_id)
        return None
    record["last_seen"] = now.isoformat()
    refreshed = json.dumps(record)
    # XX: only while it still exists, so a concurrent sign-out is never undone.
    if not client.set(key, refreshed, xx=True, ex=_seconds(_ttl(record, now, settings))):
        return None
    return _decode(session_id, refreshed)


def end_session(session_id: str) -> None:
    """Sign-out: the record is gone, so the cookie is worthless from now on."""
    if not _SESSION_ID.match(session_id):
        return
    client = redis_client()
    raw = client.getdel(_session_key(session_id))
    if raw is not None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            client.srem(_user_key(json.loads(str(raw))["user_id"]), session_id)


def end_user_sessions(user_id: uuid.UUID, *, keep: str | None = None) -> int:
    """End every session of one person (all but ``keep``); returns how many were live."""
    client = redis_client()
    user_key = _user_key(user_id)
    session_ids = [str(s) for s in client.smembers(user_key) if s != keep]
    ended = 0
    if session_ids:
        with client.pipeline(transaction=True) as pipe:
            pipe.delete(*[_session_key(s) for s in session_ids])
            pipe.srem(user_key, *session_ids)
            ended = int(pipe.execute()[0])
    return ended


# -- the cookie -------------------------------------------------------------------------------


def set_session_cookie(response: Response, session_id: str) -> None:
    """A browser-session cookie (no expiry date): the server enforces the time-outs."""
    response.set_cookie(
        COOKIE_NAME,
        session_id,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=load_staff_auth_settings().secure_cookie,
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=load_staff_auth_settings().secure_cookie,
    )


# -- Flask ------------------------------------------------------------------------------------


def current_staff() -> StaffSession | None:
    staff: StaffSession | None = g.get("staff")
    return staff


def init_staff_auth(app: Flask) -> None:
    """Load the staff session of each request into ``g.staff`` (None when signed out)."""

    @app.before_request
    def load_staff() -> None:
        g.staff = None
        session_id = request.cookies.get(COOKIE_NAME)
        if not session_id:
            return
        try:
            g.staff = load_session(session_id)
        except redis.RedisError:
            # Pages that need no sign-in (and /healthz) keep working while Redis is away.
            log.warning("could not load the staff session", exc_info=True)
            return
        g.staff_cookie_stale = g.staff is None

    @app.after_request
    def staff_headers(response: Response) -> Response:
        if g.get("staff_cookie_stale") and COOKIE_NAME not in _set_cookie_names(response):
            clear_session_cookie(response)
        if g.get("staff") is not None and not (request.endpoint or "").endswith("static"):
            # Pages for staff must not be kept by the browser or a proxy after sign-out.
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response

    @app.context_processor
    def staff_context() -> dict[str, Any]:
        return {"staff": g.get("staff")}


def _set_cookie_names(response: Response) -> set[str]:
    return {value.split("=", 1)[0] for value in response.headers.getlist("Set-Cookie")}


def safe_next(target: str | None) -> str | None:
    """A path on this host to go back to after signing in, or None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def sign_in_url(next_path: str | None = None) -> str:
    """The sign-in page: review's own route in the review app, else through the gateway."""
    query = f"?{urlencode({'next': next_path})}" if next_path else ""
    if SIGN_IN_ENDPOINT in current_app.view_functions:
        return url_for(SIGN_IN_ENDPOINT) + query
    base = current_app.config.get("STAFF_SIGN_IN_URL") or (
        load_settings().public_base_url + SIGN_IN_PATH
    )
    return str(base) + query


def _return_path() -> str | None:
    """Where to come back after signing in: this page as the browser sees it (with the
    gateway's prefix); for a form sent after the session ended, the page the form was on."""
    if request.method in ("GET", "HEAD"):
        path = request.script_root + request.path
        return f"{path}?{request.query_string.decode()}" if request.query_string else path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path:
        return None
    return safe_next(f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path)


def _role_names(roles: Iterable[str]) -> str:
    names = [ROLES.get(role, role) for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def staff_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """An HTML view for signed-in staff holding any one of ``roles`` (none: any staff)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            staff = current_staff()
            if staff is None:
                return redirect(sign_in_url(_return_path()), code=303)
            if not staff.has_any_role(roles):
                abort(403, description=f"This page is for the {_role_names(roles)} only.")
            return view(*args, **kwargs)

        wrapper.staff_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"errors": {"_request": [message]}})
    response.status_code = status
    return response


def staff_api_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """A JSON view for signed-in staff holding any one of ``roles``: 401 or 403 as JSON."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            staff = current_staff()
            if staff is None:
                return _json_error(401, "Sign in as staff first.")
            if not staff.has_any_role(roles):
                return _json_error(403, f"This is for the {_role_names(roles)} only.")
            return view(*args, **kwargs)

        wrapper.staff_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate
