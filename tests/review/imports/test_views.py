"""The Coordinator's import page, /staff/alliances/import (services/review/imports/views.py),
and the operator's command ``alliance import alliances``: the same checks, the same report."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from deploy.cli import main as alliance
from services.review import create_app
from services.review.alliances.models import Alliance
from services.review.worker import database
from tests.review.factories import staff_member
from tests.review.imports.test_domain import file_of, row
from tests.shared.factories import acting, signed_in

pytestmark = pytest.mark.integration

COORDINATOR = acting("nia@agency.example", "coordinator", name="Nia National")


@pytest.fixture(autouse=True)
def federal(monkeypatch: pytest.MonkeyPatch, redis_client: Any, clean_databases: Any) -> None:
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    with database.transaction() as session:
        staff_member("lee@agency.example", "liaison", name="Lee Liaison", session=session)


def stored() -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Alliance)) or 0)


def send(client: Any, raw: bytes, action: str) -> Any:
    return client.post(
        "/staff/alliances/import",
        data={"file": (io.BytesIO(raw), "alliances.csv"), "action": action},
        content_type="multipart/form-data",
    )


def test_the_page_checks_then_imports_and_lists_problems_by_row_and_column() -> None:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    client = signed_in(app, COORDINATOR)
    page = client.get("/staff/alliances/import").get_data(as_text=True)
    assert "agreement_number" in page
    template = client.get("/staff/alliances/import/template.csv")
    assert template.headers["Content-Disposition"].startswith("attachment")

    checked = send(client, file_of(row()), "check")
    assert checked.status_code == 200
    assert "alliances.csv is ready to import" in checked.get_data(as_text=True)
    assert stored() == 0
    done = send(client, file_of(row()), "import")
    assert "1 alliance imported" in done.get_data(as_text=True)
    assert stored() == 1

    bad = send(client, file_of(row(agreement_number="B", office="Atlantis")), "import")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "1 problem found: nothing was stored" in text
    assert "<td>2</td><td>Office</td>" in text
    assert stored() == 1

    # The size is refused from the request's length, before the body is read.
    too_big = client.post(
        "/staff/alliances/import",
        data=b"a," * (3 * 1024 * 1024),
        content_type="multipart/form-data; boundary=x",
    )
    assert too_big.status_code == 413
    assert "import at most 5 MB at a time" in too_big.get_data(as_text=True)
    nothing = client.post("/staff/alliances/import", data={"action": "check"})
    assert nothing.status_code == 422
    assert "Choose the CSV file to import." in nothing.get_data(as_text=True)


def test_only_the_coordinator_reaches_the_page() -> None:
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    reviewer = signed_in(app, acting("rey@agency.example", "reviewer"))
    assert reviewer.get("/staff/alliances/import").status_code == 403
    assert reviewer.post("/staff/alliances/import", data={"action": "import"}).status_code == 403
    assert stored() == 0


def test_the_command_checks_imports_and_changes_nothing_the_second_time(tmp_path: Path) -> None:
    good = tmp_path / "alliances.csv"
    good.write_bytes(file_of(row(), row(agreement_number="OSHA-R5-2024-002", office="area_toledo")))
    runner = CliRunner()
    dry = runner.invoke(alliance, ["import", "alliances", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "importing it adds 2 alliances (nothing stored: --dry-run)" in dry.output
    assert stored() == 0
    done = runner.invoke(alliance, ["import", "alliances", str(good)])
    assert done.exit_code == 0, done.output
    assert "imported 2 alliances" in done.output
    again = runner.invoke(alliance, ["import", "alliances", str(good)])
    assert "imported 0 alliances; 2 already here, left as they are" in again.output
    assert stored() == 2

    bad = tmp_path / "bad.csv"
    bad.write_bytes(file_of(row(agreement_number="X", signing_date="yesterday")))
    refused = runner.invoke(alliance, ["import", "alliances", str(bad)])
    assert refused.exit_code == 1
    assert "Row 2, Signing date: 'yesterday' is not a date" in refused.output
    assert "1 problem(s) in bad.csv: nothing was stored" in refused.output
    missing = runner.invoke(alliance, ["import", "alliances", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2
    assert stored() == 2
