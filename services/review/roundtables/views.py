"""Review's staff pages for roundtables and their workgroups: the list (with the form that
creates one) and a roundtable's page with its members, meetings and products.

Each form posts to a view that calls one function of ``roundtables.domain``, which decides who
may do it (any staff member reads; the Coordinator alone creates roundtables and workgroups,
records who joins and leaves, and records and removes meetings and products). The view first
asks the domain for the roundtable as a keeper's form needs it (``roundtable_to_keep``), so
that someone who may not send the form is refused before any of its fields are read. The
form's fields are checked by the same input schema as the API's (``roundtables.schemas``).

A form sent with bad input comes back with the errors beside the fields and everything that
was typed (422; 409 when the state of things does not allow the step, such as an alliance in
the roundtable already); a success redirects (303) to the page with a message. Any other
refusal is answered by shared/web.py.

Each form has a prefix (``member``, ``meeting``, ``product``, ...; one per membership for its
departure) that starts its fields' element ids, so a page showing one form's errors can link
to each field from the error summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from marshmallow import Schema
from sqlalchemy.orm import Session

from services.review import people
from services.review.alliances.views import long_date
from services.review.forms import Failure, form_input, sent
from services.review.roundtables import domain as roundtables
from services.review.roundtables.schemas import (
    DepartureIn,
    MembershipIn,
    RoundtableIn,
    RoundtableLineOut,
    RoundtableMeetingIn,
    RoundtablePageOut,
    RoundtableProductChangeIn,
    RoundtableProductIn,
)
from services.review.worker import database
from shared.config import load_settings
from shared.domain import Acting, Conflict, Invalid
from shared.schemas import InputSchema, checks_form_text
from shared.staff_auth import staff_required
from shared.web import current_acting, request_session

bp = Blueprint("roundtables", __name__, url_prefix="/staff/roundtables")

KEEPERS = roundtables.KEEPERS

# Whether the public directory lists a product, as the form asks it.
LISTING_CHOICES = [
    ("1", "Yes: list it on the public directory"),
    ("0", "No: staff see it here only"),
]

# The list's form's fields in the order they appear, with the label the error summary names.
ROUNDTABLE_LABELS = {
    "name": "Name",
    "parent_id": "A workgroup of",
    "starts_on": "Starts on",
    "ends_on": "Last day",
    "description": "Description",
}


# -- the list ---------------------------------------------------------------------------------


def _list_page(session: Session, failure: Failure | None = None) -> Any:
    acting = current_acting()
    today = people.today(load_settings())
    lines = roundtables.overview(session, acting=acting, today=today)
    html = render_template(
        "roundtables/list.html",
        lines=RoundtableLineOut(many=True).dump(lines),
        parents=[
            (str(line.roster.id), line.roster.name) for line in lines if not line.roster.parent_id
        ],
        may_keep=roundtables.may_keep(acting),
        errors=failure.by_element() if failure else {},
        summary=failure.summary() if failure else [],
        sent=sent(failure),
        today=today.isoformat(),
    )
    return html, (failure.status if failure else 200)


@bp.get("")
@staff_required()
def list_page() -> Any:
    return _list_page(request_session(database))


@bp.post("")
@checks_form_text
@staff_required(*KEEPERS)
def create() -> Any:
    """A roundtable, or (with ``parent_id`` chosen) a workgroup of one."""
    session = request_session(database)
    acting = current_acting()
    roundtables.check_keeper(acting)
    try:
        made = roundtables.create_roundtable(session, acting=acting, **form_input(RoundtableIn()))
    except (Invalid, Conflict) as err:
        session.rollback()
        return _list_page(session, Failure.of("roundtable", ROUNDTABLE_LABELS, err))
    kind = "Workgroup" if made.parent_id else "Roundtable"
    flash(f"{kind} created: {made.name}, from {long_date(made.starts_on)}.", "success")
    return redirect(url_for("roundtables.roundtable_page", roundtable_id=made.id), code=303)


# -- one roundtable ---------------------------------------------------------------------------


def _page(session: Session, roundtable_id: uuid.UUID, failure: Failure | None = None) -> Any:
    acting = current_acting()
    today = people.today(load_settings())
    page = roundtables.roundtable_page(
        session, roundtable_id=roundtable_id, acting=acting, today=today
    )
    html = render_template(
        "roundtables/roundtable.html",
        r=RoundtablePageOut().dump(page),
        may_keep=page.may_keep,
        errors=failure.by_element() if failure else {},
        summary=failure.summary() if failure else [],
        sent=sent(failure),
        today=today.isoformat(),
        joinable=[(str(a.id), f"{a.partner_name} ({a.reference})") for a in page.joinable],
        product_kinds=roundtables.PRODUCT_KINDS,
        listing_choices=LISTING_CHOICES,
    )
    return html, (failure.status if failure else 200)


@bp.get("/<uuid:roundtable_id>")
@staff_required()
def roundtable_page(roundtable_id: uuid.UUID) -> Any:
    return _page(request_session(database), roundtable_id)


# What a form does: the domain's step, then the message for the page.
Action = Callable[[Session, Acting, uuid.UUID, dict[str, Any]], str]


@dataclass(frozen=True)
class Form:
    """One form of a roundtable's page: ``prefix`` starts its fields' element ids; ``labels``
    are its fields in the order they appear, with the label the error summary names;
    ``anchor`` is where the page returns."""

    prefix: str
    labels: Mapping[str, str]
    schema: Callable[[], Schema]
    act: Action
    anchor: str


def _submit(roundtable_id: uuid.UUID, form: Form) -> Any:
    """Refuse who may not send this form, then check the form and let the domain act; the
    page again with the form's errors, or a redirect with the message the action returns."""
    session = request_session(database)
    acting = current_acting()
    roundtables.roundtable_to_keep(session, roundtable_id=roundtable_id, acting=acting)
    try:
        message = form.act(session, acting, roundtable_id, form_input(form.schema()))
    except (Invalid, Conflict) as err:
        session.rollback()  # the page shows the roundtable as it was; nothing is stored
        return _page(session, roundtable_id, Failure.of(form.prefix, form.labels, err))
    flash(message, "success")
    return redirect(
        url_for("roundtables.roundtable_page", roundtable_id=roundtable_id) + f"#{form.anchor}",
        code=303,
    )


