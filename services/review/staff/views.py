"""Staff pages: sign-in and sign-out (for every service), one's own account, and the
Coordinator's staff management. The JSON API is api.py.

Views are thin: they load the form through the action's input schema (schemas.py), call the
domain function (domain.py), which decides who may do what, and answer. A refused action
(``shared.domain``) becomes its page in shared/web.py; a form catches only ``Invalid``, to show
the messages beside their fields. Sessions live in shared/staff_auth.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Flask,
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
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, TooManyRequests
from werkzeug.wrappers import Response

from services.review import people as staff_people
from services.review.forms import form_input
from services.review.staff import domain as accounts
from services.review.staff.schemas import (
    LinkPasswordIn,
    OfficeIn,
    OwnPasswordIn,
    PasswordIn,
    PasswordResetIn,
    PersonIn,
    RolesIn,
    SignInIn,
)
from services.review.worker import database
from shared import staff_auth
from shared.config import load_settings
from shared.db import after_commit
from shared.domain import Invalid
from shared.schemas import checks_form_text
from shared.staff_auth import ROLES, StaffSession, staff_required
from shared.text_hygiene import untypable_character
from shared.web import current_acting, error_body, request_session, wants_json

bp = Blueprint("staff", __name__, url_prefix="/staff")

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

WRONG_CREDENTIALS = "E-mail or password is incorrect."
HOME_ENDPOINT = "review.home"  # services/review/queue/views.py

SIGN_IN = SignInIn()
OWN_PASSWORD = OwnPasswordIn()
NEW_PERSON = PersonIn()
ROLES_FORM = RolesIn()
OFFICE_FORM = OfficeIn()
SET_PASSWORD = PasswordIn()
PASSWORD_RESET = PasswordResetIn()
LINK_PASSWORD = LinkPasswordIn()

SIGN_IN_LABELS = {"email": "E-mail address", "password": "Password"}
PASSWORD_LABELS = {"current_password": "Current password", "new_password": "New password"}
PERSON_LABELS = {
    "email": "E-mail",
    "name": "Name",
    "roles": "Roles",
    "office": "Office",
    "password": "Password",
}
RESET_LABELS = {"email": "E-mail address"}
LINK_PASSWORD_LABELS = {"new_password": "New password", "confirm_password": "New password again"}
# How the person the Coordinator adds gets a password (the page's choice; the API goes by
# whether a password is sent).
ACCESS_OPTIONS = [
    (
        "invitation",
        "E-mail an invitation",
        "Recommended. The person gets a link to set their own password.",
    ),
    (
        "password",
        "Set an initial password",
        "You type it below and give it to the person in a safe way.",
    ),
]


def init_app(app: Flask) -> None:
    """Sign-in rate limits (in Redis) and the staff pages; create_app registers api.py's
    blueprint with the app's OpenAPI document."""
    settings = load_settings()  # STAFF_SIGN_IN_LIMIT, STAFF_SIGN_IN_EMAIL_LIMIT, ...
    app.config.setdefault("STAFF_SIGN_IN_LIMIT", settings.staff_sign_in_limit)
    app.config.setdefault("STAFF_SIGN_IN_EMAIL_LIMIT", settings.staff_sign_in_email_limit)
    app.config.setdefault("STAFF_PASSWORD_RESET_LIMIT", settings.staff_password_reset_limit)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url)
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 2, "socket_connect_timeout": 2}
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "alliance-review")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    app.register_blueprint(bp)


def _client_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_LIMIT"])


def _email_limit() -> str:
    return str(current_app.config["STAFF_SIGN_IN_EMAIL_LIMIT"])


def _reset_limit() -> str:
    return str(current_app.config["STAFF_PASSWORD_RESET_LIMIT"])


def _email_key() -> str:
    return "email:" + accounts.normalize_email(request.form.get("email", ""))


def _failed(response: Response) -> bool:
    return response.status_code != 303


def me() -> StaffSession:
    """The signed-in person (only inside a view guarded by staff_required)."""
    staff: StaffSession = g.staff
    return staff


def echoed(name: str) -> str:
    """A posted text to show again in its field; not one holding a character that cannot be
    typed (the message beside the field says so)."""
    value = request.form.get(name, "")
    return "" if untypable_character(value) else value


def page(template: str, *, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            template,
            role_options=list(ROLES.items()),
            office_name=staff_people.office_name,
            **context,
        ),
        status,
    )


def office_options() -> dict[str, str]:
    """The offices the signed-in Coordinator may put people in: theirs and those under it."""
    return staff_people.office_choices(current_acting())


