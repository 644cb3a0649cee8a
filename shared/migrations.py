"""Alembic for each service's own database: create it if missing, then upgrade to head."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.config import PROJECT_ROOT, load_settings
from shared.db import sqlalchemy_url

log = logging.getLogger(__name__)


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(PROJECT_ROOT / "services" / service / "migrations")
    )
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist. True if it was created."""
    target = make_url(sqlalchemy_url(url))
    name = target.database
    if not name:
        raise ValueError(f"database URL names no database: {target.render_as_string()}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def upgrade(service: str, url: str | None = None) -> None:
    url = url or load_settings().database_url(service)
    if ensure_database(url):
        log.info("created the %s database", service)
    command.upgrade(alembic_config(service, url), "head")
