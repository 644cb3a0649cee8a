"""What every service's Flask app has in common: settings, error pages, /healthz, /readyz and
/metrics, the log lines' context and the requests' metrics, one session per request, and the
factory every service builds its app with (``create_service_app``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, jsonify, request
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.api import ServiceApi
from shared.config import load_agency_profile, load_settings
from shared.converters import register_converters
from shared.db import CommitOutcomeUnknown, Database, commit_or_raise
from shared.domain import Acting, DomainError
from shared.health import readiness, system_health
from shared.i18n import init_languages
from shared.logs import bind_log_context
from shared.metrics import CONTENT_TYPE, HTTP_DURATION, HTTP_REQUESTS, UNMATCHED_ROUTE, page
from shared.proposal import flatten_errors
from shared.security_headers import init_security_headers
from shared.staff_auth import init_staff_auth
from shared.staff_shell import init_staff_shell
from shared.text_hygiene import (
    MAX_JSON_DEPTH,
    json_depth_exceeds,
    refusal,
    untypable_character,
    untypable_fields,
)
from shared.times import agency_date

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if "/api/" in request.path or request.path.endswith(("/healthz", "/readyz")):
        return True
    return request.accept_mimetypes.best == "application/json"


def layout_context() -> dict[str, str]:
    """What layout.html needs on every page: the agency's name, the assets' version and where
    the site title leads."""
    profile = load_agency_profile()
    return {
        "agency_name": profile.name,
        "agency_government": profile.government,
        "static_version": _uswds_version(),
        # The site title of a page seen signed out (the sign-in page, the directory, a
        # partner's report form) leads to the program's public home, the proposal form: a
        # service's own root is no page.
        "public_home_url": load_settings().public_base_url.rstrip("/") + "/",
    }


@cache
def _uswds_version() -> str:
    try:
        return (USWDS_STATIC / "VERSION").read_text(encoding="utf-8").strip() or "0"
    except FileNotFoundError:
        return "0"


def error_body(err: HTTPException) -> dict[str, Any]:
    """``{"errors": {field path: [messages]}}`` for any HTTP error, as SPEC gives for 422."""
    data = getattr(err, "data", None) or {}
    if "errors" in data:  # flask_smorest.abort(422, errors={...})
        errors = data["errors"]
    elif "messages" in data:  # webargs: {"json": {...}, "query": {...}}
        errors = {}
        for location, messages in data["messages"].items():
            for path, texts in flatten_errors(messages).items():
                key = path if location == "json" else f"{location}.{path}"
                errors[key] = texts
    else:
        errors = {"_request": [str(err.description)]}
    return {"errors": errors}


def outage_of(err: BaseException) -> str:
    """What is down, when ``err`` says a server we need is unreachable ('' otherwise)."""
    import redis
    from kombu.exceptions import OperationalError as BrokerError
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(err, OperationalError | PoolTimeout) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    ):
        return "its database"
    if isinstance(err, redis.ConnectionError | redis.TimeoutError | BrokerError):
        return "its message broker"
    return ""


def unavailable(what: str, *, stored: str = "Nothing you sent was stored.") -> Response:
    """503 with Retry-After: a server we need is down; ``stored`` says what became of the
    request (nothing, unless the connection broke during the commit itself)."""
    log.warning("answering 503: %s is unreachable (%s %s)", what, request.method, request.path)
    seconds = load_settings().reliability.retry_after_seconds
    g.outage_retry_after = seconds
    message = (
        f"The service is briefly unavailable: {what} cannot be reached. {stored} "
        f"Please try again in {seconds} seconds."
    )
    if wants_json():
        response = jsonify({"errors": {"_request": [message]}})
    else:
        response = Response(message, mimetype="text/plain")
    response.status_code = 503
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse_untypable_text() -> Response | None:
    """Refuse, before any view runs, text no one can type and JSON nested absurdly deep
    (shared/text_hygiene.py): a 422 naming each field, or a 400; never a 500."""
    if request.is_json and json_depth_exceeds(request.get_data(cache=True)):
        message = f"The JSON body is nested too deeply: at most {MAX_JSON_DEPTH} levels."
        return refused(400, {"_request": [message]})
    found: list[tuple[str, str]] = []
    for name, value in request.args.items(multi=True):
        found += [(f"query.{name}", c) for c in untypable_in(name, value)]
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "checks_form_text", False):  # shared/schemas.py checks_form_text
        for name, value in request.form.items(multi=True):
            found += [(name, c) for c in untypable_in(name, value)]
    idempotency_key = request.headers.get("Idempotency-Key", "")
    found += [("Idempotency-Key", c) for c in untypable_in(idempotency_key)]
    if request.is_json:
        found += list(untypable_fields(request.get_json(silent=True)))
    if not found:
        return None
    errors: dict[str, list[str]] = {}
    for path, character in found:
        errors.setdefault(path, []).append(refusal(character))
    return refused(422, errors)


def untypable_in(*texts: str) -> list[str]:
    return [c for c in map(untypable_character, texts) if c]


def refused(status: int, errors: dict[str, list[str]]) -> Response:
    log.info("refused %s %s: %s", request.method, request.path, sorted(errors))
    if wants_json():
        response = jsonify({"errors": errors})
    else:
        lines = [f"{field}: {' '.join(messages)}" for field, messages in errors.items()]
        response = Response(
            "Your request was not accepted, and nothing was stored.\n\n" + "\n".join(lines),
            mimetype="text/plain",
        )
    response.status_code = status
    return response


REFUSAL_TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    422: "Please correct the request",
}


def render_refusal(err: DomainError) -> Response:
    """The page for a refused action: the layout, what was refused and why, a way back."""
    from flask import render_template
    from jinja2 import TemplateNotFound

    try:
        body = render_template(
            "refusal.html",
            title=REFUSAL_TITLES.get(err.status, "Not accepted"),
            errors=err.errors,
            status=err.status,
        )
    except TemplateNotFound:  # an app without the shared templates
        lines = [" ".join(messages) for messages in err.errors.values()]
        body = "\n".join(lines)
        return Response(body, status=err.status, mimetype="text/plain")
    return Response(body, status=err.status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    """JSON errors for APIs, plain pages otherwise, and never a traceback.

    ``init_app`` calls it; call again after an extension that registers its own
    (flask-smorest's ``Api`` does; shared/api.py ``ServiceApi`` does not).
    """

    def http_error(err: HTTPException) -> Any:
        if wants_json():
            response = jsonify(error_body(err))
            response.status_code = err.code or 500
            return response
        return err

    def domain_error(err: DomainError) -> Any:
        # The one place where a refused domain action becomes an HTTP answer. A form view
        # that re-renders with inline messages catches ``Invalid`` itself first.
        log.info("refused %s %s: %s %s", request.method, request.path, err.status, err.message)
        if wants_json():
            response = jsonify({"errors": err.errors})
            response.status_code = err.status
            return response
        return render_refusal(err)

    def unexpected_error(err: Exception) -> Any:
        if isinstance(err, HTTPException):
            return http_error(err)
        if isinstance(err, DomainError):
            return domain_error(err)
        if isinstance(err, CommitOutcomeUnknown):
            return unavailable(
                "its database",
                stored=(
                    "The database stopped answering while your request was being saved, so "
                    "it may or may not have been stored. Send it again (with the same "
                    "Idempotency-Key, if you gave one): it will not be stored twice."
                ),
            )
        what = outage_of(err)
        if what:
            return unavailable(what)
        # Never a traceback to a user: log it, answer plainly.
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Please try again."
        if wants_json():
            response = jsonify({"errors": {"_request": [message]}})
            response.status_code = 500
            return response
        return Response(message, status=500, mimetype="text/plain")

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(Exception, unexpected_error)


class ServiceApp(Flask):
    """A service's Flask app: one database session and transaction per request.

    The first ``request_session(database)`` in a request opens it; it commits when the view
    has answered with a success or a redirect, and rolls back when the view raised or answered
    4xx/5xx (a refused write stores nothing, whatever the view flushed). The commit happens
    inside the dispatch, so a lost commit still becomes the 503 of ``CommitOutcomeUnknown``;
    after-commit hooks (the outbox nudge) run once it is committed.
    """

    def dispatch_request(self) -> Any:
        try:
            answer = super().dispatch_request()
        except BaseException:
            _end_request_sessions(commit=False)
            raise
        response = self.make_response(answer)
        _end_request_sessions(commit=response.status_code < 400)
        return response


def request_session(database: Database) -> Session:
    """The request's session on ``database`` (see ``ServiceApp``); domain functions take it
    and never commit."""
    if not has_request_context():
        raise RuntimeError("request_session() is for request handlers; tasks get theirs")
    sessions: dict[str, Session] = g.setdefault("request_sessions", {})
    session = sessions.get(database.service)
    if session is None:
        session = database.sessions()
        session.begin()
        sessions[database.service] = session
    return session


def _end_request_sessions(*, commit: bool) -> None:
    sessions: dict[str, Session] = g.pop("request_sessions", {})
    try:
        for session in sessions.values():
            if commit:
                commit_or_raise(session)
            else:
                session.rollback()
    finally:
        for session in sessions.values():
            session.close()


SHARED_TEMPLATES = Path(__file__).parent / "templates"

ASSET_MAX_AGE_SECONDS = 3600


class AssetBlueprint(Blueprint):
    """Serves the vendored files that every page loads. Browsers keep them for an hour
    instead of asking again on every page (Flask's default answers "no-cache"); only these
    files: anything else sent as a file (a report's PDF) stays private and uncached."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        return ASSET_MAX_AGE_SECONDS


USWDS_STATIC = Path(__file__).parent / "static" / "uswds"
SITE_STATIC = Path(__file__).parent / "static" / "site"


# Where an app keeps the gauges its /metrics adds (create_service_app's ``gauges``).
GAUGES = "alliance.gauges"
# The ids a URL names, which every log line of its request carries (shared/logs.py).
LOGGED_IDS = ("proposal_id", "alliance_id")


def init_watching(app: Flask, *, service: str) -> None:
    """Each request's log lines name ``service`` and the proposal or alliance its URL names;
    each request is counted and timed (shared/metrics.py). Registered before every other hook,
    so that it sees each request first and its final answer last."""

    @app.before_request
    def start_watching() -> None:
        g.watch_started = time.perf_counter()
        ids = {
            name: str(value)
            for name, value in (request.view_args or {}).items()
            if name in LOGGED_IDS
        }
        g.restore_log_context = bind_log_context(service=service, **ids)

    @app.after_request
    def count_the_request(response: Response) -> Response:
        started = g.pop("watch_started", None)
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        if started is not None:
            HTTP_DURATION.labels(service, route).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def stop_watching(error: BaseException | None) -> None:
        restore = g.pop("restore_log_context", None)
        if restore is not None:
            restore()


def init_app(app: Flask, *, service: str) -> None:
    # Every setting is read and checked here, before the app exists: a bad one stops it with
    # a ConfigurationError naming the variable (shared/config/).
    settings = load_settings()
    init_watching(app, service=service)
    register_converters(app)  # <number:...> in paths: a bad id is a 404 (shared/converters.py)
    # Every service's pages share the USWDS layout and form macros (shared/templates) and the
    # vendored USWDS files (shared/static/uswds, served at /assets/uswds/).
    app.jinja_loader = ChoiceLoader(
        [loader for loader in (app.jinja_loader, FileSystemLoader(SHARED_TEMPLATES)) if loader]
    )
    app.register_blueprint(
        AssetBlueprint(
            "uswds", __name__, static_folder=USWDS_STATIC, static_url_path="/assets/uswds"
        )
    )
    # The project's few rules of its own (shared/static/site/site.css, at /assets/site/).
    app.register_blueprint(
        AssetBlueprint("site", __name__, static_folder=SITE_STATIC, static_url_path="/assets/site")
    )
    app.context_processor(layout_context)
    # Every time of day a page shows: the agency's zone, named ("1:13 PM EST"; shared/times.py);
    # ``agency_time`` in the page's language comes with init_languages below.
    app.add_template_filter(agency_date, "agency_date")
    init_staff_shell(app)  # the staff header and links across the services (staff_shell.py)
    init_languages(app)  # English, and Spanish for what a partner sees (shared/i18n.py)
    init_security_headers(app)  # CSP, nosniff, referrer, HSTS, cookie flags: every answer
    app.config["SECRET_KEY"] = settings.secret_key
    # Older keys (SECRET_KEY_FALLBACKS) still open the Flask session and the CSRF tokens.
    app.config["SECRET_KEY_FALLBACKS"] = list(settings.secret_key_fallbacks)
    app.config["WTF_CSRF_SECRET_KEY"] = settings.signing_keys
    # Flask's default is no limit at all (ALLIANCE_MAX_CONTENT_LENGTH, 256 KiB).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.config["SERVICE_NAME"] = service
    if settings.staff_sign_in_url:  # ALLIANCE_STAFF_SIGN_IN_URL (shared/staff_auth.py)
        app.config["STAFF_SIGN_IN_URL"] = settings.staff_sign_in_url
    if settings.behind_proxy:
        # One trusted reverse proxy in front (deploy/nginx.conf), which strips the prefix.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1
        )

    register_error_handlers(app)

    app.before_request(refuse_untypable_text)

    @app.teardown_request
    def close_request_sessions(error: BaseException | None) -> None:
        # A request that never reached its view (refused before it) still closes them.
        _end_request_sessions(commit=False)

    @app.after_request
    def keep_the_outage_retry_after(response: Response) -> Response:
        # Flask-Limiter (registered later, so it runs earlier) sets Retry-After on every
        # response to its window's end; a 503 for an outage names the outage's wait.
        seconds = g.get("outage_retry_after")
        if response.status_code == 503 and seconds:
            response.headers["Retry-After"] = str(seconds)
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        healthy, body = system_health(load_settings().redis_url)
        response = jsonify(body)
        response.status_code = 200 if healthy else 503
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/readyz")
    def readyz() -> Any:
        # Can this process serve? Its own database and the broker answer (shared/health.py).
        settings = load_settings()
        ready, body = readiness(
            service, database_url=settings.database_url(service), redis_url=settings.redis_url
        )
        if not ready:
            log.warning("not ready: %s", body)
        response = jsonify(body)
        response.status_code = 200 if ready else 503
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        # For Prometheus: this server's counts and this service's gauges (shared/metrics.py).
        # Linked from nowhere; a proxy in front keeps it from the public (deploy/monitoring/).
        response = Response(page(app.extensions.get(GAUGES, ())), content_type=CONTENT_TYPE)
        response.headers["Cache-Control"] = "no-store"
        return response


# -- the app factory ----------------------------------------------------------------------------


# The organization keys (shared.domain.organization_key) a staff member declared a conflict of
# interest with, as one service knows them.
ConflictKeys = Callable[[Session, uuid.UUID], Iterable[str]]

_CONFLICTS = "staff_conflicts"


@dataclass(frozen=True)
class _ConflictsLookup:
    database: Database
    keys_of: ConflictKeys


def current_acting() -> Acting:
    """The signed-in staff member (``g.staff``) as the domain sees them: identity, roles and
    the organizations they declared a conflict of interest with, as this service knows them
    (the ``conflicts`` its app factory registered), read in the request's session. Every staff
    view and API call hands it to the domain functions."""
    staff = g.get("staff")
    if staff is None:
        raise RuntimeError("current_acting() is for views that require a signed-in staff member")
    lookup: _ConflictsLookup | None = current_app.extensions.get(_CONFLICTS)
    if lookup is None:
        raise RuntimeError(
            f"{current_app.name} knows no conflicts: create_service_app(conflicts=...) names them"
        )
    session = request_session(lookup.database)
    return Acting.of(staff, conflicts=lookup.keys_of(session, uuid.UUID(str(staff.user_id))))


class Part(Protocol):
    """A part of a service's domain (``services/<service>/<part>/__init__.py``): it wires its own
    pages into the app and its API into the service's ``ServiceApi``."""

    def register(self, app: Flask, rest: ServiceApi) -> None: ...


def create_service_app(
    import_name: str,
    *,
    service: str,
    title: str,
    test_config: Mapping[str, object] | None = None,
    parts: Iterable[Part] = (),
    pages: Iterable[Blueprint] = (),
    apis: Iterable[Blueprint] = (),
    staff: bool = True,
    database: Database | None = None,
    conflicts: ConflictKeys | None = None,
    extensions: Iterable[Callable[[Flask], None]] = (),
    gauges: Collector | None = None,
) -> ServiceApp:
    """The Flask app of ``service``, built the same way for every service.

    Its settings and common wiring (``init_app``), its OpenAPI document titled "Alliance
    Program Manager: ``title``" at /api/v1/openapi.json, ``test_config`` over both, then each
    of ``extensions`` (which may read the test config), staff sign-in (``staff``: the review
    service's sign-in works in every staff service), CSRF on every form post, and last the
    service's own parts: each of ``pages`` (HTML blueprints), each of ``apis`` (flask-smorest
    blueprints) and each of ``parts``, which registers its pages and API itself.

    ``conflicts`` is how this service finds the organizations a staff member declared a
    conflict of interest with, read in the request's session on ``database``: ``current_acting()``
    gives every view and API call the signed-in person with them.

    ``gauges`` are the service's gauges read from its database, which its ``/metrics`` shows
    (services/<service>/metrics.py).

    With staff sign-in, API writes carry the X-CSRFToken header (shared/staff_auth.py); without
    it the JSON API uses no cookies, so there is nothing for CSRF to ride on and ``apis`` are
    exempt.
    """
    app = ServiceApp(import_name)
    init_app(app, service=service)
    if gauges is not None:
        app.extensions[GAUGES] = [gauges]
    app.config.update(
        API_TITLE=f"Alliance Program Manager: {title}",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    if test_config:
        app.config.update(test_config)
    for extension in extensions:
        extension(app)
    if staff:
        init_staff_auth(app)
    if conflicts is not None:
        if database is None:
            raise ValueError("the conflicts lookup reads the service's database: name it")
        app.extensions[_CONFLICTS] = _ConflictsLookup(database, conflicts)
    csrf = CSRFProtect(app)
    apis = list(apis)
    if not staff:
        for bp in apis:
            csrf.exempt(bp)
    rest = ServiceApi(app)
    for bp in pages:
        app.register_blueprint(bp)
    for bp in apis:
        rest.register_blueprint(bp)
    for part in parts:
        part.register(app, rest)
    return app
