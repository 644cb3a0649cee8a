"""The annual evaluation at each agreement year's end.

- ``REQUIREMENTS``: the alliance's fundamental requirements, defined here only. The program
  documents (/work/shared/program-docs) name no list of them, so these follow the brief's
  list: the implementation team meets, the work plan is current, reports come on time,
  outreach and training goals advance, the agency reviews products before release.
- ``RATINGS``: Meets, Meets in part, Did not meet, Not applicable; a justification is
  required unless Not applicable.
- ``evaluation_of``: any staff member reads an evaluation (or its absence) and the year's
  activity roll-up, but one who declared a conflict of interest with the partner
  (``Forbidden``: people.py ``check_may_read``).
- ``export_rows``: every evaluation as CSV rows, one per rated requirement: the Coordinator's
  (every alliance of their offices) or a liaison's (their own alliances); a partner hidden by
  a conflict is left out, and a last row says so (``figures.domain.note_row``).
- ``record_evaluation`` and ``share_evaluation``: the alliance's liaison or the Coordinator
  (``Forbidden`` otherwise, nothing stored). Sharing records ``shared_at`` and, the first
  time only, adds ``evaluation.shared`` to the outbox in the same transaction (notify mails
  the ratings to the partner's contact with a copy to the liaison); sharing again sends
  nothing more.

Agreement year ``year`` (1, 2, ...) of term ``term`` runs from the term's start plus
``year - 1`` years to the day before the start plus ``year`` years (the last ends with the
term). Term 0 starts on the signing date; a renewal's term starts with its first report
period. The roll-up reads the latest submitted version of the term's reports whose periods
lie inside the year (``figures.domain.latest_versions``: no quarterly report counted twice
beside an annual one).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.reporting.alliances.models import Alliance
from services.reporting.evaluations.models import Evaluation
from services.reporting.figures.domain import (
    ACTIVITY_SECTIONS,
    ActivityRow,
    CsvLabels,
    activity_rows,
    latest_versions,
    note_row,
    term_label,
)
from services.reporting.people import (
    check_may_read,
    check_no_conflict,
    hidden_from,
    is_liaison_of,
    readable_alliances,
)
from services.reporting.reports.models import Report
from shared.dates import add_years
from shared.domain import Acting, Forbidden, Invalid, NotFound
from shared.events import new_event
from shared.outbox import Outbox
from shared.spreadsheets import excel_safe, plain

REQUIREMENTS: dict[str, str] = {
    "team_meets": "The implementation team meets regularly",
    "work_plan": "The work plan is kept current",
    "reports_on_time": "Reports are submitted on time",
    "outreach_goals": "Outreach and communication goals are advanced",
    "training_goals": "Training and education goals are advanced",
    "products_reviewed": "Products are reviewed by the agency before release",
}
RATINGS: dict[str, str] = {
    "meets": "Meets",
    "meets_in_part": "Meets in part",
    "did_not_meet": "Did not meet",
    "not_applicable": "Not applicable",
}
JUSTIFICATION_REQUIRED = "Explain this rating (required unless Not applicable)."


@dataclass(frozen=True)
class AgreementYear:
    term: int
    year: int
    start: date
    end: date


@dataclass(frozen=True)
class RollupLine:
    section: str
    emphasis_area: str
    rows: int
    reached: int


@dataclass(frozen=True)
class EvaluationPage:
    alliance: Alliance
    period: AgreementYear
    evaluation: Evaluation | None
    rollup: list[RollupLine]
    reports: list[Report]  # whose latest submitted version the roll-up read
    may_record: bool


def may_record(acting: Acting, alliance: Alliance) -> bool:
    """The alliance's liaison or the Coordinator, unless they declared a conflict of interest
    with the partner."""
    if hidden_from(acting, alliance.partner_name):
        return False
    return acting.is_coordinator or is_liaison_of(acting, alliance)


def _alliance(session: Session, alliance_id: uuid.UUID) -> Alliance:
    alliance = session.get(Alliance, alliance_id)
    if alliance is None:
        raise NotFound("No such alliance.")
    return alliance


# No term runs longer than this many years; a larger year is no agreement year.
MAX_AGREEMENT_YEAR = 100


def agreement_year(session: Session, alliance: Alliance, *, term: int, year: int) -> AgreementYear:
    """The dates of agreement year ``year`` of term ``term`` (``NotFound`` outside the term)."""
    if not 1 <= year <= MAX_AGREEMENT_YEAR:  # before add_years, which fails past year 9999
        raise NotFound("No such agreement year.")
    bounds = session.execute(
        select(func.min(Report.period_start), func.max(Report.period_end)).where(
            Report.alliance_id == alliance.id, Report.term == term
        )
    ).one()
    if term == 0:
        start, end = alliance.signing_date, bounds[1] or alliance.ends_on
    elif bounds[0] is not None:
        start, end = bounds[0], bounds[1]
    else:
        raise NotFound("No such term.")
    year_start = add_years(start, year - 1)
    if year_start > end:
        raise NotFound("No such agreement year.")
    return AgreementYear(
        term, year, year_start, min(add_years(start, year) - timedelta(days=1), end)
    )


def rollup(rows: list[ActivityRow]) -> list[RollupLine]:
    """Activity rows and people reached by section (form order) and emphasis area."""
    counted: Counter[tuple[str, str]] = Counter()
    reached: Counter[tuple[str, str]] = Counter()
    for row in rows:
        counted[(row.section, row.emphasis_area)] += 1
        reached[(row.section, row.emphasis_area)] += row.number_reached
    keys = sorted(counted, key=lambda key: (ACTIVITY_SECTIONS.index(key[0]), key[1]))
    return [
        RollupLine(section, area, counted[(section, area)], reached[(section, area)])
        for section, area in keys
    ]


def year_activities(
    session: Session, alliance: Alliance, period: AgreementYear
) -> tuple[list[Report], list[ActivityRow]]:
    versions = [
        (report, owner, version)
        for report, owner, version in latest_versions(session, alliance_id=alliance.id)
        if report.term == period.term
        and period.start <= report.period_start
        and report.period_end <= period.end
    ]
    return [report for report, _owner, _version in versions], activity_rows(versions)


def find_evaluation(
    session: Session, *, alliance_id: uuid.UUID, term: int, year: int
) -> Evaluation | None:
    return session.scalars(
        select(Evaluation).where(
            Evaluation.alliance_id == alliance_id,
            Evaluation.term == term,
            Evaluation.year == year,
        )
    ).one_or_none()


def evaluation_of(
    session: Session, *, acting: Acting, alliance_id: uuid.UUID, term: int, year: int
) -> EvaluationPage:
    """The evaluation of an agreement year (``None`` until recorded) and the year's activity
    roll-up. Any staff member but one in conflict with the partner."""
    alliance = _alliance(session, alliance_id)
    check_may_read(acting, alliance)
    period = agreement_year(session, alliance, term=term, year=year)
    reports, rows = year_activities(session, alliance, period)
    return EvaluationPage(
        alliance=alliance,
        period=period,
        evaluation=find_evaluation(session, alliance_id=alliance_id, term=term, year=year),
        rollup=rollup(rows),
        reports=reports,
        may_record=may_record(acting, alliance),
    )


def check_ratings(ratings: dict[str, dict[str, str]]) -> None:
    """Every requirement rated; a justification unless Not applicable (``Invalid``, keyed
    ``<requirement>_rating`` / ``<requirement>_justification`` as the form names them)."""
    errors: dict[str, list[str]] = {}
    for key in REQUIREMENTS:
        given = ratings.get(key) or {}
        rating = given.get("rating")
        if rating not in RATINGS:
            errors[f"{key}_rating"] = ["Choose a rating."]
        elif rating != "not_applicable" and not str(given.get("justification") or "").strip():
            errors[f"{key}_justification"] = [JUSTIFICATION_REQUIRED]
    if errors:
        raise Invalid(errors)


def _permitted(session: Session, acting: Acting, alliance_id: uuid.UUID) -> Alliance:
    alliance = _alliance(session, alliance_id)
    check_no_conflict(acting, alliance.partner_name)
    check_may_read(acting, alliance)  # of another office: not theirs to evaluate
    if not may_record(acting, alliance):
        raise Forbidden("Only the alliance's liaison or the Coordinator evaluates it.")
    return alliance


def record_evaluation(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    term: int,
    year: int,
    ratings: dict[str, dict[str, str]],
    at: datetime,
) -> Evaluation:
    """Record (or correct) the evaluation of an agreement year. A correction keeps
    ``shared_at``: sharing records when the partner was first told."""
    alliance = _permitted(session, acting, alliance_id)
    agreement_year(session, alliance, term=term, year=year)
    check_ratings(ratings)
    kept: dict[str, Any] = {
        key: {
            "rating": ratings[key]["rating"],
            "justification": str(ratings[key].get("justification") or "").strip(),
        }
        for key in REQUIREMENTS
    }
    by = {"id": str(acting.staff_id), "name": acting.name, "email": acting.email}
    evaluation = find_evaluation(session, alliance_id=alliance_id, term=term, year=year)
    if evaluation is None:
        evaluation = Evaluation(alliance_id=alliance_id, term=term, year=year)
        session.add(evaluation)
    evaluation.ratings, evaluation.recorded_by, evaluation.recorded_at = kept, by, at
    session.flush()
    return evaluation


def shared_payload(
    alliance: Alliance, evaluation: Evaluation, period: AgreementYear
) -> dict[str, Any]:
    """``evaluation.shared``'s payload: the ratings in the requirements' order, as labels."""
    ratings = [
        {
            "requirement": label,
            "rating": RATINGS.get(given.get("rating", ""), given.get("rating", "")),
            "justification": given.get("justification") or "",
        }
        for key, label in REQUIREMENTS.items()
        if (given := evaluation.ratings.get(key))
    ]
    return {
        "evaluation_id": evaluation.id,
        "alliance_id": alliance.id,
        "reference": alliance.reference,
        "partner_name": alliance.partner_name or alliance.reference,
        "contact": alliance.contact,
        "liaison": alliance.liaison,
        "term": evaluation.term,
        "year": evaluation.year,
        "period_start": period.start,
        "period_end": period.end,
        "ratings": ratings,
        "shared_at": evaluation.shared_at,
    }


def share_evaluation(
    session: Session,
    *,
    acting: Acting,
    alliance_id: uuid.UUID,
    term: int,
    year: int,
    at: datetime,
    outbox: Outbox | None = None,
) -> Evaluation:
    """Mark the evaluation shared with the partner and, the first time only, send it
    (``evaluation.shared`` through ``outbox``, reporting's own when not given). Sharing again
    changes nothing and sends nothing."""
    alliance = _permitted(session, acting, alliance_id)
    evaluation = find_evaluation(session, alliance_id=alliance_id, term=term, year=year)
    if evaluation is None:
        raise NotFound("Record the evaluation before sharing it.")
    if evaluation.shared_at is None:
        evaluation.shared_at = at
        session.flush()  # the evaluation's id, for the event
        if outbox is None:
            from services.reporting.worker import outbox as reporting_outbox

            outbox = reporting_outbox
        period = agreement_year(session, alliance, term=term, year=year)
        payload = shared_payload(alliance, evaluation, period)
        outbox.add(session, new_event("evaluation.shared", producer="reporting", payload=payload))
    session.flush()
    return evaluation


# -- the export -------------------------------------------------------------------------------

CSV_HEADER = (
    "alliance reference",
    "partner",
    "division",
    "term",
    "agreement year",
    "requirement",
    "rating",
    "justification",
    "recorded by",
    "recorded at",
    "shared at",
)


def export_rows(
    session: Session,
    *,
    acting: Acting,
    timezone: Any,
    labels: CsvLabels | None = None,
    for_spreadsheet: bool = True,
) -> list[list[str]]:
    """Every evaluation as rows (header first), one per rated requirement in the
    requirements' order: every alliance of their offices for the Coordinator, their own for a
    liaison; a partner hidden by a conflict is left out, and a last row says so. Times in the
    agency's ``timezone``; cells formula-safe unless not ``for_spreadsheet`` (JSON)."""
    if not acting.has_any_role("coordinator", "liaison"):
        raise Forbidden("The export is for liaisons and the Coordinator.")
    labels = labels or CsvLabels.of_agency()
    cell = excel_safe if for_spreadsheet else plain
    found = session.execute(
        select(Evaluation, Alliance)
        .join(Alliance, Alliance.id == Evaluation.alliance_id)
        .order_by(Alliance.reference, Evaluation.term, Evaluation.year)
    ).all()
    readable = readable_alliances(
        acting,
        {
            alliance.id: alliance
            for _evaluation, alliance in found
            if acting.is_coordinator or is_liaison_of(acting, alliance)
        }.values(),
    )

    def when(moment: datetime | None) -> str:
        return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""

    out = [list(CSV_HEADER)]
    for evaluation, alliance in found:
        if not readable.shows(alliance):
            continue
        for key, requirement in REQUIREMENTS.items():
            given = evaluation.ratings.get(key)
            if not given:
                continue
            rating = str(given.get("rating") or "")
            out.append(
                [
                    cell(value)
                    for value in (
                        alliance.reference,
                        alliance.partner_name,
                        labels.division(alliance.division),
                        term_label(evaluation.term),
                        evaluation.year,
                        requirement,
                        RATINGS.get(rating, rating),
                        given.get("justification") or "",
                        (evaluation.recorded_by or {}).get("name")
                        or (evaluation.recorded_by or {}).get("email")
                        or "",
                        when(evaluation.recorded_at),
                        when(evaluation.shared_at),
                    )
                ]
            )
    return out + note_row(readable.left_out, len(CSV_HEADER))
