"""Issue 16: COORDINATOR_EMAIL left at its placeholder (coordinator@agency.example) got the
Coordinator's mail and nothing said so. Outside production (which requires the variable),
``make run`` and notify's worker now print one warning line at start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest

from deploy import supervisor
from shared.agency import DEFAULT_HAZARDS, FEDERAL_OFFICES, STATE_PLAN_DIVISIONS
from shared.config import (
    DEVELOPMENT_SECRET_KEY,
    PORT,
    PROJECT_ROOT,
    SERVICES,
    ConfigurationError,
    Setting,
    coordinator_email_warning,
    declared_settings,
    load_settings,
    read_settings,
    reset_settings,
    whole,
)
from tests.production import production_environment

pytestmark = pytest.mark.unit

PASSWORD = secrets.token_hex(12)
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": secrets.token_hex(32),  # production refuses a short or published key
    "REDIS_URL": f"redis://:{PASSWORD}@redis:6379/0",
    "PUBLIC_BASE_URL": "https://alliances.agency.example/",
    "COORDINATOR_EMAIL": "cora@agency.example",
    **{
        f"{service.upper()}_DATABASE_URL": (
            f"postgresql://alliance:{PASSWORD}@db:5432/alliance_{service}"
        )
        for service in SERVICES
    },
}


def refusal(environ: dict[str, str]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as refused:
        read_settings(environ)
    return refused.value


# -- defaults ---------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_development_defaults():
    settings = read_settings({})
    assert (settings.env, settings.production) == ("development", False)
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.database_url("review") == (
        "postgresql+psycopg://postgres@127.0.0.1:5432/alliance_review"
    )
    assert str(settings.agency_timezone) == "America/Detroit"
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert (settings.port, settings.var_dir) == (8000, PROJECT_ROOT / "var")
    assert settings.mail_dir == PROJECT_ROOT / "var" / "mail"
    assert settings.smtp is None
    assert (settings.behind_proxy, settings.max_content_length) == (False, 256 * 1024)
    assert settings.log_level == "INFO"
    assert settings.staff_idle_timeout == timedelta(minutes=30)
    assert settings.staff_session_lifetime == timedelta(hours=12)
    assert settings.staff_sign_in_limit == "10 per minute;100 per hour"
    assert settings.intake_draft_lifetime == timedelta(days=30)
    assert settings.intake_status_link_lifetime == timedelta(days=730)
    assert settings.intake_rate_limit == "20 per minute;200 per hour"
    assert settings.review_initial_term_years == 2
    assert settings.delivery.max_attempts == 13
    assert settings.delivery.sending_lease == timedelta(seconds=120)
    assert settings.delivery.requeue_after == timedelta(seconds=300)
    reliability = settings.reliability
    assert (reliability.visibility_timeout, reliability.task_time_limit) == (900, 120)
    assert reliability.worker_stall_seconds == 150  # the task time limit + 30
    assert (reliability.outbox_publications, reliability.retry_after_seconds) == (2, 30)


def test_a_blank_value_counts_as_unset():
    assert read_settings({"SMTP_PORT": "  ", "AGENCY_TIMEZONE": ""}) == read_settings({})


def test_derived_defaults_follow_the_settings_they_come_from():
    settings = read_settings({"PORT": "9000", "CELERY_VISIBILITY_TIMEOUT": "20"})
    assert settings.public_base_url == "http://127.0.0.1:9000"
    assert settings.reliability.task_time_limit == 16
    assert settings.reliability.worker_stall_seconds == 46


def test_the_agency_profile_chooses_its_name_and_lists():
    state = read_settings({}).agency
    assert (state.name, state.divisions, state.hazards) == (
        "MIOSHA",
        STATE_PLAN_DIVISIONS,
        DEFAULT_HAZARDS,
    )
    federal = read_settings({"AGENCY_PROFILE": "federal"}).agency
    assert (federal.name, federal.divisions) == ("OSHA", FEDERAL_OFFICES)
    custom = read_settings(
        {"AGENCY_NAME": "Cal/OSHA", "AGENCY_HAZARDS": "falls=Falls, heat_illness ,"}
    ).agency
    assert custom.name == "Cal/OSHA"
    assert custom.hazards == {"falls": "Falls", "heat_illness": "Heat illness"}


def test_smtp_is_used_only_when_named():
    assert read_settings({"SMTP_PORT": "2525"}).smtp is None
    smtp = read_settings(
        {"SMTP_HOST": "mail.example", "SMTP_PORT": "2525", "SMTP_STARTTLS": "yes"}
    ).smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.starttls, smtp.timeout) == ("mail.example", 2525, True, 10)
    assert read_settings({"SMTP_HOST": "mail.example", "SMTP_TIMEOUT": "4"}).smtp.timeout == 4.0


# -- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "accepts"),
    [
        ("STAFF_IDLE_MINUTES", "abc", "a whole number of minutes, at least 1"),
        ("STAFF_IDLE_MINUTES", "0", "a whole number of minutes, at least 1"),
        ("SMTP_PORT", "x", "a whole number from 1 to 65535"),
        ("SMTP_PORT", "70000", "a whole number from 1 to 65535"),
        ("SMTP_TIMEOUT", "soon", "a number of seconds, at least 1"),
        ("SMTP_STARTTLS", "sometimes", "true or false"),
        ("AGENCY_TIMEZONE", "Mars/Base", "an IANA time zone name"),
        ("BEHIND_PROXY", "maybe", "true or false (or 1/0, yes/no, on/off)"),
        ("APP_ENV", "staging", "one of development, test, production"),
        ("AGENCY_PROFILE", "county", "one of state_plan, federal"),
        ("LOG_LEVEL", "loud", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("REDIS_URL", "127.0.0.1:6379", "a URL starting with redis://"),
        ("NOTIFY_DATABASE_URL", "mysql://db/notify", "a PostgreSQL URL"),
        ("PUBLIC_BASE_URL", "alliances.agency.example", "a URL starting with http://"),
        ("COORDINATOR_EMAIL", "coordinator", "an e-mail address"),
        ("MAIL_FROM", "Alliance Program", "an e-mail address, with or without a name"),
        ("INTAKE_RATE_LIMIT", "lots", "limits in Flask-Limiter's notation"),
        ("STAFF_SIGN_IN_LIMIT", "5 per fortnight", "limits in Flask-Limiter's notation"),
        ("ALLIANCE_STAFF_SIGN_IN_URL", "sign-in", "(or a path starting with /)"),
        ("ALLIANCE_MAX_CONTENT_LENGTH", "big", "a whole number of bytes"),
        ("INTAKE_DRAFT_DAYS", "0", "a whole number of days, at least 1"),
        # These three fell back to a default, or were clamped, without a word.
        ("REVIEW_INITIAL_TERM_YEARS", "11", "a whole number of years, from 1 to 10"),
        ("OUTBOX_PUBLICATIONS", "0", "a whole number, at least 1"),
        ("CELERY_VISIBILITY_TIMEOUT", "nan", "a number of seconds, at least 5"),
        ("WORKER_STALL_SECONDS", "1", "a number of seconds, at least 5"),
        ("RETRY_AFTER_SECONDS", "2.5", "a whole number of seconds, at least 1"),
        ("AGENCY_HAZARDS", "Falls", "comma-separated slug=Label pairs"),
        ("NOTIFY_RETRY_SCHEDULE", "1h,5m", "durations such as 30s,1m,2h,1d"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_it_accepts(name, raw, accepts):
    refused = refusal({name: raw})
    [problem] = refused.problems
    assert problem.startswith(f"{name}={raw!r} is refused: ")
    assert accepts in problem
    assert str(refused) == f"{problem} (every setting: docs/configuration.md)"


def test_a_refusal_says_what_exactly_is_wrong_when_the_parser_knows():
    [problem] = refusal({"AGENCY_HAZARDS": "falls=Falls,Heat=Heat"}).problems
    assert "'Heat' is not a slug (lower-case letters, digits and _)" in problem
    [problem] = refusal({"NOTIFY_RETRY_SCHEDULE": "1h,5m"}).problems
    assert "it must not shrink: 0:05:00 comes after 1:00:00" in problem


def test_every_bad_value_is_named_at_once():
    refused = refusal({"SMTP_PORT": "x", "STAFF_IDLE_MINUTES": "abc", "BEHIND_PROXY": "maybe"})
    assert [problem.split("=")[0] for problem in refused.problems] == [
        "BEHIND_PROXY",
        "SMTP_PORT",
        "STAFF_IDLE_MINUTES",
    ]
    assert str(refused).startswith("3 settings are wrong (every setting: docs/configuration.md):")


def test_a_secret_value_is_never_repeated():
    pin = Setting("TEST_PIN", whole("digits", 1000, 9999), 1234, "a test", secret=True)
    with pytest.raises(ConfigurationError) as refused:
        pin.parse("12")
    assert refused.value.problems == [
        "TEST_PIN is refused: expected a whole number of digits, from 1000 to 9999"
    ]


def test_one_setting_alone_is_read_and_checked_the_same_way():
    assert PORT.read({}) == 8000
    assert PORT.read({"PORT": " 8123 "}) == 8123
    with pytest.raises(ConfigurationError, match="PORT='eighty' is refused"):
        PORT.read({"PORT": "eighty"})


# -- production -------------------------------------------------------------------------------


def test_production_starts_with_its_required_settings():
    settings = read_settings(PRODUCTION)
    assert settings.production
    assert settings.public_base_url == "https://alliances.agency.example"


def test_production_refuses_to_start_without_any_required_setting():
    required = [setting.name for setting in declared_settings() if setting.production]
    assert sorted(required) == sorted(
        [
            "SECRET_KEY",
            "PUBLIC_BASE_URL",
            "REDIS_URL",
            "COORDINATOR_EMAIL",
            *(f"{service.upper()}_DATABASE_URL" for service in SERVICES),
        ]
    )
    assert refusal({"APP_ENV": "production"}).problems == [
        f"{name} must be set when APP_ENV=production" for name in required
    ]
    for name in required:
        assert refusal({**PRODUCTION, name: " "}).problems == [
            f"{name} must be set when APP_ENV=production"
        ]


def test_development_fills_in_what_production_requires():
    development = {k: v for k, v in PRODUCTION.items() if k not in ("APP_ENV", "SECRET_KEY")}
    assert read_settings(development).secret_key == DEVELOPMENT_SECRET_KEY


def test_the_sending_lease_must_outlast_the_smtp_time_outs():
    refused = refusal({"SMTP_HOST": "mail.example", "NOTIFY_SENDING_LEASE_SECONDS": "60"})
    assert refused.problems == [
        "NOTIFY_SENDING_LEASE_SECONDS must outlast a send's SMTP time-outs (5 x 10 s) plus "
        "30 s: at least 80, not 60"
    ]
    # Without SMTP, mail is written to files: no time-outs to outlast.
    assert read_settings({"NOTIFY_SENDING_LEASE_SECONDS": "60"}).delivery.sending_lease == (
        timedelta(seconds=60)
    )


# -- read once --------------------------------------------------------------------------------


def test_the_settings_are_read_once_per_process_until_reset():
    first = load_settings()
    with pytest.MonkeyPatch.context() as plain:  # pytest's own: it resets nothing
        plain.setenv("STAFF_IDLE_MINUTES", "7")
        assert load_settings() is first
        reset_settings()
        assert load_settings().staff_idle_timeout == timedelta(minutes=7)
        plain.setenv("STAFF_IDLE_MINUTES", "abc")
        reset_settings()
        with pytest.raises(ConfigurationError, match="STAFF_IDLE_MINUTES='abc'"):
            load_settings()
    reset_settings()
    assert load_settings() == first


def test_a_test_that_sets_a_variable_sees_it(monkeypatch, tmp_path):
    """conftest.py's monkeypatch makes the next load_settings() read the environment again."""
    monkeypatch.setenv("SMTP_HOST", "mail.agency.example")
    assert load_settings().smtp.host == "mail.agency.example"
    monkeypatch.setenv("MAIL_DIR", str(tmp_path))
    assert load_settings().mail_dir == tmp_path


