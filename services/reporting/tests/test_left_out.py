"""What a declared conflict of interest hides and the note that says so: pure, no database."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.reporting.alliances.models import Alliance
from services.reporting.figures.domain import note_row
from services.reporting.people import (
    LeftOut,
    check_may_read,
    hidden_from,
    readable_alliances,
)
from shared.domain import Acting, Forbidden, organization_key

ROOFERS = "Michigan Roofing Contractors Association"


def acting(*conflicts: str) -> Acting:
    return Acting(
        staff_id=uuid.uuid4(),
        email="cora@agency.example",
        roles=frozenset({"coordinator"}),
        conflicts=frozenset(organization_key(name) for name in conflicts),
    )


IN_CONFLICT = acting(ROOFERS)


def alliance(name: str) -> Alliance:
    return Alliance(
        id=uuid.uuid4(),
        reference="AP-2026-00001",
        partner_name=name,
        signing_date=date(2024, 1, 15),
    )


@pytest.mark.parametrize(
    ("left_out", "note"),
    [
        (LeftOut(), ""),
        (LeftOut(alliances=1), "1 alliance left out because you declared a conflict of interest."),
        (LeftOut(alliances=2), "2 alliances left out because you declared a conflict of interest."),
        (LeftOut(proposals=3), "3 proposals left out because you declared a conflict of interest."),
        (
            LeftOut(alliances=1, proposals=2),
            "1 alliance and 2 proposals left out because you declared a conflict of interest.",
        ),
    ],
)
def test_the_note_says_how_much_was_left_out(left_out, note):
    assert left_out.note == note
    assert bool(left_out) is bool(note)


def test_a_conflict_hides_the_partner_whatever_the_spelling_of_its_name():
    assert hidden_from(IN_CONFLICT, "michigan  roofing contractors ASSOCIATION.")
    assert not hidden_from(IN_CONFLICT, "Other Builders")
    assert not hidden_from(acting(), ROOFERS)


def test_a_read_of_one_hidden_alliance_is_refused_naming_no_partner():
    with pytest.raises(Forbidden) as refused:
        check_may_read(IN_CONFLICT, alliance(ROOFERS))
    assert "Roofing" not in str(refused.value)
    check_may_read(IN_CONFLICT, alliance("Other Builders"))  # no refusal


def test_a_read_of_many_keeps_the_others_and_counts_the_hidden():
    roofers, others = alliance(ROOFERS), alliance("Other Builders")
    readable = readable_alliances(IN_CONFLICT, [roofers, others])
    assert readable.shows(others)
    assert not readable.shows(roofers)
    assert readable.left_out == LeftOut(alliances=1)


def test_the_csv_note_row_is_as_wide_as_the_header_and_formula_safe():
    assert note_row(LeftOut(), 4) == []
    [row] = note_row(LeftOut(alliances=1), 4)
    assert row == [
        "Note: 1 alliance left out because you declared a conflict of interest.",
        "",
        "",
        "",
    ]
    assert not row[0].startswith(("=", "+", "-", "@"))
