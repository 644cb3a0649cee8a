"""What ``APP_ENV=production`` refuses, one refusal at a time: each names
its variable and what to do, and never repeats a secret. Development keeps its defaults.

Production refuses every secret and password this repository publishes, whatever file it is
in, and every process refuses to start with one. ``.env.example`` lists
exactly the variables shared/config/ declares (and the few docker-compose.yml adds).

The per-variable refusals are tested one by one in tests/shared/config/test_production.py."""

from __future__ import annotations

import importlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import main as alliance
from shared.config import (
    DEVELOPMENT_SECRET_KEY,
    PROJECT_ROOT,
    SERVICES,
    ConfigurationError,
    declared_settings,
    read_settings,
)
from tests.production import production_environment, strong_key, strong_password

pytestmark = pytest.mark.unit

KEY = secrets.token_hex(32)  # made afresh: no value in the repository is one production takes
OLD_KEY = secrets.token_hex(32)
PASSWORD = secrets.token_hex(12)
DATABASE_URLS = tuple(f"{service.upper()}_DATABASE_URL" for service in SERVICES)

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": KEY,
    "REDIS_URL": f"redis://:{PASSWORD}@redis:6379/0",
    "PUBLIC_BASE_URL": "https://alliances.agency.example",
    "COORDINATOR_EMAIL": "cora@agency.example",
    **{
        f"{service.upper()}_DATABASE_URL": (
            f"postgresql://alliance:{PASSWORD}@db:5432/alliance_{service}"
        )
        for service in SERVICES
    },
}

# Every default this repository has published for SECRET_KEY, and the placeholders.
PUBLISHED_KEYS = [
    "development-only-secret-key",  # shared/config/running.py, development
    "change-me-in-production",  # docker-compose.yml before issue 15
    "test-secret-key",  # conftest.py
    "soak-secret-key",  # bench/soak.py
]
PLACEHOLDER_KEYS = [
    "change-me-to-the-output-of-openssl-rand-hex-32",  # .env.example
    "replace-me-with-a-long-random-production-secret-key",
    "this-is-just-an-example-of-a-production-secret-key",
]
DEFAULT_PASSWORDS = ["postgres", "password", "alliance", "redis", "secret", "change-me"]


def refused(changes: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigurationError) as refusal:
        read_settings({**PRODUCTION, **changes})
    return refusal.value.problems


def the_refusal(changes: dict[str, str]) -> str:
    [problem] = refused(changes)
    return problem


def test_a_strong_production_environment_starts():
    settings = read_settings(PRODUCTION)
    assert settings.production
    assert (settings.secret_key, settings.secret_key_fallbacks) == (KEY, ())


# -- SECRET_KEY -------------------------------------------------------------------------------


def test_a_missing_secret_key_is_refused():
    assert refused({"SECRET_KEY": ""}) == ["SECRET_KEY must be set when APP_ENV=production"]


# Ids that stay the same in every process (pytest-xdist's workers must collect the same tests).
@pytest.mark.parametrize(
    "key",
    ["x", "k", "s3cret-s3cret-s3cret", secrets.token_hex(32)[:31]],
    ids=["x", "k", "s3cret-s3cret-s3cret", "31 random hex digits"],
)
def test_a_secret_key_shorter_than_32_bytes_is_refused(key):
    problem = the_refusal({"SECRET_KEY": key})
    assert problem.startswith(
        "SECRET_KEY is refused when APP_ENV=production: it is shorter than 32 bytes; set it to "
        "a long random value such as `openssl rand -hex 32` prints"
    )


def test_a_secret_key_of_32_bytes_is_accepted():
    key = secrets.token_hex(16)
    assert len(key.encode()) == 32
    assert read_settings({**PRODUCTION, "SECRET_KEY": key}).secret_key == key


@pytest.mark.parametrize("key", PUBLISHED_KEYS)
def test_each_secret_key_published_in_the_repository_is_refused(key):
    problem = the_refusal({"SECRET_KEY": key})
    assert "SECRET_KEY is refused when APP_ENV=production: it is a default published" in problem
    assert key not in problem  # a secret is never repeated


@pytest.mark.parametrize("key", PUBLISHED_KEYS)
def test_a_published_key_is_refused_whatever_its_case(key):
    problem = the_refusal({"SECRET_KEY": key.upper()})
    assert "it is a default published in this repository" in problem


@pytest.mark.parametrize("key", PLACEHOLDER_KEYS)
def test_a_long_placeholder_key_is_refused(key):
    assert len(key) >= 32
    assert "it is a placeholder" in the_refusal({"SECRET_KEY": key})


