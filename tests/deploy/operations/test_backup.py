"""``alliance backup FOLDER`` and ``alliance restore FOLDER`` on the real PostgreSQL: a system
with data backed up (one pg_dump file per service and a manifest), restored into empty
databases, where every proposal, alliance, report and message is found again; a restore
refused when the targets hold data or a file is damaged (nothing touched then); a code with
newer migrations asks for ``alliance migrate``."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from deploy.cli import main as alliance
from deploy.embedded import free_port
from deploy.operations import backup as backups
from services.intake import proposals
from services.intake.models import Proposal
from services.intake.schemas import ProposalInputSchema
from services.intake.worker import database as intake_database
from services.intake.worker import outbox as intake_outbox
from services.notify.models import Message
from services.reporting.reports.models import Report
from services.review.alliances.models import Alliance
from services.review.queue.models import QueuedProposal
from shared.config import SERVICES, database_url_variable, load_settings
from shared.db import sqlalchemy_url
from shared.testing import example_proposal
from tests.notify.factories import held_decision_message
from tests.reporting.factories import run_reporting_task
from tests.review.factories import alliance_signed_event, signed_alliance
from tests.servers import test_database_name as database_name_of

pytestmark = pytest.mark.integration

# What each service's database is checked for after a restore: its things' key columns.
FOUND_AGAIN: dict[str, tuple[Any, ...]] = {
    "intake": (Proposal.id, Proposal.reference, Proposal.status),
    "review": (Alliance.id, Alliance.reference, Alliance.status),
    "reporting": (Report.id, Report.alliance_id, Report.due_date),
    "notify": (Message.id, Message.to_address, Message.status),
}


def rows_in(url: str, service: str) -> list[tuple[Any, ...]]:
    columns = FOUND_AGAIN[service]
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return sorted(tuple(row) for row in connection.execute(select(*columns)))
    finally:
        engine.dispose()


def queued_proposals(url: str) -> list[Any]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(select(QueuedProposal.proposal_id)).scalars())
    finally:
        engine.dispose()


def run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(alliance, list(args), env=env or None)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def program(clean_databases_for_module: dict[str, str]) -> dict[str, Any]:
    """A system with data in every service: two proposals in intake, a signed alliance (and
    its proposal) in review, its reports in reporting, messages in notify."""
    with intake_database.transaction() as session:
        for name in ("Roofers", "Builders"):
            data = example_proposal()
            data["organization"]["name"] = name
            proposals.submit_proposal(
                session,
                data=ProposalInputSchema().load(data),
                settings=load_settings(),
                outbox=intake_outbox,
            )
    signed_alliance(signing_date=date(2025, 3, 1))
    run_reporting_task(
        "reporting.alliance_signed",
        alliance_signed_event(signing_date=date(2025, 3, 1), ends_on=date(2027, 2, 28)),
    )
    held_decision_message()
    held_decision_message(held=False)
    found = {s: rows_in(url, s) for s, url in clean_databases_for_module.items()}
    assert all(found.values())  # something of everything to find again
    return {"rows": found, "queued": queued_proposals(clean_databases_for_module["review"])}


@pytest.fixture(scope="module")
def backed_up(program: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backups") / "2026-06-01"
    code, output = run("backup", str(folder))
    assert code == 0, output
    return folder


@pytest.fixture
def empty_databases(servers: Any) -> Iterator[Any]:
    """``empty_databases("x")``: the environment naming, for each service, a database
    ``<its test database>_x`` that does not exist yet; all dropped after the test."""
    made: list[str] = []

    def urls(suffix: str) -> dict[str, str]:
        env = {}
        for service in SERVICES:
            name = f"{database_name_of(service)}_{suffix}"
            made.append(name)
            url = make_url(servers.database_url(service)).set(database=name)
            env[database_url_variable(service)] = url.render_as_string(hide_password=False)
        drop(made)
        return env

    def drop(names: list[str]) -> None:
        admin = create_engine(sqlalchemy_url(servers.postgres_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    yield urls
    drop(made)


def database_exists(servers: Any, name: str) -> bool:
    admin = create_engine(sqlalchemy_url(servers.postgres_url))
    try:
        with admin.connect() as connection:
            return bool(
                connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
            )
    finally:
        admin.dispose()


def test_the_backup_holds_a_dump_per_service_and_a_manifest_of_versions_and_heads(
    backed_up, migrated
):
    manifest = json.loads((backed_up / "manifest.json").read_text())
    assert sorted(p.name for p in backed_up.iterdir()) == sorted(
        ["manifest.json", *(f"{s}.dump" for s in SERVICES)]
    )
    assert manifest["format"] == "alliance-program-manager backup"
    assert manifest["app_version"] == backups.app_version() != "unknown"
    for service in SERVICES:
        entry = manifest["services"][service]
        dump = (backed_up / entry["file"]).read_bytes()
        assert dump.startswith(b"PGDMP")  # pg_dump's custom format
        assert (entry["bytes"], entry["sha256"]) == (len(dump), hashlib.sha256(dump).hexdigest())
        assert {entry["alembic_revision"]} == backups.code_heads(service)
        assert entry["database"] == make_url(migrated[service]).database
        server_major = entry["postgresql_server_version"].split(".")[0]
        assert entry["pg_dump_version"].split(".")[0] == server_major
    assert (backed_up / "intake.dump").stat().st_mode & 0o777 == 0o600


def test_restored_into_empty_databases_every_proposal_alliance_report_and_message_is_back(
    backed_up, program, empty_databases
):
    env = empty_databases("restored")
    code, output = run("restore", str(backed_up), **env)
    assert code == 0, output
    assert "[alliance] restored 4 databases from" in output
    assert "run `alliance migrate`" not in output  # the code has no newer migration
    assert "alliance outbox replay SERVICE --since" in output
    for service in SERVICES:
        assert rows_in(env[database_url_variable(service)], service) == program["rows"][service]
    assert queued_proposals(env["REVIEW_DATABASE_URL"]) == program["queued"]

    code, output = run("restore", str(backed_up), **env)  # they hold data now
    assert code == 1
    assert "nothing was restored: the intake database is not empty (" in output
    assert "or give --force to replace what they hold" in output


def test_a_damaged_file_is_refused_before_any_database_is_touched(
    backed_up, tmp_path, empty_databases, servers
):
    copy = tmp_path / "copy"
    shutil.copytree(backed_up, copy)
    dump = copy / "reporting.dump"
    damaged = bytearray(dump.read_bytes())
    damaged[-10] ^= 0xFF
    dump.write_bytes(bytes(damaged))
    env = empty_databases("damaged")
    code, output = run("restore", str(copy), **env)
    assert code == 1
    assert f"{dump} does not match the manifest (size or SHA-256): the backup is damaged" in output
    assert not database_exists(servers, f"{database_name_of('intake')}_damaged")

    (copy / "manifest.json").unlink()
    code, output = run("restore", str(copy), **env)
    assert code == 1
    assert "holds no manifest.json: it is not a backup `alliance backup` finished" in output


def test_a_code_with_newer_migrations_asks_for_alliance_migrate_after_the_restore(
    backed_up, empty_databases, monkeypatch
):
    heads = backups.code_heads
    monkeypatch.setattr(
        backups,
        "code_heads",
        lambda service: {"9999_newer"} if service == "notify" else heads(service),
    )
    code, output = run("restore", str(backed_up), **empty_databases("older"))
    assert code == 0, output
    assert (
        "[alliance] this version has newer migrations for notify: run `alliance migrate` "
        "before starting the system" in output
    )


def test_a_backup_from_a_newer_version_is_refused(backed_up, tmp_path, empty_databases):
    copy = tmp_path / "copy"
    shutil.copytree(backed_up, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["services"]["review"]["alembic_revision"] = "9999_from_the_future"
    manifest["app_version"] = "9.0.0"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    code, output = run("restore", str(copy), **empty_databases("future"))
    assert code == 1
    assert (
        "the backup's review database is at revision 9999_from_the_future, which this version "
        in output
    )
    assert "it was made by a newer one (9.0.0); restore with that version" in output


def test_backup_wants_a_new_or_empty_folder(tmp_path):
    (tmp_path / "something").write_text("kept")
    code, output = run("backup", str(tmp_path))
    assert code == 1
    assert "is not an empty folder: back up into a new one" in output
    assert [p.name for p in tmp_path.iterdir()] == ["something"]


def test_a_database_that_does_not_answer_is_said_in_one_line_and_leaves_no_backup(
    tmp_path, migrated
):
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/apm_gone"
    code, output = run("backup", str(tmp_path / "b"), NOTIFY_DATABASE_URL=nowhere)
    assert code == 1
    assert "Error: could not reach the notify database (connection failed" in output
    assert list((tmp_path / "b").iterdir()) == []  # the three dumps made before are gone


def test_help():
    for command in ("backup", "restore"):
        code, output = run(command, "--help")
        assert code == 0
        assert f"{command} [OPTIONS] FOLDER\n" in output
