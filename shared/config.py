"""Every setting the system takes from its environment, declared once and read once.

Each ``Setting`` below names its environment variable, the parser that turns its text into a
value, its default, whether ``APP_ENV=production`` requires it, and what it does.
``load_settings()`` reads and checks every one of them once per process (each web app in
``shared.web.init_app``, each worker and the beat through ``shared.celery_app``, each
``alliance`` command) into one ``Settings`` object. A bad value stops the process with a
``ConfigurationError`` that names each bad variable and what it accepts; nothing falls back to
a default silently. Development gets safe defaults; production fails loudly when a secret or
an address it must not guess is missing.

docs/configuration.md is generated from these declarations
(``python -m shared.config docs/configuration.md``); a test keeps the two in step.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.agency import (
    DEFAULT_ACTIVITIES,
    DEFAULT_HAZARDS,
    DEFAULT_PRIORITY_AREAS,
    FEDERAL_OFFICES,
    FISCAL_YEAR_START_MONTH,
    PROFILES,
    QUARTERLY_REPORTS,
    STATE_PLAN_DIVISIONS,
    AgencyProfile,
    Choices,
)

log = logging.getLogger(__name__)

SERVICES: tuple[str, ...] = ("intake", "review", "reporting", "notify")

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DOCUMENT = "docs/configuration.md"

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ConfigurationError(RuntimeError):
    """Settings are missing or malformed; the message names each variable and what it
    accepts."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = f"{problems[0]} (every setting: {DOCUMENT})"
        else:
            listed = "".join(f"\n  {problem}" for problem in problems)
            message = f"{len(problems)} settings are wrong (every setting: {DOCUMENT}):{listed}"
        super().__init__(message)


# -- parsers: from a variable's text to its value ----------------------------------------------


class Refused(ValueError):
    """What exactly is wrong with a value, beyond what its parser accepts."""


@dataclass(frozen=True)
class Parser(Generic[T_co]):
    """``convert`` raises ValueError for text it does not take (``Refused`` to say why);
    ``accepts`` tells people what it takes."""

    accepts: str
    convert: Callable[[str], T_co]


def _as_is(raw: str) -> str:
    return raw


def text(accepts: str = "any text") -> Parser[str]:
    return Parser(accepts, _as_is)


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


BOOLEAN = Parser("true or false (or 1/0, yes/no, on/off)", _boolean)


def whole(unit: str, minimum: int, maximum: int | None = None) -> Parser[int]:
    number = f"a whole number of {unit}," if unit else "a whole number"
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
    if not unit and maximum is None:
        number += ","

    def convert(raw: str) -> int:
        value = int(raw)
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(raw)
        return value

    return Parser(f"{number} {bounds}", convert)


def seconds(minimum: float) -> Parser[float]:
    def convert(raw: str) -> float:
        value = float(raw)
        if not value >= minimum or value == float("inf"):  # refuses nan and inf too
            raise ValueError(raw)
        return value

    return Parser(f"a number of seconds, at least {minimum:g}", convert)


def one_of(*choices: str) -> Parser[str]:
    def convert(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return Parser("one of " + ", ".join(choices), convert)


def _time_zone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(raw) from None


TIME_ZONE = Parser("an IANA time zone name such as America/Detroit", _time_zone)


def url(*schemes: str, or_path: bool = False) -> Parser[str]:
    starts = " or ".join(f"{scheme}://" for scheme in schemes)
    accepts = f"a URL starting with {starts}" + (" (or a path starting with /)" if or_path else "")

    def convert(raw: str) -> str:
        if or_path and raw.startswith("/") and not raw.startswith("//"):
            return raw
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not (parts.hostname or parts.scheme == "unix"):
            raise ValueError(raw)
        return raw.rstrip("/") if parts.scheme in ("http", "https") else raw

    return Parser(accepts, convert)


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ValueError(raw) from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise ValueError(raw)
    return raw


DATABASE_URL = Parser(
    "a PostgreSQL URL such as postgresql://user:password@host:5432/database", _database_url
)


def _address(raw: str, *, named: bool) -> str:
    name, address = parseaddr(raw)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or (not named and (name or address != raw)):
        raise ValueError(raw)
    return raw


def _email_address(raw: str) -> str:
    return _address(raw, named=False)


def _mail_from(raw: str) -> str:
    return _address(raw, named=True)


EMAIL_ADDRESS = Parser("an e-mail address such as coordinator@agency.example", _email_address)
FROM_ADDRESS = Parser(
    "an e-mail address, with or without a name: Alliance Program <alliances@agency.example>",
    _mail_from,
)


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


PATH = Parser("a folder", _path)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise ValueError(raw)
    return raw.upper()


LOG_LEVEL_NAME = Parser(", ".join(LOG_LEVELS[:-1]) + f" or {LOG_LEVELS[-1]}", _log_level)


def _rate_limit(raw: str) -> str:
    from limits import parse_many

    parse_many(raw)  # ValueError unless it is Flask-Limiter's notation
    return raw


RATE_LIMIT = Parser(
    "limits in Flask-Limiter's notation separated by ';', such as 20 per minute;200 per hour",
    _rate_limit,
)


def _choices(raw: str) -> Choices:
    choices: Choices = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        slug, _, label = item.partition("=")
        slug = slug.strip()
        if not (slug.isascii() and slug.replace("_", "").isalnum() and slug == slug.lower()):
            raise Refused(f"{slug!r} is not a slug (lower-case letters, digits and _)")
        choices[slug] = label.strip() or slug.replace("_", " ").capitalize()
    if not choices:
        raise Refused("it lists nothing")
    return choices


CHOICES = Parser(
    "comma-separated slug=Label pairs, such as falls=Falls,heat=Heat illness", _choices
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)([smhd])")


def duration(raw: str) -> timedelta:
    """``30s``, ``5m``, ``2h`` or ``1d``: a positive whole number and a unit."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None or int(match[1]) == 0:
        raise Refused(f"{raw.strip()!r} is not a duration such as 30s, 5m, 2h or 1d")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def durations(raw: str) -> tuple[timedelta, ...]:
    """Comma-separated durations, never shrinking."""
    if not raw.strip():
        raise Refused("it must list at least one duration, e.g. 30s,1m,1h")
    schedule = tuple(duration(part) for part in raw.split(","))
    for earlier, later in itertools.pairwise(schedule):
        if later < earlier:
            raise Refused(f"it must not shrink: {later} comes after {earlier}")
    return schedule


DURATIONS = Parser("durations such as 30s,1m,2h,1d, comma-separated, never shrinking", durations)


def _keys(raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())


KEYS = Parser("keys separated by commas", _keys)

REMINDER_KINDS: tuple[str, ...] = ("due_soon", "due", "overdue", "escalated")


def reminder_schedule(raw: str) -> tuple[tuple[str, int], ...]:
    """Comma-separated ``kind:days`` pairs, days counted from the due date, in order."""
    reminders: list[tuple[str, int]] = []
    for item in raw.split(","):
        kind, colon, days = item.strip().partition(":")
        if kind not in REMINDER_KINDS or not colon:
            raise Refused(
                f"{item.strip()!r} is not kind:days with kind one of " + ", ".join(REMINDER_KINDS)
            )
        try:
            reminders.append((kind, int(days)))
        except ValueError:
            raise Refused(
                f"{item.strip()!r}: {days.strip()!r} is not a whole number of days"
            ) from None
    for (_, earlier), (_, later) in itertools.pairwise(reminders):
        if later <= earlier:
            raise Refused(f"the days must rise: {later} comes after {earlier}")
    return tuple(reminders)


DEFAULT_REMINDER_DAYS = "due_soon:-14,due_soon:-3,due:0,overdue:1,overdue:14,escalated:30"
REMINDER_DAYS = Parser(
    "comma-separated kind:days pairs (kind: due_soon, due, overdue or escalated; days from the "
    "due date, rising), such as due_soon:-14,due:0,overdue:1",
    reminder_schedule,
)


# -- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its parser, its default, what production requires."""

    name: str
    parser: Parser[T]
    default: T
    doc: str
    # Required when APP_ENV=production: unset, it stops the process there.
    production: bool = False
    # How docs/configuration.md shows the default when the value itself would not say it.
    default_doc: str | None = None
    # Its value is never repeated in a message.
    secret: bool = False

    def parse(self, raw: str) -> T:
        """The value of ``raw``, or a ConfigurationError naming this variable."""
        try:
            return self.parser.convert(raw.strip())
        except ValueError as err:
            raise ConfigurationError([self.complaint(raw.strip(), err)]) from None

    def read(self, environ: Mapping[str, str]) -> T:
        """This setting alone from ``environ``: its default when unset or blank."""
        raw = environ.get(self.name, "").strip()
        return self.parse(raw) if raw else self.default

    def complaint(self, raw: str, err: ValueError) -> str:
        shown = self.name if self.secret else f"{self.name}={raw!r}"
        why = f"{err}; " if isinstance(err, Refused) else ""
        return f"{shown} is refused: {why}expected {self.parser.accepts}"

    def shown_default(self) -> str:
        """The default as docs/configuration.md shows it (Markdown)."""
        if self.default_doc is not None:
            return self.default_doc
        value: object = self.default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float):
            value = f"{value:g}"
        elif isinstance(value, Path) and value.is_relative_to(PROJECT_ROOT):
            value = value.relative_to(PROJECT_ROOT)
        return f"`{value}`" if value not in (None, "") else "(none)"