def _today() -> date:
    return people.today(load_settings())


def _workgroup_added(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
    workgroup = roundtables.create_roundtable(
        session, acting=acting, **{**body, "parent_id": roundtable_id}
    )
    return f"Workgroup created: {workgroup.name}, from {long_date(workgroup.starts_on)}."


def _joined(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
    member = roundtables.join(
        session, acting=acting, roundtable_id=roundtable_id, today=_today(), **body
    )
    return (
        f"{member.alliance.partner_name} is a member from {long_date(member.membership.joined_on)}."
    )


def _meeting_recorded(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
    meeting = roundtables.record_meeting(
        session, acting=acting, roundtable_id=roundtable_id, today=_today(), **body
    )
    return f"Meeting on {long_date(meeting.held_on)} recorded: {meeting.topic}."


def _product_recorded(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
    product = roundtables.record_product(
        session, acting=acting, roundtable_id=roundtable_id, today=_today(), **body
    )
    listed = "listed on" if product.public else "not listed on"
    return f"Product recorded: {product.title}, {listed} the public directory."


WORKGROUP = Form(
    "workgroup",
    {k: v for k, v in ROUNDTABLE_LABELS.items() if k != "parent_id"},
    lambda: RoundtableIn(exclude=("parent_id",)),
    _workgroup_added,
    anchor="workgroups",
)
MEMBER = Form(
    "member",
    {"alliance_id": "Alliance", "joined_on": "Member from"},
    MembershipIn,
    _joined,
    anchor="members",
)
MEETING = Form(
    "meeting",
    {"held_on": "Day it met", "topic": "Topic", "summary": "Summary", "attendees": "Who attended"},
    RoundtableMeetingIn,
    _meeting_recorded,
    anchor="meetings",
)
PRODUCT = Form(
    "product",
    {
        "kind": "Kind",
        "title": "Title",
        "published_on": "Published on",
        "url": "Link",
        "description": "Description",
        "public": "On the public directory",
    },
    RoundtableProductIn,
    _product_recorded,
    anchor="products",
)


def departure(membership_id: uuid.UUID) -> Form:
    """The form beside each current member: the last day it is a member."""

    def left(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
        member = roundtables.leave(
            session,
            acting=acting,
            roundtable_id=roundtable_id,
            membership_id=membership_id,
            today=_today(),
            **body,
        )
        return (
            f"{member.alliance.partner_name} leaves: its last day as a member is "
            f"{long_date(member.membership.left_on)}."
        )

    return Form(
        f"leave-{membership_id}",
        {"left_on": "Last day as a member"},
        DepartureIn,
        left,
        anchor="members",
    )


def product_listing(product_id: uuid.UUID) -> Form:
    """The button beside each product that lists it on the public directory or hides it."""

    def changed(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
        product = roundtables.update_product(
            session,
            acting=acting,
            roundtable_id=roundtable_id,
            product_id=product_id,
            changes=body,
            today=_today(),
        )
        if product.public:
            return f"{product.title} is listed on the public directory."
        return f"{product.title} is no longer listed on the public directory."

    return Form(
        f"listing-{product_id}",
        {},  # one button: whatever is wrong is said beside it
        lambda: RoundtableProductChangeIn(only=("public",)),
        changed,
        anchor="products",
    )


def product_removal(product_id: uuid.UUID) -> Form:
    def removed(session: Session, acting: Acting, roundtable_id: uuid.UUID, body: Any) -> str:
        roundtables.remove_product(
            session, acting=acting, roundtable_id=roundtable_id, product_id=product_id
        )
        return "The product is removed (the history keeps it)."

    return Form(f"remove-{product_id}", {}, InputSchema, removed, anchor="products")


@bp.post("/<uuid:roundtable_id>/workgroups")
@checks_form_text
@staff_required(*KEEPERS)
def add_workgroup(roundtable_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, WORKGROUP)


@bp.post("/<uuid:roundtable_id>/members")
@checks_form_text
@staff_required(*KEEPERS)
def add_member(roundtable_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, MEMBER)


@bp.post("/<uuid:roundtable_id>/members/<uuid:membership_id>/departure")
@checks_form_text
@staff_required(*KEEPERS)
def remove_member(roundtable_id: uuid.UUID, membership_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, departure(membership_id))


@bp.post("/<uuid:roundtable_id>/meetings")
@checks_form_text
@staff_required(*KEEPERS)
def add_meeting(roundtable_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, MEETING)


@bp.post("/<uuid:roundtable_id>/products")
@checks_form_text
@staff_required(*KEEPERS)
def add_product(roundtable_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, PRODUCT)


@bp.post("/<uuid:roundtable_id>/products/<uuid:product_id>/listing")
@checks_form_text
@staff_required(*KEEPERS)
def change_listing(roundtable_id: uuid.UUID, product_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, product_listing(product_id))


@bp.post("/<uuid:roundtable_id>/products/<uuid:product_id>/removal")
@checks_form_text
@staff_required(*KEEPERS)
def remove_product(roundtable_id: uuid.UUID, product_id: uuid.UUID) -> Any:
    return _submit(roundtable_id, product_removal(product_id))
