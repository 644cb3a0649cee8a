"""What the staff pages and the staff API accept and answer.

One input schema per action, loaded by the HTML form (``forms.form_input``) and by the JSON
API (``@bp.arguments``) alike, so both refuse the same input with the same message. They check
presence, types and untypable text (``shared.schemas.InputSchema``); the rules themselves
(a valid address, a strong password, known roles) are the domain's (domain.py), and the
messages they share come from there. The dump schemas describe what the API answers.
"""

from __future__ import annotations

from typing import Any

from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from services.review.staff import domain as accounts
from shared.config import load_agency_profile
from shared.schemas import InputSchema

ENTER_YOUR_EMAIL = "Enter your e-mail address."
ENTER_YOUR_PASSWORD = "Enter your password."  # noqa: S105 (messages, not passwords)
ENTER_CURRENT_PASSWORD = "Enter your current password."  # noqa: S105
PASSWORDS_DIFFER = "The two new passwords are not the same."
ENTER_PASSWORD_AGAIN = "Enter the new password again."  # noqa: S105


def _filled(message: str) -> Any:
    def check(value: str) -> None:
        if not value.strip():
            raise ValidationError(message)

    return check


def _text(message: str, **kwargs: Any) -> fields.String:
    """A text field that must be sent; ``message`` when it is not."""
    return fields.String(required=True, error_messages={"required": message}, **kwargs)


def _roles(**kwargs: Any) -> fields.List[Any]:
    return fields.List(
        fields.String(),
        required=True,
        error_messages={"required": accounts.CHOOSE_A_ROLE},
        metadata={"description": "Any of coordinator, reviewer, liaison."},
        **kwargs,
    )


# -- input, one schema per action -------------------------------------------------------------


class SignInIn(InputSchema):
    """Signing in (the page only: there is no JSON sign-in)."""

    email = _text(ENTER_YOUR_EMAIL, validate=_filled(ENTER_YOUR_EMAIL))
    password = _text(ENTER_YOUR_PASSWORD, validate=_filled(ENTER_YOUR_PASSWORD))
    next = fields.String(load_default="")


class OwnPasswordIn(InputSchema):
    """Changing one's own password, with the current one."""

    current_password = _text(ENTER_CURRENT_PASSWORD)
    new_password = _text(accounts.ENTER_PASSWORD)
    confirm_password = fields.String(
        load_default=None,
        metadata={"description": "The new password again; the page asks for it."},
    )

    @validates_schema
    def same_twice(self, data: dict[str, Any], **kwargs: Any) -> None:
        confirm = data.get("confirm_password")
        if confirm is not None and confirm != data.get("new_password"):
            raise ValidationError(PASSWORDS_DIFFER, "new_password")


class PersonIn(InputSchema):
    """The Coordinator adds a person."""

    email = _text(accounts.ENTER_EMAIL)
    name = _text(accounts.ENTER_NAME)
    roles = _roles()
    password = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The initial password. Leave it out (or empty) to e-mail the "
            "person an invitation to set their own instead."
        },
    )
    office = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={
            "description": "The office the person belongs to (a slug of the agency's offices); "
            "left out: the Coordinator's own."
        },
    )


class OfficeIn(InputSchema):
    """The Coordinator moves a person to another office."""

    office = fields.String(
        required=True,
        validate=validate.Length(max=64),
        error_messages={"required": "Choose an office."},
    )


class RolesIn(InputSchema):
    """The Coordinator changes a person's roles."""

    roles = _roles()


class ActiveIn(InputSchema):
    """The Coordinator deactivates (false) or reactivates (true) an account."""

    active = fields.Boolean(required=True)


class PasswordIn(InputSchema):
    """The Coordinator sets someone else's password."""

    password = _text(accounts.ENTER_PASSWORD)


class PasswordResetIn(InputSchema):
    """ "Forgot your password?": the address to send a link to (the page only)."""

    email = _text(ENTER_YOUR_EMAIL, validate=_filled(ENTER_YOUR_EMAIL))


class LinkPasswordIn(InputSchema):
    """Setting one's password from an e-mailed link (the page only): the new password twice."""

    new_password = _text(accounts.ENTER_PASSWORD)
    confirm_password = _text(ENTER_PASSWORD_AGAIN)

    @validates_schema
    def same_twice(self, data: dict[str, Any], **kwargs: Any) -> None:
        new = data.get("new_password")
        if new and data.get("confirm_password") != new:
            raise ValidationError(PASSWORDS_DIFFER, "confirm_password")


# -- output -----------------------------------------------------------------------------------


class PersonOut(Schema):
    id = fields.UUID()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    invited = fields.Boolean(
        metadata={"description": "Invited and not signed in yet: no password set so far."}
    )
    office = fields.Function(
        lambda person: person.office or load_agency_profile().offices.top.slug,
        metadata={"description": "The office the person belongs to (a slug)."},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PeopleOut(Schema):
    staff = fields.List(fields.Nested(PersonOut))
    count = fields.Integer()


class MeOut(Schema):
    """The signed-in person (a ``shared.staff_auth.StaffSession``)."""

    id = fields.UUID(attribute="user_id")
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    csrf_token = fields.Function(
        lambda _staff: generate_csrf(),
        metadata={"type": "string", "description": "Send it as X-CSRFToken on every write."},
    )

    @post_dump
    def sorted_roles(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["roles"] = sorted(data["roles"])
        return data