@dataclass
class Section:
    title: str
    about: str
    settings: list[Setting[Any]] = field(default_factory=list)

    def add(self, setting: Setting[T]) -> Setting[T]:
        self.settings.append(setting)
        return setting


SECTIONS: list[Section] = []


def section(title: str, about: str) -> Section:
    declared = Section(title, about)
    SECTIONS.append(declared)
    return declared


def declared_settings() -> list[Setting[Any]]:
    return [setting for declared in SECTIONS for setting in declared.settings]


def database_url_variable(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def default_database_url(service: str) -> str:
    """The development default: the service's own database on a local PostgreSQL server."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/alliance_{service}"


DEVELOPMENT_SECRET_KEY = "development-only-secret-key"  # noqa: S105 (never used in production)

_running = section(
    "Running",
    "How the system runs. With `APP_ENV=production` every setting marked *required* must be "
    "set, or the process stops.",
)
APP_ENV = _running.add(
    Setting(
        "APP_ENV",
        one_of("development", "test", "production"),
        "development",
        "`production` requires the settings marked so, refuses weak ones (see *What production "
        "refuses* below) and marks the staff cookie `Secure`",
    )
)
SECRET_KEY = _running.add(
    Setting(
        "SECRET_KEY",
        text("any long random text"),
        DEVELOPMENT_SECRET_KEY,
        "signs status, draft and report links, the Flask session and form tokens; make one "
        "with `openssl rand -hex 32` (production refuses a short or published one)",
        production=True,
        default_doc="a fixed development-only key",
        secret=True,
    )
)
SECRET_KEY_FALLBACKS = _running.add(
    Setting(
        "SECRET_KEY_FALLBACKS",
        KEYS,
        (),
        "older keys that still open what they signed (links, sessions, form tokens) while "
        "`SECRET_KEY` signs everything new: to rotate, move the old key here, and drop it once "
        "its links may go dead; production checks each one as it checks `SECRET_KEY`",
        default_doc="(none)",
        secret=True,
    )
)
PUBLIC_BASE_URL = _running.add(
    Setting(
        "PUBLIC_BASE_URL",
        url("http", "https"),
        "",
        "the start of every link in e-mail, and of the sign-in page services other than "
        "review send people to; `https://` in production",
        production=True,
        default_doc="`http://127.0.0.1:$PORT`",
    )
)
PORT = _running.add(
    Setting("PORT", whole("", 1, 65535), 8000, "where `alliance run` (`make run`) listens")
)
VAR_DIR = _running.add(
    Setting(
        "VAR_DIR",
        PATH,
        PROJECT_ROOT / "var",
        "where `alliance run` keeps the embedded servers' data, the logs, the mail and "
        "`run/state.json`, where the other `alliance` commands find its servers for the URLs "
        "their environment leaves unset",
    )
)
BEHIND_PROXY = _running.add(
    Setting(
        "BEHIND_PROXY",
        BOOLEAN,
        False,
        "trust `X-Forwarded-For`, `-Proto`, `-Host` and `-Prefix` from one reverse proxy",
    )
)
MAX_CONTENT_LENGTH = _running.add(
    Setting(
        "ALLIANCE_MAX_CONTENT_LENGTH",
        whole("bytes", 1),
        256 * 1024,
        "the largest request body a web app takes (a larger one answers 413)",
    )
)
LOG_LEVEL = _running.add(
    Setting("LOG_LEVEL", LOG_LEVEL_NAME, "INFO", "the least important log lines written")
)
ALLIANCE_PASSWORD = _running.add(
    Setting(
        "ALLIANCE_PASSWORD",
        text("a password of at least 12 characters"),
        "",
        "the password `alliance create-coordinator` gives the first Coordinator (asked for "
        "when unset)",
        secret=True,
    )
)

_servers = section(
    "Servers",
    "Each one switches a part from the embedded default to a real server; `alliance run` "
    "starts only the embedded servers still needed.",
)
REDIS_URL = _servers.add(
    Setting(
        "REDIS_URL",
        url("redis", "rediss", "unix"),
        "redis://127.0.0.1:6379/0",
        "the broker (Redis or Valkey), which also holds staff sessions and health reports",
        production=True,
        default_doc="`redis://127.0.0.1:6379/0`; `alliance run` starts an embedded Valkey",
    )
)
DATABASE_URLS: dict[str, Setting[str]] = {
    service: _servers.add(
        Setting(
            database_url_variable(service),
            DATABASE_URL,
            default_database_url(service),
            f"the {service} service's own database",
            production=True,
            default_doc=(
                f"`postgresql://postgres@127.0.0.1:5432/alliance_{service}`; "
                "`alliance run` starts an embedded PostgreSQL"
            ),
        )
    )
    for service in SERVICES
}

MAIL_BACKENDS = ("smtp", "files", "console")
MAIL_SIGNATURES = {
    "state_plan": (
        "The {agency} Alliance Program team\nConsultation, Education and Training Division"
    ),
    "federal": "The {agency} Alliance Program team\nU.S. Department of Labor",
}

_mail = section(
    "Mail",
    "Without `SMTP_HOST` every message is written as an `.eml` file to `MAIL_DIR`.",
)
SMTP_HOST = _mail.add(Setting("SMTP_HOST", text("a host name"), "", "send mail over SMTP to it"))
SMTP_PORT = _mail.add(Setting("SMTP_PORT", whole("", 1, 65535), 25, "the SMTP server's port"))
SMTP_USERNAME = _mail.add(Setting("SMTP_USERNAME", text(), "", "sign in to the SMTP server as"))
SMTP_PASSWORD = _mail.add(
    Setting("SMTP_PASSWORD", text(), "", "the SMTP user's password", secret=True)
)
SMTP_STARTTLS = _mail.add(
    Setting("SMTP_STARTTLS", BOOLEAN, False, "switch the SMTP connection to TLS (STARTTLS)")
)
SMTP_TIMEOUT = _mail.add(
    Setting(
        "SMTP_TIMEOUT", seconds(1), 10.0, "allowed for the SMTP connection and for each command"
    )
)
MAIL_FROM = _mail.add(
    Setting(
        "MAIL_FROM",
        FROM_ADDRESS,
        "Alliance Program <alliances@agency.example>",
        "the sender of every message",
    )
)
MAIL_DIR = _mail.add(
    Setting(
        "MAIL_DIR",
        PATH,
        PROJECT_ROOT / "var" / "mail",
        "where messages are written when there is no `SMTP_HOST`",
        default_doc="`var/mail` (`alliance run`: `$VAR_DIR/mail`)",
    )
)
COORDINATOR_EMAIL = _mail.add(
    Setting(
        "COORDINATOR_EMAIL",
        EMAIL_ADDRESS,
        "coordinator@agency.example",
        "where the Coordinator's alerts of new proposals and 30-day escalations go while no "
        "active Coordinator account exists (then to each Coordinator by name), and the alerts "
        "of mail that could not be delivered",
        production=True,
    )
)
# -- notify's messages: backend and branding --
MAIL_BACKEND = _mail.add(
    Setting(
        "MAIL_BACKEND",
        one_of(*MAIL_BACKENDS),
        "",
        "`smtp` (needs `SMTP_HOST`), `files` (`.eml` files in `MAIL_DIR`) or `console` (each "
        "message printed to standard output)",
        default_doc="`smtp` when `SMTP_HOST` is set, else `files`",
    )
)
MAIL_LOGO_URL = _mail.add(
    Setting(
        "MAIL_LOGO_URL",
        url("https"),
        "",
        "the agency's logo at the top of every HTML message (an image the mail client fetches)",
    )
)
MAIL_SIGNATURE = _mail.add(
    Setting(
        "MAIL_SIGNATURE",
        text("text; `\\n` starts a new line"),
        "",
        "the signature closing every message",
        default_doc="the profile's: the agency's Alliance Program team and its office",
    )
)

_agency = section(
    "The agency",
    "One deployment serves one agency: a state plan (MIOSHA's divisions) or federal OSHA "
    "(office levels). A list replaces the whole default list; SPEC.md gives the defaults.",
)
AGENCY_PROFILE = _agency.add(
    Setting(
        "AGENCY_PROFILE",
        one_of(*PROFILES),
        "state_plan",
        "`state_plan` (divisions) or `federal` (office levels and the national-dialogue goal)",
    )
)
AGENCY_NAME = _agency.add(
    Setting(
        "AGENCY_NAME",
        text("a name"),
        "",
        "the agency's name on pages and in e-mail",
        default_doc="`MIOSHA` (federal profile: `OSHA`)",
    )
)
AGENCY_GOVERNMENT = _agency.add(
    Setting(
        "AGENCY_GOVERNMENT",
        text("a government's name"),
        "",
        'whose official website this is, in the banner atop every page ("An official website '
        'of ...")',
        default_doc="`the State of Michigan` (federal profile: `the United States government`)",
    )
)
AGENCY_TIMEZONE = _agency.add(
    Setting(
        "AGENCY_TIMEZONE",
        TIME_ZONE,
        ZoneInfo("America/Detroit"),
        "the agency's time zone: its dates, deadlines and the times in e-mail",
    )
)
AGENCY_HAZARDS: Setting[Choices | None] = _agency.add(
    Setting(
        "AGENCY_HAZARDS",
        CHOICES,
        None,
        "the hazards a proposal may name",
        default_doc="the 13 hazards in SPEC.md",
    )
)
AGENCY_ACTIVITIES: Setting[Choices | None] = _agency.add(
    Setting(
        "AGENCY_ACTIVITIES",
        CHOICES,
        None,
        "the activities a goal may name",
        default_doc="the 11 MIOSHA activities in SPEC.md",
    )
)
AGENCY_PRIORITY_AREAS: Setting[Choices | None] = _agency.add(
    Setting(
        "AGENCY_PRIORITY_AREAS",
        CHOICES,
        None,
        "the agency's priority areas, which raise a proposal's score",
        default_doc="falls, heat, silica, amputations, trenching",
    )
)
AGENCY_DIVISIONS: Setting[Choices | None] = _agency.add(
    Setting(
        "AGENCY_DIVISIONS",
        CHOICES,
        None,
        "the divisions (federal: office levels) a proposal may ask for",
        default_doc="the profile's three divisions or office levels",
    )
)

_staff = section("Staff sign-in", "Staff sessions live in Redis; see shared/staff_auth.py.")
STAFF_IDLE_MINUTES = _staff.add(
    Setting(
        "STAFF_IDLE_MINUTES",
        whole("minutes", 1),
        30,
        "a staff session ends after this long without a request",
    )
)
STAFF_SESSION_HOURS = _staff.add(
    Setting(
        "STAFF_SESSION_HOURS",
        whole("hours", 1),
        12,
        "a staff session ends this long after signing in, whatever the activity",
    )
)
STAFF_SIGN_IN_LIMIT = _staff.add(
    Setting(
        "STAFF_SIGN_IN_LIMIT",
        RATE_LIMIT,
        "10 per minute;100 per hour",
        "failed sign-ins allowed per client address",
    )
)
STAFF_SIGN_IN_EMAIL_LIMIT = _staff.add(
    Setting(
        "STAFF_SIGN_IN_EMAIL_LIMIT",
        RATE_LIMIT,
        "5 per minute;20 per hour",
        "failed sign-ins allowed per e-mail address tried",
    )
)
STAFF_SIGN_IN_URL = _staff.add(
    Setting(
        "ALLIANCE_STAFF_SIGN_IN_URL",
        url("http", "https", or_path=True),
        "",
        "where services other than review send staff to sign in",
        default_doc="`$PUBLIC_BASE_URL/review/staff/sign-in`",
    )
)
STAFF_PASSWORD_HASH = _staff.add(
    Setting(
        "STAFF_PASSWORD_HASH",
        one_of("strong", "fast"),
        "strong",
        "the cost of hashing staff passwords (Argon2id): `strong` (RFC 9106's low-memory "
        "profile) or `fast` (the least Argon2 allows, for tests; refused in production). A "
        "hash keeps its own cost and is rehashed at the next sign-in",
    )
)
STAFF_INVITATION_DAYS = _staff.add(
    Setting(
        "STAFF_INVITATION_DAYS",
        whole("days", 1, 30),
        7,
        "how long the e-mailed invitation to set one's password works (a new invitation "
        "ends the older ones; using it ends it too)",
    )
)
STAFF_PASSWORD_RESET_MINUTES = _staff.add(
    Setting(
        "STAFF_PASSWORD_RESET_MINUTES",
        whole("minutes", 5, 1440),
        60,
        'how long the e-mailed link of "Forgot your password?" works (once)',
    )
)
STAFF_PASSWORD_RESET_LIMIT = _staff.add(
    Setting(
        "STAFF_PASSWORD_RESET_LIMIT",
        RATE_LIMIT,
        "5 per 15 minutes;20 per day",
        '"Forgot your password?" requests allowed per client address',
    )
)

_intake = section("Intake", "The public proposal form and API.")
INTAKE_DRAFT_DAYS = _intake.add(
    Setting(
        "INTAKE_DRAFT_DAYS",
        whole("days", 1),
        30,
        "how long a saved draft, and the e-mailed link to it, lives",
    )
)
INTAKE_STATUS_LINK_DAYS = _intake.add(
    Setting(
        "INTAKE_STATUS_LINK_DAYS",
        whole("days", 1),
        730,
        "how long a proposal's status link works",
    )
)
INTAKE_RATE_LIMIT = _intake.add(
    Setting(
        "INTAKE_RATE_LIMIT",
        RATE_LIMIT,
        "20 per minute;200 per hour",
        "submissions and draft saves allowed per client address",
    )
)

_review = section("Review", "The review queue, decisions and alliances.")
REVIEW_INITIAL_TERM_YEARS = _review.add(
    Setting(
        "REVIEW_INITIAL_TERM_YEARS",
        whole("years", 1, 10),
        2,
        "the initial term an approval proposes for a new alliance",
    )
)

_reporting = section(
    "Reporting",
    'The report schedule (SPEC.md, "Report schedule: the rules"): every term\'s reports, '
    "their due dates and reminders. Dates and reminder times are in `AGENCY_TIMEZONE`.",
)
REPORT_QUARTERLY: Setting[bool | None] = _reporting.add(
    Setting(
        "REPORT_QUARTERLY",
        BOOLEAN,
        None,
        "alliances report every fiscal quarter as well as every agreement year",
        default_doc="`true` (federal profile: `false`)",
    )
)
REPORT_ANNUAL = _reporting.add(
    Setting("REPORT_ANNUAL", BOOLEAN, True, "alliances report every agreement year")
)
REPORT_FISCAL_YEAR_START_MONTH: Setting[int | None] = _reporting.add(
    Setting(
        "REPORT_FISCAL_YEAR_START_MONTH",
        whole("", 1, 12),
        None,
        "the month (1 = January) the agency's fiscal year starts; quarters follow it",
        default_doc="`1`: calendar quarters (federal profile: `10`, October)",
    )
)
REPORT_QUARTERLY_DUE_DAYS = _reporting.add(
    Setting(
        "REPORT_QUARTERLY_DUE_DAYS",
        whole("days", 0),
        30,
        "a quarterly report is due this long after its quarter's last day",
    )
)
REPORT_ANNUAL_DUE_DAYS = _reporting.add(
    Setting(
        "REPORT_ANNUAL_DUE_DAYS",
        whole("days", 0),
        60,
        "an annual report is due this long after its agreement year's last day",
    )
)
REPORT_REMINDER_DAYS = _reporting.add(
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
REPORT_REMINDER_HOUR = _reporting.add(
    Setting(
        "REPORT_REMINDER_HOUR",
        whole("", 0, 23),
        9,
        "the hour, in the agency's time zone, a reminder goes out on its day",
    )
)
REPORT_REVISION_DAYS = _reporting.add(
    Setting(
        "REPORT_REVISION_DAYS",
        whole("days", 1),
        14,
        "a revision request gives the report a new due date this long after the request",
    )
)

REPORT_LINK_DAYS = _reporting.add(
    Setting(
        "REPORT_LINK_DAYS",
        whole("days", 1),
        400,
        "how long the partner's signed link to a report's form works",
    )
)

_notify = section("Notify", "E-mail delivery and its retries.")
DEFAULT_RETRY_SCHEDULE = "30s,1m,2m,5m,10m,20m,30m,1h,2h,4h,8h,8h"
NOTIFY_RETRY_SCHEDULE = _notify.add(
    Setting(
        "NOTIFY_RETRY_SCHEDULE",
        DURATIONS,
        durations(DEFAULT_RETRY_SCHEDULE),
        "the pauses between delivery attempts before a message fails (13 attempts over "
        "just over a day by default)",
        default_doc=f"`{DEFAULT_RETRY_SCHEDULE}`",
    )
)
NOTIFY_SENDING_LEASE_SECONDS = _notify.add(
    Setting(
        "NOTIFY_SENDING_LEASE_SECONDS",
        whole("seconds", 1),
        120,
        "how long a message may stay `sending` before it counts as an uncertain delivery and "
        "goes again; it must outlast 5 SMTP time-outs and 30 s",
    )
)
NOTIFY_REQUEUE_SECONDS = _notify.add(
    Setting(
        "NOTIFY_REQUEUE_SECONDS",
        whole("seconds", 1),
        300,
        "how long the delivery sweep leaves a message it queued before queuing it again",
    )
)

# -- webhooks: services/notify/webhooks/config.py reads these --------------------
_webhooks = section(
    "Webhooks",
    "Signed event deliveries to the HTTPS endpoints the Coordinator registers "
    '(SPEC.md, "Webhooks"; docs: services/notify/webhooks/).',
)


def _host_names(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower().strip("[]") for name in raw.split(",") if name.strip())
    for name in names:
        if not re.fullmatch(r"[a-z0-9.:_-]{1,253}", name):
            raise Refused(f"{name!r} is not a host name or address")
    return names


HOST_NAMES = Parser("host names or IP addresses, comma-separated", _host_names)
WEBHOOK_ALLOWED_HOSTS = _webhooks.add(
    Setting(
        "WEBHOOK_ALLOWED_HOSTS",
        HOST_NAMES,
        (),
        "hosts webhooks may reach although they resolve to loopback, private, link-local or "
        "other internal addresses, over `http://` too (for tests and local receivers only)",
        default_doc="(none)",
    )
)
DEFAULT_WEBHOOK_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,24h"
WEBHOOK_RETRY_SCHEDULE = _webhooks.add(
    Setting(
        "WEBHOOK_RETRY_SCHEDULE",
        DURATIONS,
        durations(DEFAULT_WEBHOOK_RETRY_SCHEDULE),
        "the pauses between attempts at a delivery before it fails (an answer's `Retry-After` "
        "lengthens one, up to `WEBHOOK_MAX_RETRY_AFTER_SECONDS`)",
        default_doc=f"`{DEFAULT_WEBHOOK_RETRY_SCHEDULE}`",
    )
)
WEBHOOK_MAX_RETRY_AFTER_SECONDS = _webhooks.add(
    Setting(
        "WEBHOOK_MAX_RETRY_AFTER_SECONDS",
        whole("seconds", 1),
        86400,
        "the longest `Retry-After` an endpoint's answer may ask for",
    )
)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = _webhooks.add(
    Setting(
        "WEBHOOK_CONNECT_TIMEOUT_SECONDS",
        seconds(0.1),
        5.0,
        "how long a delivery waits to connect (and for the TLS handshake)",
    )
)
WEBHOOK_READ_TIMEOUT_SECONDS = _webhooks.add(
    Setting(
        "WEBHOOK_READ_TIMEOUT_SECONDS",
        seconds(0.1),
        15.0,
        "how long a delivery waits for the endpoint's answer",
    )
)
WEBHOOK_DISABLE_AFTER_DAYS = _webhooks.add(
    Setting(
        "WEBHOOK_DISABLE_AFTER_DAYS",
        whole("days", 1),
        3,
        "an endpoint whose every delivery failed for this long is disabled and the "
        "Coordinator told",
    )
)
WEBHOOK_SECRETS_KEY = _webhooks.add(
    Setting(
        "WEBHOOK_SECRETS_KEY",
        text("any long random text"),
        "",
        "encrypts the endpoints' signing secrets in the database; changing it without listing "
        "the old key in `WEBHOOK_SECRETS_KEY_FALLBACKS` makes every endpoint need a new secret; "
        "production checks it as it checks `SECRET_KEY`",
        default_doc="derived from `SECRET_KEY` (and `SECRET_KEY_FALLBACKS`)",
        secret=True,
    )
)
WEBHOOK_SECRETS_KEY_FALLBACKS = _webhooks.add(
    Setting(
        "WEBHOOK_SECRETS_KEY_FALLBACKS",
        KEYS,
        (),
        "older keys that still decrypt the secrets they encrypted while `WEBHOOK_SECRETS_KEY` "
        "encrypts the new ones (when moving from the key derived from `SECRET_KEY` to one of "
        "its own, list the old `SECRET_KEY` here); rotate each endpoint's secret before "
        "dropping a key",
        default_doc="(none)",
        secret=True,
    )
)
# -- end of webhooks

_reliability = section(
    "Reliability",
    "How the system notices and recovers from lost tasks, stalled workers and outages "
    "(docs/reliability.md).",
)
CELERY_VISIBILITY_TIMEOUT = _reliability.add(
    Setting(
        "CELERY_VISIBILITY_TIMEOUT",
        seconds(5),
        900.0,
        "before a task held by a worker that died goes to another worker; task time limits "
        "stay below it",
    )
)
WORKER_STALL_SECONDS: Setting[float | None] = _reliability.add(
    Setting(
        "WORKER_STALL_SECONDS",
        seconds(5),
        None,
        "a worker whose canary task waited this long is stuck and restarts",
        default_doc="the task time limit + 30 (`150`)",
    )
)
DELIVERY_SWEEP_SECONDS = _reliability.add(
    Setting(
        "DELIVERY_SWEEP_SECONDS",
        seconds(0.1),
        10.0,
        "how often beat queues the mail due for (another) delivery attempt",
    )
)
OUTBOX_RELAY_SECONDS = _reliability.add(
    Setting(
        "OUTBOX_RELAY_SECONDS",
        seconds(0.1),
        5.0,
        "how often beat publishes events still waiting in an outbox",
    )
)
OUTBOX_PUBLICATIONS = _reliability.add(
    Setting(
        "OUTBOX_PUBLICATIONS",
        whole("", 1),
        2,
        "how many times in all every event goes out (consumers ignore repeats)",
    )
)
OUTBOX_REPUBLISH_SECONDS = _reliability.add(
    Setting(
        "OUTBOX_REPUBLISH_SECONDS",
        seconds(1),
        600.0,
        "how long after its first publication an event goes out again",
    )
)
BEAT_LEADER_SECONDS = _reliability.add(
    Setting(
        "BEAT_LEADER_SECONDS",
        seconds(1),
        15.0,
        "how long the leading beat's lock lasts unrenewed before a standby beat takes over",
    )
)
RETRY_AFTER_SECONDS = _reliability.add(
    Setting(
        "RETRY_AFTER_SECONDS",
        whole("seconds", 1),
        30,
        "what a 503 (database or broker down) tells the client to wait",
    )
)


# -- what production refuses ------------------------------------------------------------------

# Every secret and password this repository ships or has shipped as a default or an example
# (code, docs, docker-compose.yml, .env.example), compared without case: anyone can read them, so
# production refuses them. tests/unit/test_production_refusals.py greps the repository for such
# values and checks that each one is refused.
KNOWN_DEFAULT_SECRETS: frozenset[str] = frozenset(
    {
        DEVELOPMENT_SECRET_KEY,
        "change-me-in-production",  # docker-compose.yml's default before issue 15
        "test-secret-key",  # conftest.py
        "soak-secret-key",  # bench/soak.py
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "changeme",
        "change-me",
    }
)
KNOWN_DEFAULT_PASSWORDS: frozenset[str] = frozenset(
    {
        "alliance",  # docker-compose.yml's POSTGRES_PASSWORD default before issue 15
        "postgres",  # the password of the PostgreSQL image's own examples
        "password",  # docs/configuration.md's example database URL
        "redis",
        "valkey",
        "secret",
        "admin",
        "root",
        "pass",
        "changeme",
        "change-me",
    }
)
# Only a placeholder contains these (.env.example's values all do).
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replace_me",
    "placeholder",
    "example",
    "development-only",
)
SECRET_MIN_BYTES = 32
SECRET_MIN_DISTINCT = 8
PASSWORD_MIN_CHARACTERS = 12
RANDOM_VALUE_ADVICE = "a long random value such as `openssl rand -hex 32` prints"


def _debug_flag(raw: str) -> bool:
    """Flask's own reading of FLASK_DEBUG (flask.helpers.get_debug_flag): anything set is on
    unless it is 0, false or no (so ``off`` turns debug on)."""
    return bool(raw) and raw.lower() not in ("0", "false", "no")


# Environment variables that turn debug mode on in something these processes run, and when
# each counts as on; production refuses every one that is on. Flask reads FLASK_DEBUG itself
# in every app it creates (the interactive debugger and tracebacks for anyone); FLASK_ENV
# =development did so before Flask 2.3; ALLIANCE_DEBUG is this project's name reserved for it.
DEBUG_SWITCHES: dict[str, Callable[[str], bool]] = {
    "FLASK_DEBUG": _debug_flag,
    "ALLIANCE_DEBUG": _debug_flag,
    "FLASK_ENV": lambda raw: raw.lower() == "development",
}


def secret_weakness(value: str) -> str | None:
    """Why production refuses ``value`` as a signing or encryption key, or None."""
    lowered = value.strip().lower()
    if lowered in KNOWN_DEFAULT_SECRETS or lowered in KNOWN_DEFAULT_PASSWORDS:
        return "it is a default published in this repository"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "it is a placeholder"
    if len(value.encode("utf-8")) < SECRET_MIN_BYTES:
        return f"it is shorter than {SECRET_MIN_BYTES} bytes"
    if len(set(value)) < SECRET_MIN_DISTINCT:
        return f"it repeats fewer than {SECRET_MIN_DISTINCT} different characters"
    return None


def password_weakness(password: str | None, user: str | None = None) -> str | None:
    """Why production refuses ``password`` for a database or the broker, or None."""
    if not password:
        return "it has no password"
    lowered = password.lower()
    if lowered in KNOWN_DEFAULT_PASSWORDS or lowered in KNOWN_DEFAULT_SECRETS:
        return "its password is a default published in this repository or the server images"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "its password is a placeholder"
    if user and lowered == user.lower():
        return "its password is its user name"
    if len(password) < PASSWORD_MIN_CHARACTERS:
        return f"its password is shorter than {PASSWORD_MIN_CHARACTERS} characters"
    return None


def _database_password(raw: str) -> tuple[str | None, str | None]:
    from sqlalchemy.engine import make_url

    parsed = make_url(raw)
    password = parsed.password or parsed.query.get("password")
    if isinstance(password, tuple):  # ?password=a&password=b
        password = password[-1]
    return (str(password) if password else None), parsed.username


def _redis_password(raw: str) -> tuple[str | None, str | None]:
    from urllib.parse import parse_qs, unquote

    parts = urlsplit(raw)
    password = unquote(parts.password) if parts.password else None
    if not password:  # unix:///path/redis.sock?password=...
        password = next(reversed(parse_qs(parts.query).get("password", [])), None)
    return password, unquote(parts.username) if parts.username else None


def production_problems(values: _Values, environ: Mapping[str, str]) -> list[str]:
    """What APP_ENV=production refuses in settings that parsed: weak or default keys,
    servers without a real password, any debug switch on, links that are not https."""
    problems: list[str] = []

    for key_setting, fallbacks_setting in (
        (SECRET_KEY, SECRET_KEY_FALLBACKS),
        (WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS),
    ):
        # Unset, a key is either required (and listed so) or derived from SECRET_KEY.
        key = values.get(key_setting, "") if environ.get(key_setting.name, "").strip() else ""
        why = secret_weakness(key) if key else None
        if why is not None:
            problems.append(
                f"{key_setting.name} is refused when APP_ENV=production: {why}; set it to "
                f"{RANDOM_VALUE_ADVICE}"
            )
        fallbacks = values.get(fallbacks_setting, ())
        for number, fallback in enumerate(fallbacks, 1):
            which = f"key {number} of {len(fallbacks)}: " if len(fallbacks) > 1 else ""
            why = secret_weakness(fallback)
            if why is not None:
                problems.append(
                    f"{fallbacks_setting.name} is refused when APP_ENV=production: "
                    f"{which}{why}; drop it (what it signed stops opening) or replace "
                    f"{key_setting.name} and its fallbacks with {RANDOM_VALUE_ADVICE}"
                )

    servers: list[tuple[Setting[str], Callable[[str], tuple[str | None, str | None]], str]] = [
        (
            REDIS_URL,
            _redis_password,
            "start the broker with a password (requirepass) and put it in the URL: "
            "redis://:PASSWORD@host:6379/0",
        ),
        *(
            (
                setting,
                _database_password,
                "give the database user a password and put it in the URL: "
                "postgresql://user:PASSWORD@host:5432/database",
            )
            for setting in DATABASE_URLS.values()
        ),
    ]
    for setting, password_of, advice in servers:
        if setting not in values or not environ.get(setting.name, "").strip():
            continue  # refused already, or missing (and so listed as required)
        password, user = password_of(values[setting])
        why = password_weakness(password, user)
        if why is not None:
            problems.append(
                f"{setting.name} is refused when APP_ENV=production: {why}; {advice} "
                f"(a long random password; letters, digits, '-', '_' and '.' need no escaping)"
            )

    for name, is_on in DEBUG_SWITCHES.items():
        raw = environ.get(name, "").strip()
        if raw and is_on(raw):
            problems.append(
                f"{name}={raw!r} is refused when APP_ENV=production: it turns debug mode on "
                "(tracebacks and an interactive debugger for anyone); unset it"
            )

    for setting in (PUBLIC_BASE_URL, STAFF_SIGN_IN_URL):
        if setting not in values:
            continue
        link = values[setting]
        if link and not link.startswith("/") and urlsplit(link).scheme != "https":
            problems.append(
                f"{setting.name}={link!r} is refused when APP_ENV=production: it must start "
                "with https://, since links in e-mail carry signed tokens and the staff cookie "
                "is sent over https only; serve the gateway over TLS and give its https:// "
                "address"
            )
    return problems


# -- the settings object ----------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    timeout: float = 10.0


@dataclass(frozen=True)
class ReliabilitySettings:
    """How the system notices and recovers from lost tasks, stalled workers and outages."""

    # Seconds before a task held by a worker that died is handed to another worker.
    visibility_timeout: float = 900.0
    task_time_limit: float = 120.0
    task_soft_time_limit: float = 96.0
    # How often beat has notify re-queue the messages due for (another) delivery attempt.
    delivery_sweep_seconds: float = 10.0
    # A worker whose canary task waited longer than this is stuck and gets restarted.
    worker_stall_seconds: float = 150.0
    # What a web client that met an outage is told to wait before trying again.
    retry_after_seconds: int = 30
    # How long the leading beat's lock lasts unrenewed: a standby beat takes over after it.
    beat_leader_seconds: float = 15.0
    # Every event goes out this many times in all, the repeats this long after the first:
    # longer than a backlog takes to drain, so a repeat normally finds the work done.
    outbox_publications: int = 2
    outbox_republish_seconds: float = 600.0


# After a message is marked ``sending`` the SMTP conversation still has MAIL, RCPT, DATA, the
# content and the final answer, each bounded by the SMTP time-out; then the result is stored.
SMTP_STEPS_AFTER_CLAIM = 5
RECORDING_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class DeliverySettings:
    """When notify tries a failed delivery again."""

    # retry_schedule[n - 1] is the pause after the n-th attempt failed; one entry fewer than
    # the attempts a message gets.
    retry_schedule: tuple[timedelta, ...]
    # How long a message may stay ``sending`` before its worker is presumed dead.
    sending_lease: timedelta
    # How long the sweep leaves a message it queued before queuing it again (its task may
    # wait behind a backlog; a copy per sweep would only lengthen the queue).
    requeue_after: timedelta = timedelta(seconds=300)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1


@dataclass(frozen=True)
class ReportingSettings:
    """The report schedule's numbers (services/reporting/schedules/domain.py ScheduleRules)."""

    quarterly: bool
    fiscal_year_start_month: int
    annual: bool
    quarterly_due_days: int
    annual_due_days: int
    reminder_days: tuple[tuple[str, int], ...]
    reminder_hour: int
    revision_days: int
    link_lifetime: timedelta


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    redis_url: str
    database_urls: dict[str, str]
    agency_timezone: ZoneInfo
    coordinator_email: str
    public_base_url: str
    mail_from: str
    mail_dir: Path
    smtp: SmtpSettings | None
    outbox_relay_seconds: float
    log_level: str
    reliability: ReliabilitySettings
    port: int
    var_dir: Path
    behind_proxy: bool
    max_content_length: int
    agency: AgencyProfile
    staff_idle_timeout: timedelta
    staff_session_lifetime: timedelta
    staff_sign_in_limit: str
    staff_sign_in_email_limit: str
    staff_sign_in_url: str  # '' for PUBLIC_BASE_URL's review sign-in page
    staff_password_hash: str  # services/review/staff/domain.py HASHERS
    staff_invitation_lifetime: timedelta
    staff_password_reset_lifetime: timedelta
    staff_password_reset_limit: str
    intake_draft_lifetime: timedelta
    intake_status_link_lifetime: timedelta
    intake_rate_limit: str
    review_initial_term_years: int
    delivery: DeliverySettings
    alliance_password: str
    reporting: ReportingSettings
    # notify's messages: MAIL_BACKEND resolved, MAIL_LOGO_URL, MAIL_SIGNATURE (or
    # the profile's signature), each line of it one line of the message's signature.
    mail_backend: str = "files"
    mail_logo_url: str = ""
    mail_signature: str = ""
    # SECRET_KEY_FALLBACKS: older keys that still open what they signed.
    secret_key_fallbacks: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def signing_keys(self) -> list[str]:
        """Every key that opens a signed link or token, oldest first and ``SECRET_KEY`` last,
        as itsdangerous takes them: it signs with the last and opens with any."""
        return [*self.secret_key_fallbacks, self.secret_key]

    def database_url(self, service: str) -> str:
        return self.database_urls[service]


class _Values:
    """Every declared setting's value in one environment, each checked by its parser."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._values: dict[str, object] = {}
        self.problems: list[str] = []
        production = environ.get(APP_ENV.name, "").strip() == "production"
        for setting in declared_settings():
            raw = environ.get(setting.name, "").strip()
            if not raw:
                if setting.production and production:
                    self.problems.append(f"{setting.name} must be set when APP_ENV=production")
                self._values[setting.name] = setting.default
                continue
            try:
                self._values[setting.name] = setting.parser.convert(raw)
            except ValueError as err:
                self.problems.append(setting.complaint(raw, err))

    def __getitem__(self, setting: Setting[T]) -> T:
        # Stored by setting.parser (a Parser[T]) or from setting.default (a T).
        return cast(T, self._values[setting.name])

    def __contains__(self, setting: Setting[Any]) -> bool:
        return setting.name in self._values

    def get(self, setting: Setting[T], default: T) -> T:
        """The setting's value, or ``default`` when its text was refused."""
        if setting.name not in self._values:
            return default
        return cast(T, self._values[setting.name])


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The settings ``environ`` gives, every one checked: a ConfigurationError lists every
    bad or (in production) missing variable."""
    values = _Values(environ)
    problems = values.problems
    smtp = None
    smtp_parsed = all(s in values for s in (SMTP_HOST, SMTP_PORT, SMTP_STARTTLS, SMTP_TIMEOUT))
    if smtp_parsed and values[SMTP_HOST]:
        smtp = SmtpSettings(
            host=values[SMTP_HOST],
            port=values[SMTP_PORT],
            username=values[SMTP_USERNAME],
            password=values[SMTP_PASSWORD],
            starttls=values[SMTP_STARTTLS],
            # For the connection and for each command; a send's lease outlasts five.
            timeout=values[SMTP_TIMEOUT],
        )
    if smtp is not None and NOTIFY_SENDING_LEASE_SECONDS in values:
        lease = values[NOTIFY_SENDING_LEASE_SECONDS]
        needed = SMTP_STEPS_AFTER_CLAIM * timedelta(seconds=smtp.timeout) + RECORDING_MARGIN
        if timedelta(seconds=lease) < needed:
            problems.append(
                f"{NOTIFY_SENDING_LEASE_SECONDS.name} must outlast a send's SMTP time-outs "
                f"({SMTP_STEPS_AFTER_CLAIM} x {smtp.timeout:g} s) plus "
                f"{RECORDING_MARGIN.seconds} s: at least {needed.total_seconds():g}, not {lease}"
            )
    production = APP_ENV in values and values[APP_ENV] == "production"
    cheap_hash = STAFF_PASSWORD_HASH in values and values[STAFF_PASSWORD_HASH] != "strong"
    if cheap_hash and production:
        problems.append(f"{STAFF_PASSWORD_HASH.name} must be strong when APP_ENV=production")
    if production:
        problems += production_problems(values, environ)
    mail_backend = "smtp" if smtp is not None else "files"  # SPEC: SMTP_HOST set -> SMTP
    if MAIL_BACKEND in values:  # else refused, and listed among the problems already
        mail_backend = values[MAIL_BACKEND] or mail_backend
        if mail_backend == "smtp" and smtp is None and smtp_parsed:
            problems.append(f"{MAIL_BACKEND.name}=smtp needs {SMTP_HOST.name}")
    if problems:
        raise ConfigurationError(problems)

    visibility = values[CELERY_VISIBILITY_TIMEOUT]
    # A running task must end (hard limit) before Redis would hand it out again. Tasks here
    # take milliseconds to seconds (an SMTP conversation is bounded by its time-outs).
    hard = min(120.0, visibility * 0.8)
    stall = values[WORKER_STALL_SECONDS]
    reliability_settings = ReliabilitySettings(
        visibility_timeout=visibility,
        task_time_limit=hard,
        task_soft_time_limit=hard * 0.8,
        delivery_sweep_seconds=values[DELIVERY_SWEEP_SECONDS],
        # Longer than any task may run: a busy worker is not a stuck one.
        worker_stall_seconds=stall if stall is not None else hard + 30,
        retry_after_seconds=values[RETRY_AFTER_SECONDS],
        beat_leader_seconds=values[BEAT_LEADER_SECONDS],
        outbox_publications=values[OUTBOX_PUBLICATIONS],
        outbox_republish_seconds=values[OUTBOX_REPUBLISH_SECONDS],
    )

    schedule = values[NOTIFY_RETRY_SCHEDULE]
    if sum(schedule, timedelta()) < timedelta(days=1):
        log.warning(
            "NOTIFY_RETRY_SCHEDULE gives up after %s: a longer mail outage fails messages",
            sum(schedule, timedelta()),
        )

    profile = values[AGENCY_PROFILE]
    federal = profile == "federal"
    lists: dict[str, Choices | None] = {
        "hazards": values[AGENCY_HAZARDS],
        "activities": values[AGENCY_ACTIVITIES],
        "priority_areas": values[AGENCY_PRIORITY_AREAS],
        "divisions": values[AGENCY_DIVISIONS],
    }
    defaults = {
        "hazards": DEFAULT_HAZARDS,
        "activities": DEFAULT_ACTIVITIES,
        "priority_areas": DEFAULT_PRIORITY_AREAS,
        "divisions": FEDERAL_OFFICES if federal else STATE_PLAN_DIVISIONS,
    }
    agency_profile = AgencyProfile(
        profile=profile,
        name=values[AGENCY_NAME] or ("OSHA" if federal else "MIOSHA"),
        government=values[AGENCY_GOVERNMENT]
        or ("the United States government" if federal else "the State of Michigan"),
        **{key: given or dict(defaults[key]) for key, given in lists.items()},
    )

    return Settings(
        env=values[APP_ENV],
        secret_key=values[SECRET_KEY],
        secret_key_fallbacks=values[SECRET_KEY_FALLBACKS],
        redis_url=values[REDIS_URL],
        database_urls={service: values[DATABASE_URLS[service]] for service in SERVICES},
        agency_timezone=values[AGENCY_TIMEZONE],
        coordinator_email=values[COORDINATOR_EMAIL],
        public_base_url=values[PUBLIC_BASE_URL] or f"http://127.0.0.1:{values[PORT]}",
        mail_from=values[MAIL_FROM],
        mail_dir=values[MAIL_DIR],
        smtp=smtp,
        outbox_relay_seconds=values[OUTBOX_RELAY_SECONDS],
        log_level=values[LOG_LEVEL],
        reliability=reliability_settings,
        port=values[PORT],
        var_dir=values[VAR_DIR],
        behind_proxy=values[BEHIND_PROXY],
        max_content_length=values[MAX_CONTENT_LENGTH],
        agency=agency_profile,
        staff_idle_timeout=timedelta(minutes=values[STAFF_IDLE_MINUTES]),
        staff_session_lifetime=timedelta(hours=values[STAFF_SESSION_HOURS]),
        staff_sign_in_limit=values[STAFF_SIGN_IN_LIMIT],
        staff_sign_in_email_limit=values[STAFF_SIGN_IN_EMAIL_LIMIT],
        staff_sign_in_url=values[STAFF_SIGN_IN_URL],
        staff_password_hash=values[STAFF_PASSWORD_HASH],
        staff_invitation_lifetime=timedelta(days=values[STAFF_INVITATION_DAYS]),
        staff_password_reset_lifetime=timedelta(minutes=values[STAFF_PASSWORD_RESET_MINUTES]),
        staff_password_reset_limit=values[STAFF_PASSWORD_RESET_LIMIT],
        intake_draft_lifetime=timedelta(days=values[INTAKE_DRAFT_DAYS]),
        intake_status_link_lifetime=timedelta(days=values[INTAKE_STATUS_LINK_DAYS]),
        intake_rate_limit=values[INTAKE_RATE_LIMIT],
        review_initial_term_years=values[REVIEW_INITIAL_TERM_YEARS],
        delivery=DeliverySettings(
            retry_schedule=schedule,
            sending_lease=timedelta(seconds=values[NOTIFY_SENDING_LEASE_SECONDS]),
            requeue_after=timedelta(seconds=values[NOTIFY_REQUEUE_SECONDS]),
        ),
        alliance_password=values[ALLIANCE_PASSWORD],
        reporting=ReportingSettings(
            quarterly=(
                QUARTERLY_REPORTS[profile]
                if values[REPORT_QUARTERLY] is None
                else bool(values[REPORT_QUARTERLY])
            ),
            fiscal_year_start_month=(
                values[REPORT_FISCAL_YEAR_START_MONTH] or FISCAL_YEAR_START_MONTH[profile]
            ),
            annual=values[REPORT_ANNUAL],
            quarterly_due_days=values[REPORT_QUARTERLY_DUE_DAYS],
            annual_due_days=values[REPORT_ANNUAL_DUE_DAYS],
            reminder_days=values[REPORT_REMINDER_DAYS],
            reminder_hour=values[REPORT_REMINDER_HOUR],
            revision_days=values[REPORT_REVISION_DAYS],
            link_lifetime=timedelta(days=values[REPORT_LINK_DAYS]),
        ),
        mail_backend=mail_backend,
        mail_logo_url=values[MAIL_LOGO_URL],
        mail_signature=(
            values[MAIL_SIGNATURE].replace("\\n", "\n")
            or MAIL_SIGNATURES[profile].format(agency=agency_profile.name)
        ),
    )


def coordinator_email_warning(settings: Settings) -> str | None:
    """One line saying COORDINATOR_EMAIL was left at its placeholder address (None when it
    was not, and in production, which requires it): ``make run`` and notify's worker print it
    at start. The Coordinator's mail (new proposals, escalations, mail that could not be
    delivered, a disabled webhook endpoint) goes to the active Coordinators review announces,
    and to this address only while there is none."""
    if settings.production or settings.coordinator_email != COORDINATOR_EMAIL.default:
        return None
    return (
        f"warning: COORDINATOR_EMAIL is left at its default {COORDINATOR_EMAIL.default}, which"
        " gets the Coordinator's alerts (new proposals, escalations, failed mail, disabled"
        " webhooks) until a Coordinator is created (alliance create-coordinator); set"
        " COORDINATOR_EMAIL to the Coordinator's real address"
    )


@functools.cache
def load_settings() -> Settings:
    """This process's settings: read from the environment and checked the first time, the
    same object afterwards."""
    return read_settings(os.environ)


def reset_settings() -> None:
    """Forget the settings read, so that the next ``load_settings()`` reads the environment
    again (for tests, and a command run in-process, that change it)."""
    load_settings.cache_clear()


# -- docs/configuration.md --------------------------------------------------------------------

BEGIN = "<!-- settings: generated from shared/config.py; do not edit by hand -->"
END = "<!-- end of settings -->"


def configuration_tables() -> str:
    """The Markdown tables of every declared setting, section by section."""
    lines: list[str] = []
    for declared in SECTIONS:
        lines += [f"## {declared.title}", "", declared.about, ""]
        lines += [
            "| Variable | Default | Production | Accepts | What it does |",
            "| --- | --- | --- | --- | --- |",
        ]
        for setting in declared.settings:
            cells = (
                f"`{setting.name}`",
                setting.shown_default(),
                "required" if setting.production else "",
                setting.parser.accepts,
                setting.doc,
            )
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines + production_refusals())


def production_refusals() -> list[str]:
    """The Markdown list of what ``APP_ENV=production`` refuses (production_problems)."""

    def listed(values: Iterable[str]) -> str:
        return ", ".join(f"`{value}`" for value in sorted(values))

    keys = (SECRET_KEY, SECRET_KEY_FALLBACKS, WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS)
    urls = (REDIS_URL, *DATABASE_URLS.values())
    return [
        "## What production refuses",
        "",
        "With `APP_ENV=production` the process also stops, naming the variable and what to do, "
        "when:",
        "",
        f"- a key ({', '.join(f'`{s.name}`' for s in keys)}; each fallback too) is shorter "
        f"than {SECRET_MIN_BYTES} bytes, uses fewer than {SECRET_MIN_DISTINCT} different "
        "characters, is a placeholder (it contains "
        f"{listed(PLACEHOLDER_MARKERS)}) or one of the defaults published in this repository: "
        f"{listed(KNOWN_DEFAULT_SECRETS)};",
        f"- a server's URL ({', '.join(f'`{s.name}`' for s in urls)}) carries no password, "
        f"a password shorter than {PASSWORD_MIN_CHARACTERS} characters, its user name, a "
        f"placeholder or a default: {listed(KNOWN_DEFAULT_PASSWORDS)};",
        f"- a debug switch is on: {listed(DEBUG_SWITCHES)} (`FLASK_DEBUG` and `ALLIANCE_DEBUG` "
        "count as on unless `0`, `false` or `no`, as Flask reads them; `FLASK_ENV` when "
        "`development`);",
        f"- `{PUBLIC_BASE_URL.name}` or an absolute `{STAFF_SIGN_IN_URL.name}` does not start "
        "with `https://`;",
        f"- `{STAFF_PASSWORD_HASH.name}` is not `strong`.",
        "",
        "Rotating `SECRET_KEY`: set the new key and move the old one to "
        "`SECRET_KEY_FALLBACKS`. Links, sessions and form tokens signed with the old key keep "
        "opening; everything new is signed with the new one. Drop the old key once what it "
        "signed may stop working (a status link lives `INTAKE_STATUS_LINK_DAYS`, a report "
        "link `REPORT_LINK_DAYS`). While `WEBHOOK_SECRETS_KEY` is unset the endpoints' secrets "
        "follow `SECRET_KEY` and its fallbacks: rotate each endpoint's secret before dropping "
        "the old key.",
        "",
    ]


def with_tables(document: str) -> str:
    """``document`` with the part between its markers replaced by ``configuration_tables()``."""
    head, begin, rest = document.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the document lacks the markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{configuration_tables()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """``python -m shared.config docs/configuration.md``: regenerate its tables."""
    if len(argv) != 1:
        print("usage: python -m shared.config docs/configuration.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(with_tables(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
