"""Production refuses every secret and password this repository publishes, whatever file it is
in, and every process refuses to start with one (issue 15, finding 3). ``.env.example`` lists
exactly the variables shared/config/ declares (and the few docker-compose.yml adds).

The per-variable refusals are tested one by one in shared/tests/test_production_config.py.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import main as alliance
from shared.config import (
    PROJECT_ROOT,
    SERVICES,
    ConfigurationError,
    declared_settings,
    read_settings,
)
from tests.production import production_environment, strong_key, strong_password

# Where defaults and examples live: everything but the tests themselves (their values are made
# up on the spot), installed packages, vendored assets and run-time data.
SKIPPED_FOLDERS = {".git", ".venv", "node_modules", "var", "__pycache__", "tests", "static"}
SKIPPED_FOLDERS |= {".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist"}
TEXT_SUFFIXES = {".md", ".py", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".sh", ".conf", ".txt"}
TEXT_NAMES = {"Makefile", "Dockerfile", ".env.example", "run"}

KEY_NAME = r"[A-Z_]*SECRETS?_KEY[A-Z_]*"
# (pattern, whether it applies to Python files); the value is the pattern's last group.
KEY_VALUES = [
    # NAME=value, NAME: value (env files, shell, YAML, Markdown)
    (
        re.compile(rf"(?:^|[\s#`]){KEY_NAME}[ \t]*[=:][ \t]*([^\s\"'$`#{{}}][^\s\"'`]*)", re.M),
        False,
    ),
    # "NAME": "value", NAME = "value", ("NAME", "value") (Python, JSON, quoted YAML)
    (re.compile(rf"{KEY_NAME}[\"']?[ \t]*[:=,][ \t]*([\"'])(.*?)\1"), True),
    # ${NAME:-value} (docker-compose.yml)
    (re.compile(rf"\$\{{{KEY_NAME}:?-([^}}]+)\}}"), False),
]
PASSWORD_VALUES = [
    # a password in a URL: scheme://user:password@host
    (
        re.compile(r"\b(?:postgres(?:ql)?(?:\+\w+)?|rediss?|unix)://[^\s:/@'\"]*:([^\s@/'\"]+)@"),
        True,
    ),
    # POSTGRES_PASSWORD=value, REDIS_PASSWORD: value, ${POSTGRES_PASSWORD:-value}
    (
        re.compile(
            r"(?:POSTGRES|REDIS|DATABASE)_PASSWORD[ \t]*[=:][ \t]*[\"']?([^\s\"'$`#{}?][^\s\"'`]*)"
        ),
        True,
    ),
    (re.compile(r"\$\{(?:POSTGRES|REDIS|DATABASE)_PASSWORD:?-([^}]+)\}"), False),
]


def repository_files() -> Iterator[Path]:
    for folder, folders, files in os.walk(PROJECT_ROOT):
        folders[:] = [
            f for f in folders if f not in SKIPPED_FOLDERS and not f.endswith(".egg-info")
        ]
        for name in files:
            path = Path(folder) / name
            if name.startswith("test_") and name.endswith(".py"):
                continue
            if (
                path.suffix in TEXT_SUFFIXES
                or name in TEXT_NAMES
                or name.startswith("docker-compose")
            ):
                yield path


def published(patterns: list[tuple[re.Pattern[str], bool]]) -> dict[str, set[str]]:
    """Each value the patterns find, and the files it is in."""
    found: dict[str, set[str]] = {}
    for path in repository_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern, in_python in patterns:
            if path.suffix == ".py" and not in_python:
                continue
            for match in pattern.finditer(text):
                value = match.group(match.lastindex or 1)
                if value and "$" not in value and "{" not in value:
                    found.setdefault(value, set()).add(str(path.relative_to(PROJECT_ROOT)))
    return found


@pytest.fixture(scope="module")
def production() -> dict[str, str]:
    password = strong_password()
    return {
        "APP_ENV": "production",
        "SECRET_KEY": strong_key(),
        "REDIS_URL": f"redis://:{password}@redis:6379/0",
        "PUBLIC_BASE_URL": "https://alliances.agency.example",
        "COORDINATOR_EMAIL": "coordinator@agency.example",
        **{
            f"{service.upper()}_DATABASE_URL": (
                f"postgresql://alliance:{password}@postgres:5432/alliance_{service}"
            )
            for service in SERVICES
        },
    }


def problems_with(environ: dict[str, str]) -> list[str]:
    try:
        read_settings(environ)
    except ConfigurationError as refused:
        return refused.problems
    return []


# -- every published secret is refused ---------------------------------------------------------


def test_every_secret_key_published_in_the_repository_is_refused(production):
    keys = published(KEY_VALUES)
    # The ones the issue found, and .env.example's placeholder, are among those searched.
    assert "development-only-secret-key" in keys  # shared/config/running.py
    assert "test-secret-key" in keys  # conftest.py
    assert {".env.example"} in keys.values()
    assert problems_with(production) == []
    accepted = {
        value: sorted(files)
        for value, files in keys.items()
        for name in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "WEBHOOK_SECRETS_KEY")
        if not any(p.startswith(name) for p in problems_with({**production, name: value}))
    }
    assert not accepted, f"production takes these keys the repository publishes: {accepted}"


def test_the_compose_default_key_of_the_issue_is_refused(production):
    for name in ("SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        [problem] = problems_with({**production, name: "change-me-in-production"})
        assert problem.startswith(f"{name} is refused when APP_ENV=production: ")


def test_every_server_password_published_in_the_repository_is_refused(production):
    passwords = published(PASSWORD_VALUES)
    assert "password" in passwords  # docs/configuration.md's example URL
    assert any(".env.example" in files for files in passwords.values())
    accepted = {}
    for value, files in passwords.items():
        urls = {
            "REDIS_URL": f"redis://:{value}@redis:6379/0",
            "NOTIFY_DATABASE_URL": f"postgresql://alliance:{value}@postgres/alliance_notify",
        }
        for name, url in urls.items():
            if not any(p.startswith(name) for p in problems_with({**production, name: url})):
                accepted[value] = sorted(files)
    assert not accepted, f"production takes these passwords the repository publishes: {accepted}"


# -- .env.example and shared/config/ -------------------------------------------------------

ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.M)


def test_the_env_example_and_the_settings_name_the_same_variables():
    listed = ASSIGNMENT.findall((PROJECT_ROOT / ".env.example").read_text(encoding="utf-8"))
    assert len(listed) == len(set(listed)), "a variable is listed twice in .env.example"
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    declared = {setting.name for setting in declared_settings()}
    compose_only = set(re.findall(r"\$\{(\w+)", compose)) - declared
    assert compose_only == {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "ALLIANCE_IMAGE_TAG"}
    missing = sorted(declared - set(listed))
    assert not missing, f".env.example does not list {missing} (shared/config/ declares them)"
    unknown = sorted(set(listed) - declared - compose_only)
    assert not unknown, f".env.example lists {unknown}, which nothing reads"


def test_the_env_example_values_are_placeholders_production_refuses():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    active = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, re.M))
    assert {"SECRET_KEY", "PUBLIC_BASE_URL", "POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= set(active)
    password = active["POSTGRES_PASSWORD"]
    redis_password = active["REDIS_PASSWORD"]
    environ = {
        **active,
        "APP_ENV": "production",
        "REDIS_URL": f"redis://:{redis_password}@redis:6379/0",
        **{
            f"{s.upper()}_DATABASE_URL": f"postgresql://alliance:{password}@postgres/alliance_{s}"
            for s in SERVICES
        },
    }
    named = [problem.split(" ")[0].split("=")[0] for problem in problems_with(environ)]
    assert named == [
        "SECRET_KEY",
        "REDIS_URL",
        *(f"{service.upper()}_DATABASE_URL" for service in SERVICES),
        "PUBLIC_BASE_URL",
    ]


# -- every process refuses to start ------------------------------------------------------------


@pytest.fixture
def in_production(monkeypatch) -> None:
    """The test servers, with what production accepts (tests/production.py)."""
    for name, value in production_environment(os.environ).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("service", SERVICES)
def test_an_app_starts_in_production_with_strong_settings(in_production, service):
    app = importlib.import_module(f"services.{service}").create_app()
    assert not app.debug


@pytest.mark.parametrize("service", SERVICES)
def test_an_app_does_not_start_in_production_with_the_compose_default_key(
    in_production, monkeypatch, service
):
    monkeypatch.setenv("SECRET_KEY", "change-me-in-production")
    with pytest.raises(ConfigurationError) as refused:
        importlib.import_module(f"services.{service}").create_app()
    [problem] = refused.value.problems
    assert problem.startswith("SECRET_KEY is refused when APP_ENV=production: ")
    assert "change-me-in-production" not in str(refused.value)


@pytest.mark.parametrize("service", SERVICES)
def test_an_app_does_not_start_in_production_with_flask_debug_on(
    in_production, monkeypatch, service
):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError) as refused:
        importlib.import_module(f"services.{service}").create_app()
    assert refused.value.problems == [
        "FLASK_DEBUG='1' is refused when APP_ENV=production: it turns debug mode on "
        "(tracebacks and an interactive debugger for anyone); unset it"
    ]


def test_workers_and_the_beat_do_not_start_in_production_with_a_weak_setting(
    in_production, monkeypatch
):
    from shared.celery_app import create_celery

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    for name in ("beat", *SERVICES):
        with pytest.raises(ConfigurationError, match=r"REDIS_URL is refused .* no password"):
            create_celery(name)


def test_an_alliance_command_does_not_start_in_production_with_a_published_key(
    in_production, monkeypatch
):
    monkeypatch.setattr(os, "execvp", lambda *args: pytest.fail(f"started {args}"))
    result = CliRunner().invoke(
        alliance, ["migrate"], env={"SECRET_KEY": "development-only-secret-key"}
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        "Error: SECRET_KEY is refused when APP_ENV=production: it is a default published in "
        "this repository; set it to a long random value"
    )
