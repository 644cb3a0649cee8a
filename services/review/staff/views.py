"""Staff pages: sign-in and sign-out (for every service), one's own account, and the
Coordinator's staff management; and the staff JSON API (``/api/v1/staff/...``).

Views are thin: the rules live in services/review/accounts.py, sessions in
shared/staff_auth.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, TooManyRequests
from werkzeug.wrappers import Response

from services.review.models import StaffUser
from services.review.staff import domain as accounts
from services.review.worker import database
from shared import staff_auth
from shared.config import load_settings
from shared.staff_auth import ROLES, StaffSession, staff_api_required, staff_required
from shared.web import error_body, wants_json

bp = Blueprint("staff", __name__, url_prefix="/staff")
api_bp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff")

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

WRONG_CREDENTIALS = "E-mail or password is incorrect."
HOME_ENDPOINT = "review.home"  # services/review/views.py


def init_app(app: Flask) -> None:
    """Sign-in rate limits (in Redis) and the staff blueprints."""
    settings = load_settings()  # STAFF_SIGN_IN_LIMIT, STAFF_SIGN_IN_EMAIL_LIMIT
    app.config.setdefault("STAFF_SIGN_IN_LIMIT", settings.staff_sign_in_limit)
    app.config.setdefault("STAFF_SIGN_IN_EMAIL_LIMIT", settings.staff_sign_in_email_limit)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url)
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 2, "socket_connect_timeout": 2}
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "alliance-review")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


def _client_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_LIMIT"])


def _email_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_EMAIL_LIMIT"])


def _email_key() -> str:
    return "email:" + accounts.normalize_email(request.form.get("email", ""))


def _failed(response: Response) -> bool:
    return response.status_code != 303


def me() -> StaffSession:
    """The signed-in person (only inside a view guarded by staff_required)."""
    staff: StaffSession = g.staff
    return staff


def page(template: str, *, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, role_options=list(ROLES.items()), **context), status


def message_page(title: str, message: str, *, status: int, kind: str = "warning") -> Any:
    return page("staff/message.html", status=status, title=title, message=message, kind=kind)


def error_rows(
    errors: dict[str, list[str]], labels: dict[str, str], *, form_target: str = "main-content"
) -> list[tuple[str, str, str]]:
    """(element id, label, message) for the error summary, in the form's order; errors about
    the whole form (``_request``) link to ``form_target``."""
    return [(form_target, "", m) for m in errors.get("_request", [])] + [
        (field.replace("_", "-"), labels.get(field, ""), message)
        for field in labels
        for message in errors.get(field, [])
    ]


# -- signing in and out -----------------------------------------------------------------------


def home_url() -> str:
    """Where signing in leads when no page was asked for: the staff home page (the queue)
    when the app has one, else one's own account."""
    if HOME_ENDPOINT in current_app.view_functions:
        return url_for(HOME_ENDPOINT)
    return url_for("staff.account")


def _render_sign_in(
    *, status: int = 200, email: str = "", errors: dict[str, list[str]] | None = None
) -> tuple[str, int]:
    errors = errors or {}
    notice = ""
    if request.args.get("signed_out"):
        notice = "You are signed out."
    elif request.args.get("next") and not errors:
        notice = "Sign in to see that page."
    return page(
        "staff/sign_in.html",
        status=status,
        email=email,
        errors=errors,
        error_rows=error_rows(
            errors, {"email": "E-mail address", "password": "Password"}, form_target="email"
        ),
        next=staff_auth.safe_next(request.values.get("next")) or "",
        notice=notice,
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_client_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_email_limit, methods=["POST"], key_func=_email_key, deduct_when=_failed)
def sign_in() -> Any:
    if request.method == "GET":
        return _render_sign_in()
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter your e-mail address."]
    if not password:
        errors["password"] = ["Enter your password."]
    if errors:
        return _render_sign_in(status=422, email=email, errors=errors)
    with database.transaction() as session:
        user = accounts.authenticate(session, email=email, password=password)
        identity = (user.id, user.email, user.name, list(user.roles)) if user else None
    if identity is None:
        return _render_sign_in(status=401, email=email, errors={"_request": [WRONG_CREDENTIALS]})
    previous = request.cookies.get(staff_auth.COOKIE_NAME)
    if previous:
        staff_auth.end_session(previous)
    session_id = staff_auth.start_session(*identity)
    target = staff_auth.safe_next(request.form.get("next")) or home_url()
    response = redirect(target, code=303)
    staff_auth.set_session_cookie(response, session_id)
    return response


