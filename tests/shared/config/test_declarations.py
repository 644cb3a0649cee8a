"""Every setting is declared once (shared/config/), documented from the declarations, and
checked when any process starts: a web app, a worker or the beat, an ``alliance`` command."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from deploy.cli import main as alliance
from shared.config import (
    BEGIN,
    END,
    PROJECT_ROOT,
    SERVICES,
    ConfigurationError,
    configuration_tables,
    declared_settings,
)

pytestmark = pytest.mark.unit

DOCUMENT = PROJECT_ROOT / "docs" / "configuration.md"


def test_the_configuration_document_matches_the_declarations():
    document = DOCUMENT.read_text(encoding="utf-8")
    generated = document.partition(BEGIN)[2].partition(END)[0]
    assert generated.strip() == configuration_tables().strip(), (
        "docs/configuration.md is out of date: run `python -m shared.config docs/configuration.md`"
    )
    for setting in declared_settings():
        assert f"| `{setting.name}` |" in generated


def test_each_variable_is_declared_once_with_what_people_need_to_know():
    names = [setting.name for setting in declared_settings()]
    assert len(names) == len(set(names))
    for setting in declared_settings():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", setting.name), setting.name
        assert setting.doc, setting.name
        assert setting.parser.accepts, setting.name
        assert setting.shown_default(), setting.name


def test_the_readme_points_to_the_configuration_document_and_names_only_real_settings():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/configuration.md" in readme
    table = readme.partition("## Real servers")[2].partition("\n## ")[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)(?:=[a-z_]+)?`", table))
    assert named, "the README's table of the main settings is gone"
    assert named <= {setting.name for setting in declared_settings()}


ENVIRONMENT_READ = re.compile(r"os\.environ\s*(\.get|\[)|os\.getenv|getenv\(|from_prefixed_env")


def test_only_the_declarations_read_the_environment():
    """A variable read anywhere else would escape the check at start-up and the document."""
    readers = []
    for folder in ("shared", "services", "deploy"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            relative = path.relative_to(PROJECT_ROOT)
            if "tests" in relative.parts or relative.parts[:2] == ("shared", "config"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ENVIRONMENT_READ.search(line):
                    readers.append(f"{relative}:{number}: {line.strip()}")
    assert readers == []


# -- a bad value stops every kind of process at start-up --------------------------------------


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("STAFF_IDLE_MINUTES", "abc"),
        ("SMTP_PORT", "x"),
        ("AGENCY_TIMEZONE", "Mars/Base"),
        ("BEHIND_PROXY", "maybe"),
    ],
)
def test_a_web_app_does_not_start_with_a_bad_setting(monkeypatch, service, name, raw):
    create_app = importlib.import_module(f"services.{service}").create_app
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigurationError) as refused:
        create_app({"TESTING": True})
    assert refused.value.problems == [
        next(s for s in declared_settings() if s.name == name).complaint(raw, ValueError(raw))
    ]
    assert str(refused.value).startswith(f"{name}={raw!r} is refused: expected ")


def test_a_web_app_takes_its_settings_from_the_settings_object(monkeypatch):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from services.reporting import create_app

    monkeypatch.setenv("BEHIND_PROXY", "on")
    monkeypatch.setenv("ALLIANCE_MAX_CONTENT_LENGTH", "1024")
    monkeypatch.setenv("ALLIANCE_STAFF_SIGN_IN_URL", "/staff/sign-in")
    app = create_app()
    assert isinstance(app.wsgi_app, ProxyFix)
    assert app.config["MAX_CONTENT_LENGTH"] == 1024
    assert app.config["STAFF_SIGN_IN_URL"] == "/staff/sign-in"
    monkeypatch.setenv("BEHIND_PROXY", "off")
    assert not isinstance(create_app().wsgi_app, ProxyFix)


def test_workers_and_the_beat_do_not_start_with_a_bad_setting(monkeypatch):
    from shared.celery_app import create_celery

    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="CELERY_VISIBILITY_TIMEOUT='soon' is refused"):
        create_celery("beat")
    with pytest.raises(ConfigurationError, match="CELERY_VISIBILITY_TIMEOUT='soon' is refused"):
        create_celery("notify")


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["worker", "notify"],
        ["beat"],
        ["web"],
        ["healthcheck", "beat"],
        ["create-coordinator", "--email", "cora@agency.example", "--name", "Cora"],
    ],
)
def test_an_alliance_command_names_the_bad_setting_and_does_nothing(command, monkeypatch):
    # Were the settings not checked first, each would go on: exec Celery or gunicorn, reach
    # the databases, the broker or ask for a password.
    monkeypatch.setattr(os, "execvp", lambda *args: pytest.fail(f"started {args}"))
    result = CliRunner().invoke(alliance, command, env={"AGENCY_TIMEZONE": "Mars/Base"})
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: AGENCY_TIMEZONE='Mars/Base' is refused: expected an IANA time zone name such as "
        "America/Detroit (every setting: docs/configuration.md)\n"
    )


def test_alliance_run_prints_the_message_and_starts_nothing(tmp_path):
    env = {
        **os.environ,
        "STAFF_IDLE_MINUTES": "abc",
        "SMTP_PORT": "x",
        "APP_ENV": "development",
    }
    for variable in ("REDIS_URL", *(f"{s.upper()}_DATABASE_URL" for s in SERVICES)):
        env.pop(variable, None)  # it would start the embedded servers for these
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "run", "--var-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: 2 settings are wrong (every setting: docs/configuration.md):\n"
        "  SMTP_PORT='x' is refused: expected a whole number from 1 to 65535\n"
        "  STAFF_IDLE_MINUTES='abc' is refused: expected a whole number of minutes, at least 1\n"
    )
    assert list(tmp_path.iterdir()) == []  # no embedded server, no log


def test_alliance_run_in_production_refuses_the_embedded_servers_which_have_no_password():
    """``alliance run`` provides the broker and database URLs itself, but its embedded servers
    take no password: production wants servers of its own, each URL with its password."""
    from deploy.supervisor import check_settings
    from tests.production import strong_key, strong_password

    env = {
        "APP_ENV": "production",
        "SECRET_KEY": strong_key(),
        "COORDINATOR_EMAIL": "c@agency.example",
        "PUBLIC_BASE_URL": "https://alliances.agency.example",
    }
    with pytest.raises(ConfigurationError) as refused:
        check_settings(env)
    assert [problem.split(" ")[0] for problem in refused.value.problems] == [
        "REDIS_URL",
        *(f"{service.upper()}_DATABASE_URL" for service in SERVICES),
    ]
    assert all("it has no password" in problem for problem in refused.value.problems)
    password = strong_password()
    check_settings(
        {
            **env,
            "REDIS_URL": f"redis://:{password}@127.0.0.1:6379/0",
            **{
                f"{service.upper()}_DATABASE_URL": (
                    f"postgresql://alliance:{password}@127.0.0.1:5432/alliance_{service}"
                )
                for service in SERVICES
            },
        }
    )