PLACEHOLDER = "coordinator@agency.example"


def without_coordinator_email() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "COORDINATOR_EMAIL"}


def test_the_placeholder_address_is_named_in_one_line():
    line = coordinator_email_warning(read_settings(without_coordinator_email()))
    assert line is not None
    assert "\n" not in line
    assert line.startswith(f"warning: COORDINATOR_EMAIL is left at its default {PLACEHOLDER}")
    assert "alliance create-coordinator" in line


def test_no_warning_for_a_real_address_or_in_production():
    given = {**without_coordinator_email(), "COORDINATOR_EMAIL": "cora@agency.gov"}
    assert coordinator_email_warning(read_settings(given)) is None
    production = {**os.environ, **production_environment(without_coordinator_email())}
    assert production["COORDINATOR_EMAIL"] == PLACEHOLDER
    assert coordinator_email_warning(read_settings(production)) is None


def test_make_run_prints_the_warning_once_at_start(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("COORDINATOR_EMAIL")

    # Stop right after the settings are checked: another `make run` holds the var folder.
    class Running:
        pid = 4242

    monkeypatch.setattr(supervisor, "running_state", lambda path: (Running(), ""))
    assert supervisor.Supervisor(var_dir=tmp_path, port=8123, concurrency=1).run() == 1
    printed = capsys.readouterr().out.splitlines()
    warnings = [line for line in printed if "COORDINATOR_EMAIL" in line]
    assert warnings == [f"[alliance] {coordinator_email_warning(read_settings(os.environ))}"]


def test_notify_worker_logs_the_warning_when_it_starts():
    def start(env: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", "import services.notify.worker"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr

    assert start(without_coordinator_email()).splitlines() == [
        coordinator_email_warning(read_settings(without_coordinator_email()))
    ]
    assert start({**without_coordinator_email(), "COORDINATOR_EMAIL": "cora@agency.gov"}) == ""
