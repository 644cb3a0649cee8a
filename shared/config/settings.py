"""The ``Settings`` object: every setting read from the environment and checked once per process
(``load_settings()``), grouped as the code uses them."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from shared.agency import (
    DEFAULT_ACTIVITIES,
    DEFAULT_HAZARDS,
    DEFAULT_PRIORITY_AREAS,
    FEDERAL_OFFICES,
    FISCAL_YEAR_START_MONTH,
    QUARTERLY_REPORTS,
    STATE_PLAN_DIVISIONS,
    AgencyProfile,
    Choices,
)
from shared.config.agency import (
    AGENCY_ACTIVITIES,
    AGENCY_DIVISIONS,
    AGENCY_GOVERNMENT,
    AGENCY_HAZARDS,
    AGENCY_NAME,
    AGENCY_OFFICES,
    AGENCY_PRIORITY_AREAS,
    AGENCY_PROFILE,
    AGENCY_TIMEZONE,
)
from shared.config.declarations import SERVICES, ConfigurationError, Setting
from shared.config.intake import INTAKE_DRAFT_DAYS, INTAKE_RATE_LIMIT, INTAKE_STATUS_LINK_DAYS
from shared.config.mail import (
    COORDINATOR_EMAIL,
    MAIL_BACKEND,
    MAIL_DIR,
    MAIL_FROM,
    MAIL_LOGO_URL,
    MAIL_SIGNATURE,
    MAIL_SIGNATURES,
    SMTP_HOST,
    SMTP_PASSWORD,
    SMTP_PORT,
    SMTP_STARTTLS,
    SMTP_TIMEOUT,
    SMTP_USERNAME,
)
from shared.config.monitoring import LOG_FORMAT, METRICS_PORT, PROMETHEUS_MULTIPROC_DIR
from shared.config.notify import (
    NOTIFY_REQUEUE_SECONDS,
    NOTIFY_RETRY_SCHEDULE,
    NOTIFY_SENDING_LEASE_SECONDS,
    WEBHOOK_ALLOWED_HOSTS,
    WEBHOOK_CONNECT_TIMEOUT_SECONDS,
    WEBHOOK_DISABLE_AFTER_DAYS,
    WEBHOOK_MAX_RETRY_AFTER_SECONDS,
    WEBHOOK_READ_TIMEOUT_SECONDS,
    WEBHOOK_RETRY_SCHEDULE,
    WEBHOOK_SECRETS_KEY,
    WEBHOOK_SECRETS_KEY_FALLBACKS,
)
from shared.config.production import production_problems
from shared.config.reliability import (
    BEAT_LEADER_SECONDS,
    CELERY_VISIBILITY_TIMEOUT,
    DELIVERY_SWEEP_SECONDS,
    OUTBOX_PUBLICATIONS,
    OUTBOX_RELAY_SECONDS,
    OUTBOX_REPUBLISH_SECONDS,
    RETRY_AFTER_SECONDS,
    WORKER_STALL_SECONDS,
)
from shared.config.reporting import (
    REPORT_ANNUAL,
    REPORT_ANNUAL_DUE_DAYS,
    REPORT_FISCAL_YEAR_START_MONTH,
    REPORT_LINK_DAYS,
    REPORT_QUARTERLY,
    REPORT_QUARTERLY_DUE_DAYS,
    REPORT_REMINDER_DAYS,
    REPORT_REMINDER_HOUR,
    REPORT_REVISION_DAYS,
)
from shared.config.review import REVIEW_INITIAL_TERM_YEARS
from shared.config.running import (
    ALLIANCE_PASSWORD,
    APP_ENV,
    BEHIND_PROXY,
    DATABASE_URLS,
    LOG_LEVEL,
    MAX_CONTENT_LENGTH,
    PORT,
    PUBLIC_BASE_URL,
    REDIS_URL,
    SECRET_KEY,
    SECRET_KEY_FALLBACKS,
    VAR_DIR,
)
from shared.config.sections import declared_settings
from shared.config.staff import (
    STAFF_IDLE_MINUTES,
    STAFF_INVITATION_DAYS,
    STAFF_PASSWORD_HASH,
    STAFF_PASSWORD_RESET_LIMIT,
    STAFF_PASSWORD_RESET_MINUTES,
    STAFF_SESSION_HOURS,
    STAFF_SIGN_IN_EMAIL_LIMIT,
    STAFF_SIGN_IN_LIMIT,
    STAFF_SIGN_IN_URL,
)
from shared.offices import FEDERAL_OFFICE_TREE, state_plan_offices

log = logging.getLogger(__name__)

T = TypeVar("T")

# Where a worker or the beat serves its metrics in production unless METRICS_PORT says.
DEFAULT_METRICS_PORT = 9100


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


# A webhook delivery whose worker died mid-attempt (``sending`` this long past its start) is
# due again.
WEBHOOK_LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class WebhookSettings:
    """How notify delivers to the Coordinator's webhook endpoints (services/notify/webhooks)."""

    allowed_hosts: frozenset[str]
    # retry_schedule[n - 1] is the pause after the n-th failed attempt.
    retry_schedule: tuple[timedelta, ...]
    max_retry_after: timedelta
    connect_timeout: float
    read_timeout: float
    disable_after: timedelta
    # Encrypts the endpoints' secrets at rest (services/notify/webhooks/signing.py):
    # WEBHOOK_SECRETS_KEY, or else SECRET_KEY.
    secrets_key: str
    # Older keys that still decrypt what they encrypted (with SECRET_KEY_FALLBACKS while the
    # key is SECRET_KEY).
    secrets_key_fallbacks: tuple[str, ...] = ()

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1

    @property
    def sending_lease(self) -> timedelta:
        """Longer than any attempt can take: connect, send and read are each bounded."""
        return (
            timedelta(seconds=self.connect_timeout + 2 * self.read_timeout) + WEBHOOK_LEASE_MARGIN
        )


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
    webhooks: WebhookSettings
    alliance_password: str
    reporting: ReportingSettings
    # notify's messages: MAIL_BACKEND resolved, MAIL_LOGO_URL, MAIL_SIGNATURE (or
    # the profile's signature), each line of it one line of the message's signature.
    mail_backend: str = "files"
    mail_logo_url: str = ""
    mail_signature: str = ""
    # SECRET_KEY_FALLBACKS: older keys that still open what they signed.
    secret_key_fallbacks: tuple[str, ...] = ()
    # LOG_FORMAT resolved: "json" or "human" (shared/logs.py).
    log_format: str = "human"
    # METRICS_PORT resolved: where a worker or the beat serves its metrics, 0 for nowhere.
    metrics_port: int = 0
    # PROMETHEUS_MULTIPROC_DIR: where the processes of one server keep their counts (None:
    # each process its own; shared/metrics.py).
    metrics_dir: Path | None = None

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


