"""``alliance``: the operator's command (run, migrate, worker, beat, web)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from shared.config import PROJECT_ROOT, SERVICES


@click.group()
def main() -> None:
    """Alliance Program Manager operator commands."""


@main.command()
@click.option(
    "--port",
    type=int,
    default=lambda: int(os.environ.get("PORT", "8000")),
    show_default="8000 or $PORT",
)
@click.option(
    "--concurrency", type=int, default=1, show_default=True, help="Worker processes per service."
)
@click.option(
    "--var-dir",
    type=click.Path(path_type=Path),
    default=lambda: Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var")),
)
def run(port: int, concurrency: int, var_dir: Path) -> None:
    """Start the whole system (embedded servers unless URLs are set)."""
    from deploy.supervisor import Supervisor

    sys.exit(Supervisor(var_dir=var_dir.resolve(), port=port, concurrency=concurrency).run())


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(SERVICES))
def migrate(services: tuple[str, ...]) -> None:
    """Create each service's database if missing and upgrade it to the newest schema."""
    from shared.migrations import upgrade

    for service in services or SERVICES:
        click.echo(f"[alliance] migrating {service}")
        upgrade(service)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("service", type=click.Choice(SERVICES))
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(service: str, celery_args: tuple[str, ...]) -> None:
    """Run SERVICE's Celery worker on its own queue (extra arguments go to Celery)."""
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            f"services.{service}.worker",
            "worker",
            "-Q",
            service,
            "-n",
            f"{service}@%h",
            "--without-gossip",
            "--without-mingle",
            *celery_args,
        ],
    )


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Run the one Celery beat (outbox relays, delivery sweeps)."""
    os.execvp(
        sys.executable, [sys.executable, "-m", "celery", "-A", "shared.beat", "beat", *celery_args]
    )


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
def web(bind: str) -> None:
    """Serve every service's web side under one port (the development gateway)."""
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            "2",
            "--threads",
            "4",
            "deploy.gateway:create_gateway()",
        ],
    )


if __name__ == "__main__":
    main()
