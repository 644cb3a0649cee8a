"""The pure rules of an alliance's life, its roundtables and the public directory: no
database, no app."""

import uuid
from datetime import date

import pytest

from services.review.alliances import domain as agreements
from services.review.alliances.models import Alliance, Roundtable
from services.review.directory import domain as directory
from services.review.roundtables import domain as roundtables
from shared.domain import Acting, Invalid

Term = agreements.Term


@pytest.mark.parametrize(
    ("signed", "years", "ends_on"),
    [
        (date(2024, 3, 1), 2, date(2026, 2, 28)),
        (date(2028, 2, 29), 4, date(2032, 2, 28)),  # 29 February to a leap year
        (date(2028, 2, 29), 3, date(2031, 2, 27)),  # to a common year: the 28th is the day
        (date(2027, 3, 1), 5, date(2032, 2, 29)),  # the day before runs into a 29 February
    ],
)
def test_a_renewed_term_ends_the_day_before_its_anniversary(signed, years, ends_on):
    assert agreements.renewed_term(1, signed, years) == Term(1, signed, years, ends_on)


@pytest.mark.parametrize(
    ("notice", "effective"),
    [
        (date(2026, 1, 15), date(2026, 2, 14)),
        (date(2028, 2, 10), date(2028, 3, 11)),  # through a 29 February
        (date(2026, 12, 15), date(2027, 1, 14)),  # into the next year
    ],
)
def test_termination_takes_effect_30_days_after_the_written_notice(notice, effective):
    assert agreements.termination_effective_on(notice) == effective


INITIAL = Term(0, date(2022, 1, 10), 2, date(2024, 1, 9))
RENEWED = Term(1, date(2023, 12, 1), 2, date(2025, 11, 30))
NOT_RENEWED = (
    "An Ambassador has completed an initial term and one renewal: "
    "this alliance has not been renewed yet."
)


@pytest.mark.parametrize(
    ("status", "terms", "on", "expected"),
    [
        ("active", [INITIAL], date(2024, 6, 1), (False, NOT_RENEWED)),
        ("active", [INITIAL, RENEWED], date(2023, 11, 30), (False, NOT_RENEWED)),
        (
            "active",
            [INITIAL, RENEWED],
            date(2024, 1, 9),
            (
                False,
                "An Ambassador has completed an initial term and one renewal: the initial "
                "term runs through 2024-01-09.",
            ),
        ),
        (
            "active",
            [INITIAL, RENEWED],
            date(2024, 1, 10),
            (True, "The initial term ended on 2024-01-09 and the alliance was renewed."),
        ),
        (
            "ambassador",
            [INITIAL, RENEWED],
            date(2024, 6, 1),
            (False, "This partner is an Ambassador already."),
        ),
        (
            "terminated",
            [INITIAL, RENEWED],
            date(2024, 6, 1),
            (False, "This alliance is terminated: only an active alliance qualifies."),
        ),
    ],
)
def test_an_ambassador_completed_an_initial_term_and_one_renewal(status, terms, on, expected):
    assert agreements.ambassador_eligibility(status, terms, on=on) == agreements.Eligibility(
        *expected
    )


LEE_ID = uuid.uuid4()


def acting(*roles, staff_id=None, conflicts=()):
    return Acting(
        staff_id=staff_id or uuid.uuid4(),
        email="x@agency.example",
        roles=frozenset(roles),
        conflicts=frozenset(conflicts),
    )


@pytest.mark.parametrize(
    ("who", "keeps"),
    [
        (acting("coordinator"), True),
        (acting("liaison", staff_id=LEE_ID), True),
        (acting("liaison"), False),
        (acting("reviewer", staff_id=LEE_ID), False),  # the liaison's id, not the role
        (acting("reviewer", "liaison", staff_id=LEE_ID), True),
        (acting("coordinator", conflicts=["roofers"]), False),
        (acting("liaison", staff_id=LEE_ID, conflicts=["roofers"]), False),
    ],
    ids=[
        "coordinator",
        "its liaison",
        "another liaison",
        "reviewer",
        "reviewer and its liaison",
        "coordinator in conflict",
        "its liaison in conflict",
    ],
)
def test_the_coordinator_and_the_alliances_own_liaison_keep_its_work_plan(who, keeps):
    alliance = Alliance(liaison_id=LEE_ID, partner_name="Roofers")
    assert agreements.may_keep_work_plan(alliance, who) is keeps