def test_a_long_key_of_a_few_characters_repeated_is_refused():
    problem = the_refusal({"SECRET_KEY": "ab" * 32})
    assert "it repeats fewer than 8 different characters" in problem


# -- SECRET_KEY_FALLBACKS and WEBHOOK_SECRETS_KEY ---------------------------------------------


def test_strong_fallbacks_are_accepted_oldest_first_and_sign_nothing():
    older = secrets.token_hex(32)
    settings = read_settings({**PRODUCTION, "SECRET_KEY_FALLBACKS": f" {older}, {OLD_KEY} ,"})
    assert settings.secret_key_fallbacks == (older, OLD_KEY)
    assert settings.signing_keys == [older, OLD_KEY, KEY]  # itsdangerous signs with the last


@pytest.mark.parametrize(
    ("fallback", "why"),
    [
        ("short", "it is shorter than 32 bytes"),
        ("change-me-in-production", "it is a default published in this repository"),
        ("change-me-to-the-output-of-openssl-rand-hex-32", "it is a placeholder"),
    ],
)
def test_a_weak_fallback_is_refused_like_a_weak_key(fallback, why):
    problem = the_refusal({"SECRET_KEY_FALLBACKS": f"{OLD_KEY},{fallback}"})
    assert problem.startswith(
        f"SECRET_KEY_FALLBACKS is refused when APP_ENV=production: key 2 of 2: {why}; drop it"
    )
    assert OLD_KEY not in problem


def test_development_takes_any_fallback():
    assert read_settings({"SECRET_KEY_FALLBACKS": "old"}).signing_keys == [
        "old",
        DEVELOPMENT_SECRET_KEY,
    ]


def test_a_weak_webhook_secrets_key_and_its_fallbacks_are_refused():
    assert "WEBHOOK_SECRETS_KEY is refused when APP_ENV=production: it is shorter" in (
        the_refusal({"WEBHOOK_SECRETS_KEY": "webhooks"})
    )
    assert "WEBHOOK_SECRETS_KEY_FALLBACKS is refused when APP_ENV=production: it is a default" in (
        the_refusal({"WEBHOOK_SECRETS_KEY_FALLBACKS": "development-only-secret-key"})
    )
    strong = {"WEBHOOK_SECRETS_KEY": secrets.token_hex(32), "WEBHOOK_SECRETS_KEY_FALLBACKS": KEY}
    assert read_settings({**PRODUCTION, **strong}).production


# -- the servers' passwords -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("REDIS_URL", "redis://redis:6379/0"),
        ("REDIS_URL", "rediss://default@redis:6380/0"),
        ("REDIS_URL", "unix:///run/redis/redis.sock?db=0"),
        *(
            (f"{service.upper()}_DATABASE_URL", f"postgresql://alliance@db/alliance_{service}")
            for service in SERVICES
        ),
        ("INTAKE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/alliance_intake"),
        ("REVIEW_DATABASE_URL", "postgresql:///alliance_review?host=/var/run/postgresql"),
    ],
)
def test_a_server_url_without_a_password_is_refused(name, url):
    problem = the_refusal({name: url})
    assert problem.startswith(f"{name} is refused when APP_ENV=production: it has no password; ")
    assert "PASSWORD@host" in problem  # what to do


@pytest.mark.parametrize("password", DEFAULT_PASSWORDS)
@pytest.mark.parametrize("name", ["REDIS_URL", *DATABASE_URLS])
def test_a_server_url_with_a_default_password_is_refused(name, password):
    url = (
        f"redis://:{password}@redis:6379/0"
        if name == "REDIS_URL"
        else f"postgresql://alliance:{password}@postgres:5432/alliance_intake"
    )
    problem = the_refusal({name: url})
    assert problem.startswith(f"{name} is refused when APP_ENV=production: its password is a ")
    assert url not in problem


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://alliance:change-me-postgres-password@postgres/x", "a placeholder"),
        ("postgresql://alliance:Alliance@postgres/x", "a default published"),
        ("postgresql://alliance_app:alliance_app@postgres/x", "its user name"),
        ("postgresql://alliance:k7Rq9zX2@postgres/x", "shorter than 12 characters"),
    ],
)
def test_a_weak_database_password_is_refused(url, why):
    assert why in the_refusal({"NOTIFY_DATABASE_URL": url})


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("REDIS_URL", f"redis://default:{PASSWORD}@redis:6379/0"),
        ("REDIS_URL", f"unix:///run/redis.sock?db=0&password={PASSWORD}"),
        ("NOTIFY_DATABASE_URL", f"postgresql://alliance@db/alliance_notify?password={PASSWORD}"),
        ("NOTIFY_DATABASE_URL", f"postgresql+psycopg://a:{PASSWORD}@db/alliance_notify"),
    ],
    ids=["redis URL", "redis socket", "postgresql query", "postgresql user info"],
)
def test_a_server_url_with_a_real_password_is_accepted(name, url):
    assert read_settings({**PRODUCTION, name: url}).production