def message_page(title: str, message: str, *, status: int, kind: str = "warning") -> Any:
    return page("staff/message.html", status=status, title=title, message=message, kind=kind)


def error_rows(
    errors: dict[str, list[str]], labels: dict[str, str], *, form_target: str = "main-content"
) -> list[tuple[str, str, str]]:
    """(element id, label, message) for the error summary, in the form's order. Errors about
    the whole form (``_request``) or a field it does not show link to ``form_target``; an
    error about one value of a list (``roles.0``) to the list's field."""
    by_field = field_errors(errors)
    loose = [m for field, ms in by_field.items() if field not in labels for m in ms]
    return [(form_target, "", m) for m in loose] + [
        (field.replace("_", "-"), label, message)
        for field, label in labels.items()
        for message in by_field.get(field, [])
    ]


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Messages by form field, for the messages shown beside each field."""
    by_field: dict[str, list[str]] = {}
    for path, messages in errors.items():
        by_field.setdefault(path.split(".")[0], []).extend(messages)
    return by_field


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
        errors=field_errors(errors),
        error_rows=error_rows(errors, SIGN_IN_LABELS, form_target="email"),
        next=staff_auth.safe_next(request.values.get("next")) or "",
        notice=notice,
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@checks_form_text
@limiter.limit(_client_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_email_limit, methods=["POST"], key_func=_email_key, deduct_when=_failed)
def sign_in() -> Any:
    if request.method == "GET":
        return _render_sign_in()
    email = echoed("email").strip()
    try:
        credentials = form_input(SIGN_IN, as_typed=True)
    except Invalid as err:
        return _render_sign_in(status=422, email=email, errors=err.errors)
    user = accounts.authenticate(
        request_session(database),
        email=credentials["email"],
        password=credentials["password"],
        settings=load_settings(),
    )
    if user is None:
        return _render_sign_in(status=401, email=email, errors={"_request": [WRONG_CREDENTIALS]})
    previous = request.cookies.get(staff_auth.COOKIE_NAME)
    if previous:
        staff_auth.end_session(previous)
    session_id = staff_auth.start_session(
        user.id, user.email, user.name, list(user.roles), office=user.office
    )
    target = staff_auth.safe_next(credentials["next"]) or home_url()
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


# -- a forgotten password, and the e-mailed links that set one ---------------------------------


def _render_forgot(
    *, status: int = 200, email: str = "", errors: dict[str, list[str]] | None = None
) -> tuple[str, int]:
    errors = errors or {}
    return page(
        "staff/forgot_password.html",
        status=status,
        email=email,
        sent=bool(request.args.get("sent")) and not errors,
        lifetime=load_settings().staff_password_reset_lifetime,
        errors=field_errors(errors),
        error_rows=error_rows(errors, RESET_LABELS, form_target="email"),
    )


@bp.route("/forgot-password", methods=["GET", "POST"])
@checks_form_text
@limiter.limit(_reset_limit, methods=["POST"])
def forgot_password() -> Any:
    """Asks for the address and answers the same whether or not it has an account."""
    if request.method == "GET":
        return _render_forgot()
    try:
        asked = form_input(PASSWORD_RESET, as_typed=True)
    except Invalid as err:
        return _render_forgot(status=422, email=echoed("email").strip(), errors=err.errors)
    accounts.request_password_reset(
        request_session(database), email=asked["email"], settings=load_settings()
    )
    return redirect(url_for("staff.forgot_password", sent=1), code=303)


# Why a link does not work, and what to do, by the link's kind ("" when not known).
LINK_PROBLEMS = {
    "unknown": (
        "This link does not work",
        "The link is not complete or not right: it may have been cut in two by your e-mail "
        "program, or changed. Copy the whole link from the e-mail, or ask for a new one.",
    ),
    "used": (
        "This link was already used",
        "Each link sets a password once, and this one has been used. Sign in with the "
        "password that was set, or ask for a new link.",
    ),
    "replaced": (
        "This link was replaced",
        "A newer link was sent after this one, or the password was set another way, so this "
        "link no longer works. Use the newest e-mail, or ask for a new link.",
    ),
    "inactive": (
        "This account is deactivated",
        "The staff account this link was for is deactivated, so no password can be set. Ask "
        "the Alliance Coordinator if you need access again.",
    ),
    "expired": (
        "This link has expired",
        "For your security, the link worked for a limited time only, and that time is over. "
        "Ask for a new link.",
    ),
}


def _refused_link(refused: accounts.LinkRefused) -> tuple[str, int]:
    title, message = LINK_PROBLEMS[refused.reason]
    return page(
        "staff/link_problem.html",
        status=404 if refused.reason == "unknown" else 410,
        title=title,
        message=message,
        reason=refused.reason,
        kind=refused.kind,
    )


def _render_link_form(
    link: accounts.PasswordLink, *, status: int = 200, errors: dict[str, list[str]] | None = None
) -> tuple[str, int]:
    errors = errors or {}
    return page(
        "staff/set_password.html",
        status=status,
        link=link,
        errors=field_errors(errors),
        error_rows=error_rows(errors, LINK_PASSWORD_LABELS),
    )


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@checks_form_text
def set_password_from_link(token: str) -> Any:
    """The e-mailed link: the new password twice; then the person is signed in. A link that
    cannot be used says why and how to get a new one."""
    session = request_session(database)
    try:
        link = accounts.check_password_link(session, token=token)
    except accounts.LinkRefused as refused:
        return _refused_link(refused)
    if request.method == "GET":
        return _render_link_form(link)
    session_id = staff_auth.new_session_id()
    try:
        chosen = form_input(LINK_PASSWORD, as_typed=True)
        user = accounts.set_password_from_link(
            session,
            token=token,
            new_password=chosen["new_password"],
            keep_session=session_id,
            settings=load_settings(),
        )
    except accounts.LinkRefused as refused:  # used or replaced meanwhile
        return _refused_link(refused)
    except Invalid as err:
        return _render_link_form(link, status=422, errors=err.errors)
    previous = request.cookies.get(staff_auth.COOKIE_NAME)
    if previous:
        staff_auth.end_session(previous)
    identity = (user.id, user.email, user.name, list(user.roles))
    office = user.office

    def sign_in_now() -> None:
        # Once the password is stored: a failed commit leaves no session behind.
        staff_auth.start_session(*identity, office=office, session_id=session_id)

    after_commit(session, sign_in_now)
    response = redirect(url_for("staff.account", password_set=link.kind), code=303)
    staff_auth.set_session_cookie(response, session_id)
    return response


# -- one's own account ------------------------------------------------------------------------


@bp.get("/me")
@staff_required()
def account() -> Any:
    return page("staff/me.html", roles=accounts.role_labels(me().roles))


@bp.route("/password", methods=["GET", "POST"])
@checks_form_text
@staff_required()
def password() -> Any:
    if request.method == "GET":
        return page("staff/password.html", errors={}, error_rows=[])
    try:
        change = form_input(OWN_PASSWORD, as_typed=True)
        accounts.change_password(
            request_session(database),
            acting=current_acting(),
            current_password=change["current_password"],
            new_password=change["new_password"],
            keep_session=me().id,
            settings=load_settings(),
        )
    except Invalid as err:
        return page(
            "staff/password.html",
            status=422,
            errors=field_errors(err.errors),
            error_rows=error_rows(err.errors, PASSWORD_LABELS),
        )
    return redirect(url_for("staff.account", changed=1), code=303)


# -- the Coordinator's staff management -------------------------------------------------------


@bp.get("/people")
@staff_required("coordinator")
def people() -> Any:
    staff = accounts.list_people(request_session(database), acting=current_acting())
    invited = request.args.get("invited", "")
    return page(
        "staff/people.html",
        people=staff,
        role_labels=accounts.role_labels,
        invited=next((p for p in staff if str(p.id) == invited), None),
    )


@bp.route("/people/new", methods=["GET", "POST"])
@checks_form_text
@staff_required("coordinator")
def new_person() -> Any:
    if request.method == "GET":
        return page(
            "staff/new_person.html",
            data={"access": "invitation", "office": current_acting().office},
            access_options=ACCESS_OPTIONS,
            office_options=office_options(),
            errors={},
            error_rows=[],
        )
    # A form without the choice (an older page) goes by whether it sent a password.
    access = request.form.get("access") or ("password" if request.form.get("password") else "")
    access = access if access == "password" else "invitation"
    try:
        person = form_input(NEW_PERSON, as_typed=True)
        user = accounts.create_staff(
            request_session(database),
            acting=current_acting(),
            email=person["email"],
            name=person["name"],
            roles=person["roles"],
            password=(person["password"] or "") if access == "password" else None,
            office=person.get("office") or None,
            settings=load_settings(),
        )
    except Invalid as err:
        shown = {
            "email": echoed("email"),
            "name": echoed("name"),
            "roles": [r for r in request.form.getlist("roles") if r in ROLES],
            "access": access,
            "office": request.form.get("office", ""),
        }
        return page(
            "staff/new_person.html",
            status=422,
            data=shown,
            access_options=ACCESS_OPTIONS,
            office_options=office_options(),
            errors=field_errors(err.errors),
            error_rows=error_rows(err.errors, PERSON_LABELS),
        )
    done = "invited" if access == "invitation" else "added"
    return redirect(url_for("staff.person", user_id=user.id, done=done), code=303)


def _person_page(
    session: Session,
    user_id: uuid.UUID,
    *,
    errors: dict[str, list[str]] | None = None,
    labels: dict[str, str] | None = None,
    roles: list[str] | None = None,
) -> tuple[str, int]:
    user = accounts.get_person(session, acting=current_acting(), user_id=user_id)
    errors = errors or {}
    return page(
        "staff/person.html",
        status=422 if errors else 200,
        person=user,
        invitation=accounts.latest_invitation(session, acting=current_acting(), user_id=user_id),
        roles=roles if roles is not None else list(user.roles),
        office_options=office_options(),
        errors=field_errors(errors),
        error_rows=error_rows(errors, labels or {}),
        role_labels=accounts.role_labels,
    )


@bp.route("/people/<uuid:user_id>", methods=["GET", "POST"])
@checks_form_text
@staff_required("coordinator")
def person(user_id: uuid.UUID) -> Any:
    session = request_session(database)
    if request.method == "GET":
        return _person_page(session, user_id)
    try:
        chosen = form_input(ROLES_FORM, as_typed=True)
        accounts.change_roles(
            session, acting=current_acting(), user_id=user_id, roles=chosen["roles"]
        )
    except Invalid as err:
        roles = [r for r in request.form.getlist("roles") if r in ROLES]
        return _person_page(
            session, user_id, errors=err.errors, labels={"roles": "Roles"}, roles=roles
        )
    return redirect(url_for("staff.person", user_id=user_id, done="saved"), code=303)


@bp.post("/people/<uuid:user_id>/office")
@checks_form_text
@staff_required("coordinator")
def change_office(user_id: uuid.UUID) -> Any:
    session = request_session(database)
    try:
        chosen = form_input(OFFICE_FORM, as_typed=True)
        accounts.change_office(
            session, acting=current_acting(), user_id=user_id, office=chosen["office"]
        )
    except Invalid as err:
        return _person_page(session, user_id, errors=err.errors, labels={"office": "Office"})
    return redirect(url_for("staff.person", user_id=user_id, done="office"), code=303)


@bp.post("/people/<uuid:user_id>/password")
@checks_form_text
@staff_required("coordinator")
def set_password(user_id: uuid.UUID) -> Any:
    session = request_session(database)
    try:
        new = form_input(SET_PASSWORD, as_typed=True)
        accounts.set_password(
            session,
            acting=current_acting(),
            user_id=user_id,
            password=new["password"],
            settings=load_settings(),
        )
    except Invalid as err:
        return _person_page(
            session, user_id, errors=err.errors, labels={"password": "New password"}
        )
    return redirect(url_for("staff.person", user_id=user_id, done="password"), code=303)


@bp.post("/people/<uuid:user_id>/invitation")
@staff_required("coordinator")
def resend_invitation(user_id: uuid.UUID) -> Any:
    """A new invitation (the older links stop working); back to the list or the person's
    page, whichever the button was on."""
    accounts.resend_invitation(
        request_session(database),
        acting=current_acting(),
        user_id=user_id,
        settings=load_settings(),
    )
    if request.form.get("from") == "people":
        return redirect(url_for("staff.people", invited=user_id), code=303)
    return redirect(url_for("staff.person", user_id=user_id, done="invited_again"), code=303)


def _set_active(user_id: uuid.UUID, active: bool) -> Any:
    accounts.set_active(
        request_session(database), acting=current_acting(), user_id=user_id, active=active
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
    if request.endpoint == "staff.forgot_password":
        return _render_forgot(
            status=400,
            email=echoed("email").strip(),
            errors={"_request": ["For your security, this page timed out. Try again."]},
        )
    if request.endpoint == "staff.sign_in":
        return _render_sign_in(
            status=400,
            email=echoed("email").strip(),
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
    if request.endpoint == "staff.forgot_password":
        return _render_forgot(
            status=429,
            email=echoed("email").strip(),
            errors={
                "_request": ["Too many requests from here. Wait a few minutes, then try again."]
            },
        )
    return _render_sign_in(
        status=429,
        email=echoed("email").strip(),
        errors={"_request": ["Too many sign-in attempts. Wait a few minutes, then try again."]},
    )