@bp.post("/sign-out")
def sign_out() -> Any:
    """Public, so a stale page's button still clears the cookie; ends the session if any."""
    session_id = request.cookies.get(staff_auth.COOKIE_NAME)
    if session_id:
        staff_auth.end_session(session_id)
    response = redirect(url_for("staff.sign_in", signed_out=1), code=303)
    staff_auth.clear_session_cookie(response)
    return response


# -- one's own account ------------------------------------------------------------------------


@bp.get("/me")
@staff_required()
def account() -> Any:
    return page("staff/me.html", roles=accounts.role_labels(me().roles))


@bp.route("/password", methods=["GET", "POST"])
@staff_required()
def password() -> Any:
    labels = {"current_password": "Current password", "new_password": "New password"}
    if request.method == "GET":
        return page("staff/password.html", errors={}, error_rows=[])
    new_password = request.form.get("new_password", "")
    errors: dict[str, list[str]] = {}
    if new_password != request.form.get("confirm_password", ""):
        errors = {"new_password": ["The two new passwords are not the same."]}
    else:
        try:
            with database.transaction() as session:
                accounts.change_password(
                    session,
                    user_id=me().user_id,
                    current_password=request.form.get("current_password", ""),
                    new_password=new_password,
                    keep_session=me().id,
                )
        except accounts.AccountError as err:
            errors = err.errors
    if errors:
        return page(
            "staff/password.html",
            status=422,
            errors=errors,
            error_rows=error_rows(errors, labels),
        )
    return redirect(url_for("staff.account", changed=1), code=303)


# -- the Coordinator's staff management -------------------------------------------------------

PERSON_LABELS = {"email": "E-mail", "name": "Name", "roles": "Roles", "password": "Password"}


@bp.get("/people")
@staff_required("coordinator")
def people() -> Any:
    with database.transaction() as session:
        staff = accounts.list_staff(session)
    return page("staff/people.html", people=staff, role_labels=accounts.role_labels)


@bp.route("/people/new", methods=["GET", "POST"])
@staff_required("coordinator")
def new_person() -> Any:
    if request.method == "GET":
        return page("staff/new_person.html", data={}, errors={}, error_rows=[])
    data: dict[str, Any] = {
        "email": request.form.get("email", ""),
        "name": request.form.get("name", ""),
        "roles": request.form.getlist("roles"),
    }
    try:
        with database.transaction() as session:
            user = accounts.create_staff(
                session,
                email=request.form.get("email", ""),
                name=request.form.get("name", ""),
                roles=request.form.getlist("roles"),
                password=request.form.get("password", ""),
                actor=me().email,
            )
            user_id = user.id
    except accounts.AccountError as err:
        return page(
            "staff/new_person.html",
            status=422,
            data=data,
            errors=err.errors,
            error_rows=error_rows(err.errors, PERSON_LABELS),
        )
    return redirect(url_for("staff.person", user_id=user_id, done="added"), code=303)


def _person_or_404(session: Session, user_id: uuid.UUID) -> StaffUser:
    try:
        return accounts.get_staff(session, user_id=user_id)
    except accounts.AccountError:
        abort(404, description="There is no such staff account.")


@bp.route("/people/<uuid:user_id>", methods=["GET", "POST"])
@staff_required("coordinator")
def person(user_id: uuid.UUID) -> Any:
    errors: dict[str, list[str]] = {}
    chosen: list[str] | None = None
    if request.method == "POST":
        chosen = request.form.getlist("roles")
        try:
            with database.transaction() as session:
                _person_or_404(session, user_id)
                accounts.change_roles(session, user_id=user_id, roles=chosen, actor=me().email)
        except accounts.AccountError as err:
            errors = err.errors
        else:
            return redirect(url_for("staff.person", user_id=user_id, done="saved"), code=303)
    with database.transaction() as session:
        user = _person_or_404(session, user_id)
    return page(
        "staff/person.html",
        status=422 if errors else 200,
        person=user,
        roles=chosen if chosen is not None else list(user.roles),
        errors=errors,
        error_rows=error_rows(errors, {"roles": "Roles"}),
        role_labels=accounts.role_labels,
    )


