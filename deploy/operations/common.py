"""What the operator commands share: how a command finds its servers, how a database that
does not answer becomes one clear line, who the operator acts as, and how times are shown."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import ModuleType
from typing import Any

import click

from shared.config import SERVICES, database_url_variable, load_settings
from shared.domain import Acting

SERVICE = click.Choice(SERVICES)
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a table that does not exist


class Operation(click.Command):
    """An operator command that uses the system's servers, as ``deploy.cli.Command`` does: the
    servers of a running `make run` stand in for the URLs the environment leaves unset, then
    every setting is read and checked before it does anything. (deploy.cli imports this
    package to register its commands, so its own names are imported when a command runs.)"""

    def invoke(self, ctx: click.Context) -> Any:
        from deploy.running import use_running_system

        use_running_system(ctx)
        load_settings()
        return super().invoke(ctx)


def service_worker(service: str) -> ModuleType:
    """``services.<service>.worker``: the service's database, outbox and Celery app."""
    return importlib.import_module(f"services.{service}.worker")


@contextmanager
def reaching(service: str) -> Iterator[None]:
    """Within it, a database that does not answer, or has no tables yet, ends the command
    with one line saying what to do (no traceback)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from deploy.running import unreachable

    try:
        yield
    except ProgrammingError as err:
        if getattr(err.orig, "sqlstate", None) != UNDEFINED_TABLE:
            raise
        raise click.ClickException(
            f"the {service} database has no tables yet: run `alliance migrate {service}` first"
        ) from None
    except OperationalError as err:
        raise unreachable(
            f"the {service} database", database_url_variable(service), err.orig
        ) from None


def broker_errors() -> tuple[type[BaseException], ...]:
    """What sending to a broker that does not answer raises (kombu wraps most of it); imported
    when needed: every `alliance` command, a container's health check too, loads this module."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    return (OperationalError, RedisConnectionError, OSError)


def broker_unreachable(err: BaseException) -> click.ClickException:
    from deploy.running import unreachable
    from shared.config import REDIS_URL

    return unreachable("the broker", REDIS_URL.name, err)


def operator(command: str) -> Acting:
    """Who the operator acts as in the domain functions: the top office's Coordinator, who
    sees every office (no staff account: the system itself)."""
    return Acting(
        staff_id=uuid.UUID(int=0),
        email=f"alliance {command}",
        roles=frozenset({"coordinator"}),
        name=f"The operator (alliance {command})",
    )


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago ``moment`` was, to the minute: "12 min", "3 h 5 min", "2 d 4 h"."""
    if moment is None:
        return "-"
    minutes = max(0, int((now - moment).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def when(moment: datetime | None) -> str:
    """An instant in the agency's time zone, its zone named: "2026-03-01 09:00 EST"."""
    if moment is None:
        return "-"
    return moment.astimezone(load_settings().agency_timezone).strftime("%Y-%m-%d %H:%M %Z")


def one_line(text: str | None, width: int = 160) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
