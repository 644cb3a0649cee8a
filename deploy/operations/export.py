"""``alliance export FOLDER``: the program's data as CSV and JSON files, made by the domain
functions the staff pages' exports use, for the top office's Coordinator (the operator acts
as the system itself; what a Coordinator may read, and how, stays the domain's rule):

- alliances.csv: review's alliances (services/review/alliances/domain.py ``export_rows``);
- reports.csv: every report and where it stands (reporting's figures ``export_rows``, the
  Coordinator's reports.csv);
- activities.csv: one row per activity of each report's latest submitted version (figures
  ``activity_export_rows``, the Coordinator's activities.csv);
- evaluations.csv: every annual evaluation, one row per rated requirement
  (services/reporting/evaluations/domain.py ``export_rows``).

Each ``.json`` file holds the same rows as a list of objects keyed by the CSV's header, the
cells as they are (the CSV quotes a cell a spreadsheet would run as a formula).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from deploy.operations.common import Operation, operator, reaching

Rows = list[list[str]]


def _alliances(for_spreadsheet: bool) -> Rows:
    from services.review.alliances import domain
    from services.review.worker import database

    with reaching("review"), database.transaction() as session:
        return domain.export_rows(
            session, acting=operator("export"), for_spreadsheet=for_spreadsheet
        )


def _reports(for_spreadsheet: bool) -> Rows:
    from services.reporting.figures import domain as figures
    from services.reporting.schedules.domain import rules_from_settings
    from services.reporting.worker import database

    with reaching("reporting"), database.transaction() as session:
        return figures.export_rows(
            session,
            acting=operator("export"),
            now=datetime.now(UTC),
            rules=rules_from_settings(),
            for_spreadsheet=for_spreadsheet,
        )


def _activities(for_spreadsheet: bool) -> Rows:
    from services.reporting.figures import domain as figures
    from services.reporting.worker import database

    with reaching("reporting"), database.transaction() as session:
        return figures.activity_export_rows(
            session, acting=operator("export"), for_spreadsheet=for_spreadsheet
        )


def _evaluations(for_spreadsheet: bool) -> Rows:
    from services.reporting.evaluations import domain as evaluations
    from services.reporting.worker import database
    from shared.config import load_settings

    with reaching("reporting"), database.transaction() as session:
        return evaluations.export_rows(
            session,
            acting=operator("export"),
            timezone=load_settings().agency_timezone,
            for_spreadsheet=for_spreadsheet,
        )


DATASETS: dict[str, Callable[[bool], Rows]] = {
    "alliances": _alliances,
    "reports": _reports,
    "activities": _activities,
    "evaluations": _evaluations,
}


def as_objects(rows: Rows) -> list[dict[str, str]]:
    """The rows after the header as objects keyed by the header."""
    header, *body = rows
    return [dict(zip(header, row, strict=False)) for row in body]


@click.command(cls=Operation)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "formats",
    type=click.Choice(["csv", "json"]),
    multiple=True,
    help="csv or json (give both for both, the default).",
)
def export(folder: Path, formats: tuple[str, ...]) -> None:
    """Write the program's data into FOLDER: alliances, reports, report activities and
    evaluations, each as CSV (opens in a spreadsheet) and JSON. Files of the same names are
    replaced. They hold the partners' contacts: share them as the Coordinator would."""
    from services.reporting.worker import database as reporting_database
    from services.review.worker import database as review_database
    from shared.spreadsheets import to_csv

    chosen = set(formats or ("csv", "json"))
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    try:
        with click.progressbar(
            list(DATASETS.items()),
            label="[alliance] exporting",
            file=sys.stderr,
            item_show_func=lambda item: item[0] if item else None,
        ) as bar:
            for name, rows_of in bar:
                if "csv" in chosen:
                    rows = rows_of(True)
                    (folder / f"{name}.csv").write_bytes(to_csv(rows))
                if "json" in chosen:
                    rows = rows_of(False)
                    text = json.dumps(as_objects(rows), ensure_ascii=False, indent=1)
                    (folder / f"{name}.json").write_text(text + "\n", encoding="utf-8")
                counts[name] = len(rows) - 1
    finally:
        review_database.dispose()
        reporting_database.dispose()
    kinds = " and ".join(kind.upper() for kind in ("csv", "json") if kind in chosen)
    click.echo(
        f"[alliance] exported into {folder} as {kinds}: "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
    )
