"""Review's data migrations, each on its own database upgraded step by step.

Review's migration to two-step approval and signing, on its own database."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from shared.db import sqlalchemy_url
from shared.events import parse_event
from shared.migrations import alembic_config, ensure_database
from tests import servers as test_servers

pytestmark = pytest.mark.integration


@pytest.fixture
def review_url(servers) -> Iterator[str]:
    url = (
        make_url(servers.database_url("review"))
        .set(database=f"{test_servers.test_database_name('review')}_steps")
        .render_as_string(hide_password=False)
    )
    admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
    ensure_database(url)
    yield url
    with admin.connect() as conn:
        conn.execute(drop)
    admin.dispose()


def test_conflicts_declared_before_the_event_existed_are_announced(review_url):
    config = alembic_config("review", review_url)
    command.upgrade(config, "0006_outbox_republication")
    reviewer = uuid.uuid4()
    declared = datetime(2026, 5, 4, 13, 30, tzinfo=UTC)
    engine = create_engine(sqlalchemy_url(review_url))
    try:
        with engine.begin() as conn:
            for name in ("Michigan Roofing Contractors Assn.", "Bakers (Lansing)"):
                conn.execute(
                    text(
                        "INSERT INTO staff_conflicts (staff_id, organization_name,"
                        " organization_key, declared_at) VALUES (:staff, :name, :key, :at)"
                    ),
                    {"staff": reviewer, "name": name, "key": name.lower(), "at": declared},
                )
        command.upgrade(config, "0007_announce_declared_conflicts")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT type, version, message, published_at FROM outbox_events")
            ).all()
        # 0008 announces them once more, for reporting's new copy of the conflicts.
        command.upgrade(config, "head")
        with engine.connect() as conn:
            again = conn.execute(
                text("SELECT message FROM outbox_events ORDER BY id OFFSET 2")
            ).scalars()
            announced_again = sorted(parse_event(m).payload["organization_name"] for m in again)
    finally:
        engine.dispose()

    assert [(kind, version, published) for kind, version, _m, published in rows] == [
        ("staff.conflict_declared", 1, None)
    ] * 2
    events = [parse_event(message) for _k, _v, message, _p in rows]
    assert {e.payload["organization_name"] for e in events} == {
        "Michigan Roofing Contractors Assn.",
        "Bakers (Lansing)",
    }
    assert {(e.producer, e.payload["staff_id"], e.payload["declared_at"]) for e in events} == {
        ("review", reviewer, declared)
    }
    assert announced_again == ["Bakers (Lansing)", "Michigan Roofing Contractors Assn."]


INSERT = text(
    "INSERT INTO alliances (id, proposal_id, reference, partner, partner_name, contact, goals,"
    " hazards, division, liaison_id, liaison_name, liaison_email, signing_date, term_years,"
    " ends_on, renewals, status, created_at) VALUES (:id, :proposal, 'AP-2026-0001', '{}',"
    " 'Roofers', '{}', '[]', '[]', 'construction', :liaison, 'Lee', 'lee@example.gov',"
    " :signed, 3, :ends, 0, :status, now())"
)


@pytest.fixture
def review_url_review_signing_migration(servers) -> Iterator[str]:
    url = (
        make_url(servers.database_url("review"))
        .set(database=f"{test_servers.test_database_name('review')}_signing")
        .render_as_string(hide_password=False)
    )
    admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
    ensure_database(url)
    yield url
    with admin.connect() as conn:
        conn.execute(drop)
    admin.dispose()


def _row(status: str, signed: date | None, ends: date | None) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "proposal": uuid.uuid4(),
        "liaison": uuid.uuid4(),
        "signed": signed,
        "ends": ends,
        "status": status,
    }


def test_alliances_signed_at_approval_stay_active_and_new_ones_may_await_signing(
    review_url_review_signing_migration,
):
    config = alembic_config("review", review_url_review_signing_migration)
    command.upgrade(config, "0009_announce_coordinators")
    engine = create_engine(sqlalchemy_url(review_url_review_signing_migration))
    try:
        earlier = _row("active", date(2025, 3, 1), date(2028, 2, 29))
        with engine.begin() as conn:
            conn.execute(INSERT, earlier)
        command.upgrade(config, "0010_alliance_signing")
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT status, signing_date, ends_on FROM alliances WHERE id = :id"),
                {"id": earlier["id"]},
            ).one()
        with engine.begin() as conn:
            conn.execute(INSERT, _row("awaiting_signature", None, None))
        # An active alliance without its signing date, or one awaiting it with a date, is
        # refused by the database itself.
        for status, signed, ends in (
            ("active", None, None),
            ("awaiting_signature", date(2026, 1, 5), date(2029, 1, 4)),
            ("pending", date(2026, 1, 5), date(2029, 1, 4)),
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(INSERT, _row(status, signed, ends))
    finally:
        engine.dispose()

    assert tuple(kept) == ("active", date(2025, 3, 1), date(2028, 2, 29))
