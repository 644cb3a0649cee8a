"""``alliance config check``: every setting's state and what is wrong with it, by the rules the
processes start with; exit 1 when they would refuse to start; never a secret printed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from deploy.cli import main as alliance
from deploy.operations.config_check import masked_url

pytestmark = pytest.mark.unit

STRONG = "4f9c2b7e1d8a6f3c5b0e9d2a7c4f1b8e6d3a0c9f2e5b8d1a"


def check(*args: str, **env: str | None) -> tuple[int, str]:
    result = CliRunner().invoke(alliance, ["config", "check", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_a_weak_secret_key_in_production_exits_1_naming_it_without_printing_it():
    code, output = check(APP_ENV="production", SECRET_KEY="short-key")
    assert code == 1
    assert "FAIL  SECRET_KEY " in output
    assert "SECRET_KEY is refused when APP_ENV=production: it is shorter than 32 bytes" in output
    assert "short-key" not in output
    assert "the processes would refuse to start as APP_ENV=production" in output


def test_the_development_defaults_pass_and_say_what_production_would_refuse():
    code, output = check(APP_ENV="development", SECRET_KEY=None, PUBLIC_BASE_URL=None)
    assert code == 0, output
    assert "FAIL" not in output
    assert "in production: SECRET_KEY must be set when APP_ENV=production" in output
    assert output.rstrip().endswith("(`alliance config check --production`)")


def test_production_checks_every_server_url_and_never_prints_a_password(monkeypatch):
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": STRONG,
        "PUBLIC_BASE_URL": "https://alliances.agency.example",
        "COORDINATOR_EMAIL": "coordinator@agency.example",
        "REDIS_URL": "redis://:Zq8-long-broker-pass@redis:6379/0",
        "INTAKE_DATABASE_URL": "postgresql://intake:intake@db/intake",  # its user name
        "REVIEW_DATABASE_URL": "postgresql://review:Kq7-long-review-pass@db/review",
        "REPORTING_DATABASE_URL": "postgresql://reporting:Pw3-long-reporting@db/reporting",
        "NOTIFY_DATABASE_URL": "postgresql://notify:Nn5-long-notify-pass@db/notify",
        "STAFF_PASSWORD_HASH": "strong",
        "FLASK_DEBUG": "1",
    }
    code, output = check(**env)
    assert code == 1
    lines = [line for line in output.splitlines() if "FAIL" in line]
    assert [line.split()[1] for line in lines] == ["INTAKE_DATABASE_URL", "FLASK_DEBUG"]
    assert "postgresql://intake:***@db/intake" in output
    assert "INTAKE_DATABASE_URL is refused when APP_ENV=production: its password is its user" in (
        output
    )
    for secret in ("Zq8-long-broker-pass", "Kq7-long-review-pass", STRONG):
        assert secret not in output
    assert "2 problem(s)" in output

    del env["INTAKE_DATABASE_URL"], env["FLASK_DEBUG"]
    code, output = check(
        **env,
        INTAKE_DATABASE_URL="postgresql://intake:Ii9-long-intake-pass@db/intake",
        FLASK_DEBUG=None,
    )
    assert code == 0, output
    assert output.rstrip().endswith("ok: the processes start as APP_ENV=production")


def test_production_flag_checks_as_production_would_whatever_app_env_says():
    code, output = check("--production", APP_ENV="development", SECRET_KEY="development-only-x")
    assert code == 1
    assert "Settings as APP_ENV=production" in output
    assert "SECRET_KEY is refused when APP_ENV=production: it is a placeholder" in output


def test_a_value_that_does_not_parse_fails_in_development_too():
    code, output = check(APP_ENV="development", PORT="eighty")
    assert code == 1
    assert "PORT='eighty' is refused: expected a whole number" in output


def test_help():
    code, output = check("--help")
    assert code == 0
    assert "Exits 1 when the processes would refuse to start" in output


def test_masked_url_hides_the_password_wherever_it_is():
    assert masked_url("redis://:pw@r:6379/0") == "redis://:***@r:6379/0"
    assert masked_url("postgresql://u:p%40ss@h/db?sslmode=require") == (
        "postgresql://u:***@h/db?sslmode=require"
    )
    assert masked_url("unix:///run/redis.sock?password=x&db=1") == (
        "unix:///run/redis.sock?password=***&db=1"
    )
    assert masked_url("postgresql://u@h/db") == "postgresql://u@h/db"