def test_a_milestone_done_without_a_day_is_done_today():
    values = {"title": " Talks ", "target_date": date(2024, 9, 1), "responsible": "partner"}
    today = date(2024, 6, 1)
    assert agreements.checked_milestone({**values, "status": "done"}, today=today) == {
        "title": "Talks",
        "description": "",
        "target_date": date(2024, 9, 1),
        "responsible": "partner",
        "status": "done",
        "done_on": today,
    }
    with pytest.raises(Invalid) as caught:
        agreements.checked_milestone(
            {**values, "status": "done", "done_on": date(2024, 6, 2)}, today=today
        )
    assert caught.value.errors == {"done_on": ["A milestone is done on or before today."]}
    with pytest.raises(Invalid) as caught:
        agreements.checked_milestone({**values, "done_on": date(2024, 5, 2)}, today=today)
    assert caught.value.errors == {"done_on": ["Only a milestone that is done has a done date."]}


@pytest.mark.parametrize(
    "url", ["file:///c:/plan.docx", "agency.example/plan.pdf", "https://", "https://a b.example"]
)
def test_a_document_link_is_a_web_address(url):
    with pytest.raises(Invalid) as caught:
        agreements.checked_url(url)
    assert caught.value.errors == {
        "url": ["Give a web address starting with https:// (or http://)."]
    }


def test_a_document_link_may_be_left_out():
    assert (
        agreements.checked_url(" https://agency.example/a.pdf "),
        agreements.checked_url(""),
    ) == (
        "https://agency.example/a.pdf",
        "",
    )


# -- roundtables ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends_on", "day", "runs"),
    [
        (None, date(2024, 1, 1), True),  # its first day
        (None, date(2023, 12, 31), False),
        (date(2024, 6, 30), date(2024, 6, 30), True),  # its last day
        (date(2024, 6, 30), date(2024, 7, 1), False),
    ],
)
def test_a_roundtable_runs_from_its_first_through_its_last_day(ends_on, day, runs):
    assert roundtables.runs_on(date(2024, 1, 1), ends_on, day) is runs


def test_a_workgroup_is_current_only_while_its_roundtable_is():
    construction = Roundtable(starts_on=date(2024, 1, 1), ends_on=date(2024, 6, 30))
    falls = Roundtable(starts_on=date(2024, 2, 1), ends_on=None)
    assert roundtables.is_current(falls, date(2024, 6, 30), construction) is True
    assert roundtables.is_current(falls, date(2024, 7, 1)) is True  # on its own
    assert roundtables.is_current(falls, date(2024, 7, 1), construction) is False
    assert roundtables.is_current(falls, date(2024, 1, 15), construction) is False


# -- the public directory ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("website", "published"),
    [
        ("https://roofers.example", "https://roofers.example"),
        (" http://roofers.example/about ", "http://roofers.example/about"),
        ("roofers.example", ""),
        ("javascript:alert(1)", ""),
        (None, ""),
    ],
)
def test_the_directory_publishes_only_a_plain_web_address(website, published):
    assert directory.website({"website": website, "email": "private@roofers.example"}) == (
        published
    )


def test_the_directory_publishes_each_goal_field_by_field():
    [goal] = directory.goals(
        [
            {
                "category": "training_education",
                "term": "long",
                "description": "Train 500 roofers",
                "measure": "workers trained (internal)",
                "activities": ["develop_training"],
            }
        ]
    )
    assert goal == directory.Goal(
        category="training_education",
        category_label="Training and education",
        description="Train 500 roofers",
        term="long",
        term_label="Long-term",
    )