# -- debug switches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("FLASK_DEBUG", "1"),
        ("FLASK_DEBUG", "true"),
        ("FLASK_DEBUG", "on"),
        ("FLASK_DEBUG", "off"),  # Flask reads anything but 0, false or no as on
        ("ALLIANCE_DEBUG", "1"),
        ("ALLIANCE_DEBUG", "yes"),
        ("FLASK_ENV", "development"),
    ],
)
def test_each_debug_switch_on_is_refused(name, raw):
    assert the_refusal({name: raw}) == (
        f"{name}={raw!r} is refused when APP_ENV=production: it turns debug mode on "
        "(tracebacks and an interactive debugger for anyone); unset it"
    )


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("FLASK_DEBUG", "0"),
        ("FLASK_DEBUG", "false"),
        ("FLASK_DEBUG", "no"),
        ("FLASK_ENV", "production"),
    ],
)
def test_a_debug_switch_off_is_accepted(name, raw):
    assert read_settings({**PRODUCTION, name: raw}).production


def test_development_may_debug():
    assert not read_settings({"FLASK_DEBUG": "1", "ALLIANCE_DEBUG": "1"}).production


# -- https ------------------------------------------------------------------------------------


def test_an_http_public_base_url_is_refused():
    problem = the_refusal({"PUBLIC_BASE_URL": "http://alliances.agency.example"})
    assert problem.startswith(
        "PUBLIC_BASE_URL='http://alliances.agency.example' is refused when APP_ENV=production: "
        "it must start with https://"
    )


def test_an_absolute_http_sign_in_url_is_refused_and_a_path_is_not():
    problem = the_refusal({"ALLIANCE_STAFF_SIGN_IN_URL": "http://sso.agency.example/sign-in"})
    assert "ALLIANCE_STAFF_SIGN_IN_URL='http://sso.agency.example/sign-in' is refused" in problem
    settings = read_settings({**PRODUCTION, "ALLIANCE_STAFF_SIGN_IN_URL": "/review/staff/sign-in"})
    assert settings.staff_sign_in_url == "/review/staff/sign-in"


# -- together ---------------------------------------------------------------------------------


def test_every_refusal_is_listed_at_once_and_no_secret_is_repeated():
    problems = refused(
        {
            "SECRET_KEY": "change-me-in-production",
            "REDIS_URL": "redis://redis:6379/0",
            "INTAKE_DATABASE_URL": "postgresql://alliance:alliance@postgres:5432/alliance_intake",
            "FLASK_DEBUG": "1",
            "PUBLIC_BASE_URL": "http://localhost:8000",
        }
    )
    assert [problem.split(" ")[0].split("=")[0] for problem in problems] == [
        "SECRET_KEY",
        "REDIS_URL",
        "INTAKE_DATABASE_URL",
        "FLASK_DEBUG",
        "PUBLIC_BASE_URL",
    ]
    assert not any("change-me-in-production" in problem for problem in problems)
    assert not any(":alliance@" in problem for problem in problems)


def test_development_and_test_keep_their_safe_defaults():
    for env in ("development", "test"):
        settings = read_settings({"APP_ENV": env})
        assert settings.secret_key == DEVELOPMENT_SECRET_KEY
        assert settings.redis_url == "redis://127.0.0.1:6379/0"


# Where defaults and examples live: everything but the tests themselves (their values are made
# up on the spot), installed packages, vendored assets and run-time data.
SKIPPED_FOLDERS_PRODUCTION_REFUSALS = {
    ".git",
    ".venv",
    "node_modules",
    "var",
    "__pycache__",
    "tests",
    "static",
}
SKIPPED_FOLDERS_PRODUCTION_REFUSALS |= {
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
}
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
            f
            for f in folders
            if f not in SKIPPED_FOLDERS_PRODUCTION_REFUSALS and not f.endswith(".egg-info")
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
