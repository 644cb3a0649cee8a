"""A declared conflict of interest with a partner refuses changing its alliance, whoever asks
(the Coordinator and its own liaison included); reading it stays open
(services/review/alliances/domain.py ``check_no_conflict``)."""

from datetime import date

import pytest
from sqlalchemy import func, select

from services.review.alliances import domain as alliances
from services.review.alliances.models import Alliance, Milestone, TeamMeeting
from services.review.base import OutboxEvent
from services.review.worker import outbox
from shared.domain import Forbidden
from tests.factories import LIAISON, ROOFERS, acting, acting_as, signed_alliance

pytestmark = pytest.mark.integration

TODAY = date(2024, 6, 3)


def counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Milestone, TeamMeeting, OutboxEvent)
    )


@pytest.mark.parametrize(
    "who",
    [
        acting("cora@agency.example", "coordinator", conflicts=[ROOFERS]),
        acting_as(LIAISON, conflicts=["michigan roofing contractors ASSOCIATION"]),
    ],
    ids=["coordinator", "its-own-liaison"],
)
def test_a_conflicted_keeper_cannot_change_the_alliance_and_nothing_is_stored(rolled_back, who):
    session = rolled_back("review")
    alliance = signed_alliance(session=session)
    before = counts(session), alliance.status, alliance.ends_on

    with pytest.raises(Forbidden, match="conflict of interest with Michigan Roofing"):
        alliances.add_milestone(
            session,
            acting=who,
            alliance_id=alliance.id,
            title="Toolbox talks",
            target_date=date(2024, 9, 1),
            responsible="Dana",
            today=TODAY,
        )
    with pytest.raises(Forbidden, match="conflict of interest"):
        alliances.add_meeting(
            session, acting=who, alliance_id=alliance.id, met_on=TODAY, today=TODAY
        )
    if who.is_coordinator:
        with pytest.raises(Forbidden, match="conflict of interest"):
            alliances.terminate(
                session,
                acting=who,
                alliance_id=alliance.id,
                notice_date=TODAY,
                outbox=outbox,
                today=TODAY,
            )
        with pytest.raises(Forbidden, match="conflict of interest"):
            alliances.renew(
                session,
                acting=who,
                alliance_id=alliance.id,
                signing_date=TODAY,
                term_years=3,
                outbox=outbox,
                today=TODAY,
            )

    session.expire_all()
    stored = session.get(Alliance, alliance.id)
    assert (counts(session), stored.status, stored.ends_on) == before

    # Reading stays open, and the page offers them nothing to change.
    page = alliances.alliance_page(session, alliance_id=alliance.id, acting=who, today=TODAY)
    assert page.may_keep_work_plan is False
    assert page.may_decide is False


def test_without_the_conflict_the_same_people_change_it(rolled_back):
    session = rolled_back("review")
    alliance = signed_alliance(session=session)

    keepers = (acting("cora@agency.example", "coordinator"), acting_as(LIAISON))
    for day, who in enumerate(keepers, start=1):
        met_on = date(2024, 6, day)
        alliances.add_meeting(
            session, acting=who, alliance_id=alliance.id, met_on=met_on, today=TODAY
        )

    assert session.scalar(select(func.count()).select_from(TeamMeeting)) == 2
