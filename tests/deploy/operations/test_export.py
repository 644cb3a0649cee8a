"""``alliance export FOLDER``: the program's alliances, reports, report activities and
evaluations as CSV and JSON, made by the domain's export functions for the top office's
Coordinator; a cell a spreadsheet would run is quoted in the CSV and as it is in the JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from deploy.cli import main as alliance
from deploy.embedded import free_port
from services.reporting.evaluations import domain as evaluations
from services.reporting.reports.models import Report
from services.reporting.worker import database as reporting_database
from tests.reporting.factories import run_reporting_task
from tests.review.factories import alliance_signed_event, signed_alliance
from tests.shared.factories import COORDINATOR

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_databases")]

PARTNER = "=Roofers of Michigan"


def run(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(alliance, list(args), env=env or None)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def read_csv(path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def seed() -> tuple[str, int]:
    """An alliance in review, its copy and reports in reporting, its first year evaluated."""
    reviewed = signed_alliance(PARTNER, signing_date=date(2025, 3, 1))
    signed = alliance_signed_event(
        PARTNER, signing_date=date(2025, 3, 1), ends_on=date(2027, 2, 28)
    )
    run_reporting_task("reporting.alliance_signed", signed)
    with reporting_database.transaction() as session:
        evaluations.record_evaluation(
            session,
            acting=COORDINATOR,
            alliance_id=signed.payload["alliance_id"],
            term=0,
            year=1,
            ratings={
                key: {"rating": "meets", "justification": f"-{key} seen in the reports"}
                for key in evaluations.REQUIREMENTS
            },
            at=datetime(2026, 3, 10, 15, tzinfo=UTC),
        )
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
    return reviewed.reference, reports


def test_export_writes_every_dataset_as_csv_and_json(tmp_path, redis_client):
    reference, reports = seed()
    code, output = run("export", str(tmp_path / "out"))
    assert code == 0, output
    assert output.rstrip().endswith(
        f"exported into {tmp_path / 'out'} as CSV and JSON: 1 alliances, {reports} reports, "
        f"0 activities, {len(evaluations.REQUIREMENTS)} evaluations"
    )
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{name}.{kind}"
        for name in ("alliances", "reports", "activities", "evaluations")
        for kind in ("csv", "json")
    )
    header, row = read_csv(out / "alliances.csv")
    shown = dict(zip(header, row, strict=True))
    assert (shown["agreement number"], shown["partner"], shown["status"]) == (
        reference,
        "'" + PARTNER,  # quoted: a spreadsheet would run it
        "Active",
    )
    assert shown["signing date"] == "2025-03-01"
    [alliance_object] = json.loads((out / "alliances.json").read_text())
    assert alliance_object == {**shown, "partner": PARTNER}

    report_rows = read_csv(out / "reports.csv")
    assert len(report_rows) == reports + 1
    assert [r["partner"] for r in json.loads((out / "reports.json").read_text())] == (
        [PARTNER] * reports
    )
    evaluation_rows = read_csv(out / "evaluations.csv")
    assert [row[5] for row in evaluation_rows[1:]] == list(evaluations.REQUIREMENTS.values())
    assert {row[6] for row in evaluation_rows[1:]} == {"Meets"}
    assert evaluation_rows[1][7] == "'-team_meets seen in the reports"
    first = json.loads((out / "evaluations.json").read_text())[0]
    assert (first["justification"], first["agreement year"], first["recorded at"]) == (
        "-team_meets seen in the reports",
        "1",
        "2026-03-10 11:00 EDT",
    )
    assert read_csv(out / "activities.csv") == [read_csv(out / "activities.csv")[0]]


def test_export_of_one_format_writes_only_it(tmp_path):
    code, output = run("export", str(tmp_path), "--format", "json")
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "activities.json",
        "alliances.json",
        "evaluations.json",
        "reports.json",
    ]
    assert json.loads((tmp_path / "alliances.json").read_text()) == []
    code, output = run("export", str(tmp_path), "--format", "xml")
    assert code == 2
    assert "'xml' is not one of 'csv', 'json'" in output


def test_a_database_that_does_not_answer_is_said_in_one_line(tmp_path):
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/apm_gone"
    code, output = run("export", str(tmp_path), REVIEW_DATABASE_URL=nowhere)
    assert code == 1
    assert output.splitlines()[-1].startswith(
        "Error: could not reach the review database (connection failed"
    )


def test_help():
    code, output = run("export", "--help")
    assert code == 0
    assert "export [OPTIONS] FOLDER\n" in output
