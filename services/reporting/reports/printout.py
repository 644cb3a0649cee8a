"""The printable report: one submitted version as a tagged PDF (PDF/UA-1), for staff
(``/staff/reports/<id>/report.pdf``, in English) and for the partner through its link
(``/reports/<token>/report.pdf``, in the partner's language: shared/i18n.py).

WeasyPrint lays out a page made for paper (templates/reports/printout.html) and tags it:
headings, lists and tables with their header cells reach a screen reader as they read on
paper, in reading order, with the document's title and language. It fetches nothing: the
page carries its own style, and a URL in it (there is none) would be refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Response, render_template
from flask_babel import gettext

from services.reporting.alliances.models import Alliance
from services.reporting.reports import content as report_content
from services.reporting.reports.models import Report, ReportReview, ReportVersion
from shared.config import load_agency_profile, load_settings
from shared.web import unavailable

log = logging.getLogger(__name__)


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"a printout fetches nothing ({url[:80]})")


def filename(report: Report, alliance: Alliance, version: ReportVersion) -> str:
    """``<reference>-annual-report-<period start>-v<n>.pdf``: ASCII, no spaces."""
    safe = "".join(
        c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in alliance.reference
    )
    period = report.period_start.isoformat()
    return f"{safe}-{report.kind}-report-{period}-v{version.number}.pdf"


def page_html(
    *,
    report: Report,
    alliance: Alliance,
    version: ReportVersion,
    reviews: Sequence[ReportReview],
    printed_at: datetime,
) -> str:
    """The page WeasyPrint lays out (also what a test reads before the PDF)."""
    profile = load_agency_profile()
    timezone = load_settings().agency_timezone
    partner = alliance.partner_name or alliance.reference
    if report.kind == "annual":
        title = gettext("Annual report of %(partner)s", partner=partner)
    elif report.kind == "quarterly":
        title = gettext("Quarterly report of %(partner)s", partner=partner)
    else:
        title = gettext("Report of %(partner)s", partner=partner)
    content = report_content.for_display(version.content)
    return render_template(
        "reports/printout.html",
        title=title,
        agency=profile.name,
        report=report,
        alliance=alliance,
        version=version,
        reviews=[review for review in reviews if review.version <= version.number],
        content=content,
        sections=report_content.SECTIONS,
        fields=report_content.FIELDS,
        goal_categories=report_content.narrated(
            content,
            report_content.goal_categories_of(alliance, profile.goal_categories),
            profile.goal_categories,
        ),
        emphasis_areas={**profile.priority_areas, **profile.hazards},
        timezone=timezone,
        printed_at=printed_at.astimezone(timezone),
    )


def report_pdf(
    *,
    report: Report,
    alliance: Alliance,
    version: ReportVersion,
    reviews: Sequence[ReportReview],
    printed_at: datetime,
) -> Response:
    """The tagged PDF of ``version`` of the report, as the answer to a download."""
    try:  # imported on use: it loads Pango, a system library only this needs
        from weasyprint import HTML
    except (ImportError, OSError) as err:
        log.error("printable report unavailable: WeasyPrint did not load (%s)", err)
        return unavailable(
            "the PDF renderer (WeasyPrint with the Pango system library)",
            stored="Nothing was changed.",
        )
    html = page_html(
        report=report, alliance=alliance, version=version, reviews=reviews, printed_at=printed_at
    )
    document = HTML(string=html, url_fetcher=_fetch_nothing)
    pdf = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    name = filename(report, alliance, version)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            # inline: the browser shows it, and prints or saves it under this name
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
