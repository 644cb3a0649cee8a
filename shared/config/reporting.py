"""The settings of the report schedule."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    BOOLEAN,
    DEFAULT_REMINDER_DAYS,
    REMINDER_DAYS,
    reminder_schedule,
    whole,
)

REPORTING = Section(
    "Reporting",
    'The report schedule (SPEC.md, "Report schedule: the rules"): every term\'s reports, '
    "their due dates and reminders. Dates and reminder times are in `AGENCY_TIMEZONE`.",
)
REPORT_QUARTERLY: Setting[bool | None] = REPORTING.add(
    Setting(
        "REPORT_QUARTERLY",
        BOOLEAN,
        None,
        "alliances report every fiscal quarter as well as every agreement year",
        default_doc="`true` (federal profile: `false`)",
    )
)
REPORT_ANNUAL = REPORTING.add(
    Setting("REPORT_ANNUAL", BOOLEAN, True, "alliances report every agreement year")
)
REPORT_FISCAL_YEAR_START_MONTH: Setting[int | None] = REPORTING.add(
    Setting(
        "REPORT_FISCAL_YEAR_START_MONTH",
        whole("", 1, 12),
        None,
        "the month (1 = January) the agency's fiscal year starts; quarters follow it",
        default_doc="`1`: calendar quarters (federal profile: `10`, October)",
    )
)
REPORT_QUARTERLY_DUE_DAYS = REPORTING.add(
    Setting(
        "REPORT_QUARTERLY_DUE_DAYS",
        whole("days", 0),
        30,
        "a quarterly report is due this long after its quarter's last day",
    )
)
REPORT_ANNUAL_DUE_DAYS = REPORTING.add(
    Setting(
        "REPORT_ANNUAL_DUE_DAYS",
        whole("days", 0),
        60,
        "an annual report is due this long after its agreement year's last day",
    )
)
REPORT_REMINDER_DAYS = REPORTING.add(
    Setting(
        "REPORT_REMINDER_DAYS",
        REMINDER_DAYS,
        reminder_schedule(DEFAULT_REMINDER_DAYS),
        "a report's reminders, each a kind and its day counted from the due date; `due_soon`, "
        "`due` and `overdue` go to the partner contact (copy to the liaison), `escalated` to "
        "the Coordinator",
        default_doc=f"`{DEFAULT_REMINDER_DAYS}`",
    )
)
REPORT_REMINDER_HOUR = REPORTING.add(
    Setting(
        "REPORT_REMINDER_HOUR",
        whole("", 0, 23),
        9,
        "the hour, in the agency's time zone, a reminder goes out on its day",
    )
)
REPORT_REVISION_DAYS = REPORTING.add(
    Setting(
        "REPORT_REVISION_DAYS",
        whole("days", 1),
        14,
        "a revision request gives the report a new due date this long after the request",
    )
)

REPORT_LINK_DAYS = REPORTING.add(
    Setting(
        "REPORT_LINK_DAYS",
        whole("days", 1),
        400,
        "how long the partner's signed link to a report's form works",
    )
)
