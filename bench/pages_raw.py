"""The baseline of row 7: each staff page's main query, run raw, its rows rendered with a
trivial template. A minimal Flask app on the services' databases (``*_DATABASE_URL``), served
by gunicorn with the same settings as the pages (bench/pages.py); no sign-in, no permissions,
no layout: what a page costs when it does nothing but ask the database and print the rows."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from shared.config import database_url_variable
from shared.db import sqlalchemy_url

ROWS = """<!doctype html><title>{{ title }}</title><table>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>"""

# Each page's main query, as the page asks it of the national Coordinator (everything);
# several, separated by ";", where the page's figures come from several.
QUERIES = {
    # The queue: how many open proposals, and the first page of 50 of them in priority order
    # (services/review/queue ``queue_page``).
    "queue": (
        "review",
        """SELECT reference, organization_name, organization_type, state, office, status,
               score + adjustment, submitted_at, assigned_to, score_lines,
               (SELECT count(*) FROM queued_proposals
                WHERE status IN ('waiting', 'in_review', 'resubmitted'))
           FROM queued_proposals WHERE status IN ('waiting', 'in_review', 'resubmitted')
           ORDER BY score + adjustment DESC, submitted_at, reference
           LIMIT 50""",
    ),
    # The alliance list: every alliance by partner name (review list_alliances).
    "alliances": (
        "review",
        """SELECT reference, partner_name, status, office, division, liaison_name,
               signing_date, ends_on
           FROM alliances ORDER BY partner_name, id""",
    ),
    # The reports list (the work list): reports waiting for review or for the partner, with
    # their alliances, by due date (reporting figures ``_lines``).
    "reports": (
        "reporting",
        """SELECT r.due_date, a.reference, a.partner_name, r.kind, r.status, r.period_start,
               r.period_end, a.liaison_email
           FROM reports r JOIN alliances a ON a.id = r.alliance_id
           WHERE r.status IN ('submitted', 'scheduled', 'due_soon', 'due', 'overdue',
                              'revision_requested')
           ORDER BY r.due_date, a.reference, r.kind""",
    ),
    # The dashboard: what its figures are counted from (reporting figures ``dashboard``): the
    # alliances, the reports' due dates and statuses, the latest version of each submitted
    # report with its content, and the proposals by state and status.
    "dashboard": (
        "reporting",
        """SELECT id, partner_name, division, office, status, signing_date, ends_on,
               liaison_email, liaison FROM alliances ORDER BY reference;
           SELECT alliance_id, due_date, status, submitted_at FROM reports
           WHERE status <> 'cancelled';
           SELECT r.id, r.alliance_id, r.kind, r.period_start, r.period_end, v.number, v.content
           FROM reports r JOIN report_versions v ON v.report_id = r.id
           JOIN (SELECT report_id, max(number) AS number FROM report_versions
                 GROUP BY report_id) l ON l.report_id = v.report_id AND l.number = v.number
           WHERE r.status <> 'cancelled';
           SELECT state, status, count(*) FROM proposals GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    # The message log: how many, and the newest page of 50 (notify log_page).
    "log": (
        "notify",
        """SELECT m.reference, m.to_address, m.subject, m.status, m.template,
               coalesce(m.sent_at, m.created_at), (SELECT count(*) FROM messages)
           FROM messages m ORDER BY coalesce(m.sent_at, m.created_at) DESC, m.id
           LIMIT 50""",
    ),
}


def create_app() -> Flask:
    import os

    engines: dict[str, Engine] = {}

    def engine(service: str) -> Engine:
        if service not in engines:
            url = os.environ[database_url_variable(service)]
            engines[service] = create_engine(sqlalchemy_url(url), pool_size=5)
        return engines[service]

    app = Flask(__name__)

    def page(name: str) -> Any:
        service, sql = QUERIES[name]
        rows: list[Any] = []
        with engine(service).connect() as conn:
            for statement in sql.split(";"):
                found: list[Any] = list(conn.execute(text(statement)).all())
                rows = rows or found  # the first's rows shown, the others' read and counted
                rows.append(("rows", len(found)))
        return render_template_string(ROWS, title=name, rows=rows)

    for name in QUERIES:
        app.add_url_rule(f"/{name}", name, lambda name=name: page(name))
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    return app
