"""What ``APP_ENV=production`` refuses (issue 15, finding 3), one refusal at a time: each names
its variable and what to do, and never repeats a secret. Development keeps its defaults."""

from __future__ import annotations

import secrets

import pytest

from shared.config import (
    DEVELOPMENT_SECRET_KEY,
    SERVICES,
    ConfigurationError,
    read_settings,
)

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