class Values:
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
    values = Values(environ)
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
            "NOTIFY_RETRY_SCHEDULE gives up after %s: a message the mail server keeps refusing "
            "for longer fails (a server that cannot be reached at all costs no attempts)",
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
    chosen = {key: given or dict(defaults[key]) for key, given in lists.items()}
    agency_name = values[AGENCY_NAME] or ("OSHA" if federal else "MIOSHA")
    agency_profile = AgencyProfile(
        profile=profile,
        name=agency_name,
        government=values[AGENCY_GOVERNMENT]
        or ("the United States government" if federal else "the State of Michigan"),
        offices=values[AGENCY_OFFICES]
        or (
            FEDERAL_OFFICE_TREE if federal else state_plan_offices(agency_name, chosen["divisions"])
        ),
        **chosen,
    )

    webhook_hosts: tuple[str, ...] = values[WEBHOOK_ALLOWED_HOSTS]
    metrics_port = values[METRICS_PORT]
    if metrics_port is None:
        metrics_port = DEFAULT_METRICS_PORT if production else 0
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
        webhooks=WebhookSettings(
            allowed_hosts=frozenset(webhook_hosts),
            retry_schedule=values[WEBHOOK_RETRY_SCHEDULE],
            max_retry_after=timedelta(seconds=values[WEBHOOK_MAX_RETRY_AFTER_SECONDS]),
            connect_timeout=values[WEBHOOK_CONNECT_TIMEOUT_SECONDS],
            read_timeout=values[WEBHOOK_READ_TIMEOUT_SECONDS],
            disable_after=timedelta(days=values[WEBHOOK_DISABLE_AFTER_DAYS]),
            secrets_key=values[WEBHOOK_SECRETS_KEY] or values[SECRET_KEY],
            secrets_key_fallbacks=(
                values[WEBHOOK_SECRETS_KEY_FALLBACKS]
                if values[WEBHOOK_SECRETS_KEY]
                # Derived from SECRET_KEY: its fallbacks open what they sealed.
                else values[WEBHOOK_SECRETS_KEY_FALLBACKS] + values[SECRET_KEY_FALLBACKS]
            ),
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
        log_format=values[LOG_FORMAT] or ("json" if production else "human"),
        metrics_port=metrics_port,
        metrics_dir=values[PROMETHEUS_MULTIPROC_DIR],
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


def load_agency_profile() -> AgencyProfile:
    """This deployment's profile (the ``AGENCY_*`` settings, read and checked with the others)."""
    return load_settings().agency
