"""The settings of how the system runs, and of the servers it uses."""

from __future__ import annotations

from shared.config.declarations import PROJECT_ROOT, SERVICES, Section, Setting
from shared.config.parsers import (
    BOOLEAN,
    DATABASE_URL,
    KEYS,
    LOG_LEVEL_NAME,
    PATH,
    one_of,
    text,
    url,
    whole,
)


def database_url_variable(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def default_database_url(service: str) -> str:
    """The development default: the service's own database on a local PostgreSQL server."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/alliance_{service}"


DEVELOPMENT_SECRET_KEY = "development-only-secret-key"  # noqa: S105 (never used in production)

RUNNING = Section(
    "Running",
    "How the system runs. With `APP_ENV=production` every setting marked *required* must be "
    "set, or the process stops.",
)
APP_ENV = RUNNING.add(
    Setting(
        "APP_ENV",
        one_of("development", "test", "production"),
        "development",
        "`production` requires the settings marked so, refuses weak ones (see *What production "
        "refuses* below) and marks the staff cookie `Secure`",
    )
)
SECRET_KEY = RUNNING.add(
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
SECRET_KEY_FALLBACKS = RUNNING.add(
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
PUBLIC_BASE_URL = RUNNING.add(
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
PORT = RUNNING.add(
    Setting("PORT", whole("", 1, 65535), 8000, "where `alliance run` (`make run`) listens")
)
VAR_DIR = RUNNING.add(
    Setting(
        "VAR_DIR",
        PATH,
        PROJECT_ROOT / "var",
        "where `alliance run` keeps the embedded servers' data, the logs, the mail and "
        "`run/state.json`, where the other `alliance` commands find its servers for the URLs "
        "their environment leaves unset",
    )
)
BEHIND_PROXY = RUNNING.add(
    Setting(
        "BEHIND_PROXY",
        BOOLEAN,
        False,
        "trust `X-Forwarded-For`, `-Proto`, `-Host` and `-Prefix` from one reverse proxy",
    )
)
MAX_CONTENT_LENGTH = RUNNING.add(
    Setting(
        "ALLIANCE_MAX_CONTENT_LENGTH",
        whole("bytes", 1),
        256 * 1024,
        "the largest request body a web app takes (a larger one answers 413)",
    )
)
LOG_LEVEL = RUNNING.add(
    Setting("LOG_LEVEL", LOG_LEVEL_NAME, "INFO", "the least important log lines written")
)
ALLIANCE_PASSWORD = RUNNING.add(
    Setting(
        "ALLIANCE_PASSWORD",
        text("a password of at least 12 characters"),
        "",
        "the password `alliance create-coordinator` gives the first Coordinator (asked for "
        "when unset)",
        secret=True,
    )
)

SERVERS = Section(
    "Servers",
    "Each one switches a part from the embedded default to a real server; `alliance run` "
    "starts only the embedded servers still needed.",
)
REDIS_URL = SERVERS.add(
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
    service: SERVERS.add(
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