@bp.post("/people/<uuid:user_id>/password")
@staff_required("coordinator")
def set_password(user_id: uuid.UUID) -> Any:
    try:
        with database.transaction() as session:
            _person_or_404(session, user_id)
            accounts.set_password(
                session,
                user_id=user_id,
                password=request.form.get("password", ""),
                actor=me().email,
            )
    except accounts.AccountError as err:
        with database.transaction() as session:
            user = _person_or_404(session, user_id)
        return page(
            "staff/person.html",
            status=422,
            person=user,
            roles=list(user.roles),
            errors=err.errors,
            error_rows=error_rows(err.errors, {"password": "New password"}),
            role_labels=accounts.role_labels,
        )
    return redirect(url_for("staff.person", user_id=user_id, done="password"), code=303)


def _set_active(user_id: uuid.UUID, active: bool) -> Any:
    try:
        with database.transaction() as session:
            _person_or_404(session, user_id)
            accounts.set_active(session, user_id=user_id, active=active, actor=me().email)
    except accounts.AccountError as err:
        with database.transaction() as session:
            user = _person_or_404(session, user_id)
        return page(
            "staff/person.html",
            status=409,
            person=user,
            roles=list(user.roles),
            errors=err.errors,
            error_rows=error_rows(err.errors, {}),
            role_labels=accounts.role_labels,
        )
    done = "reactivated" if active else "deactivated"
    return redirect(url_for("staff.person", user_id=user_id, done=done), code=303)


@bp.post("/people/<uuid:user_id>/deactivate")
@staff_required("coordinator")
def deactivate(user_id: uuid.UUID) -> Any:
    return _set_active(user_id, False)


@bp.post("/people/<uuid:user_id>/reactivate")
@staff_required("coordinator")
def reactivate(user_id: uuid.UUID) -> Any:
    return _set_active(user_id, True)


# -- errors -----------------------------------------------------------------------------------


@bp.app_errorhandler(Forbidden)
def forbidden(err: Forbidden) -> Any:
    """A signed-in person without the role a page needs (any service's page in this app)."""
    if wants_json():
        response = jsonify(error_body(err))
        response.status_code = 403
        return response
    return message_page("Not available to you", str(err.description), status=403, kind="error")


@bp.errorhandler(CSRFError)
def csrf_failed(err: CSRFError) -> Any:
    if request.endpoint == "staff.sign_in":
        return _render_sign_in(
            status=400,
            email=request.form.get("email", "").strip(),
            errors={
                "_request": ["For your security, this page timed out. Sign in again."],
            },
        )
    return message_page(
        "Please try again",
        "For your security, this page timed out. Go back, reload the page and try again.",
        status=400,
    )


@bp.errorhandler(TooManyRequests)
def too_many(err: TooManyRequests) -> Any:
    return _render_sign_in(
        status=429,
        email=request.form.get("email", "").strip(),
        errors={"_request": ["Too many sign-in attempts. Wait a few minutes, then try again."]},
    )


# -- JSON API ---------------------------------------------------------------------------------


def person_json(user: StaffUser) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "roles": list(user.roles),
        "active": user.active,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }


@api_bp.get("/me")
@staff_api_required()
def api_me() -> Any:
    """Who is signed in, and the token to send as ``X-CSRFToken`` on non-GET calls."""
    staff = me()
    return jsonify(
        {
            "id": str(staff.user_id),
            "email": staff.email,
            "name": staff.name,
            "roles": sorted(staff.roles),
            "csrf_token": generate_csrf(),
        }
    )


@api_bp.get("")
@staff_api_required("coordinator")
def api_people() -> Any:
    with database.transaction() as session:
        staff = [person_json(user) for user in accounts.list_staff(session)]
    return jsonify({"staff": staff, "count": len(staff)})
