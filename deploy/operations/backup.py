"""``alliance backup FOLDER`` and ``alliance restore FOLDER``: each service's database to and from
a folder, one ``pg_dump`` custom-format file per service and a ``manifest.json``.

The manifest says when the backup was made, by which version of this program, with which
PostgreSQL server and ``pg_dump``, at which Alembic revision each database was, and each file's
size and SHA-256. A restore checks all of it before it touches a database: every file whole,
every revision one this code knows, every target database empty (``--force`` replaces what
one holds) and nobody else connected. Then ``pg_restore`` loads each database in one
transaction, and the restored revisions are checked against the manifest; a code with newer
migrations asks for ``alliance migrate``.

Which ``pg_dump`` and ``pg_restore``: the ones of the server's own major version when found
(``/usr/lib/postgresql/<major>/bin``, the embedded PostgreSQL's, the ``PATH``; ``--pg-bin``
first), else the nearest newer one (``pg_dump`` reads older servers; it refuses newer ones).
Passwords go to them in ``PGPASSWORD``, never on a command line.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from deploy.operations.common import Operation, reaching
from shared.config import SERVICES, load_settings

MANIFEST = "manifest.json"
FORMAT = "alliance-program-manager backup"
FORMAT_VERSION = 1
PACKAGE = "alliance-program-manager"
# How far before the backup `alliance outbox replay --since` should reach after a restore: the
# events published shortly before each dump may have been waiting in the broker then.
REPLAY_MARGIN = timedelta(hours=1)


class BackupError(click.ClickException):
    """A backup or restore that cannot go on: the message says why and what to do."""


# -- the PostgreSQL programs --------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A PostgreSQL client program (pg_dump, pg_restore) and its version."""

    path: Path
    version: str  # "15.20"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _version_of(path: Path) -> str | None:
    try:
        answer = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\b(\d+)(?:\.(\d+))?", answer.stdout)
    if answer.returncode != 0 or found is None:
        return None
    return found.group(0)


def _embedded_bin() -> Path | None:
    try:
        from deploy.embedded import postgres_bin_path

        return postgres_bin_path()
    except RuntimeError:
        return None


def find_tools(name: str, first: Path | None = None) -> list[Tool]:
    """Every ``name`` program found: in ``first``, Debian's /usr/lib/postgresql/*/bin, the
    embedded PostgreSQL's, then the PATH's; each once."""
    folders = [first] if first is not None else []
    folders += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    embedded = _embedded_bin()
    if embedded is not None:
        folders.append(embedded)
    candidates = [folder / name for folder in folders]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    tools, seen = [], set()
    for path in candidates:
        if not path.is_file() or not os.access(path, os.X_OK):
            continue
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        version = _version_of(path)
        if version is not None:
            tools.append(Tool(path, version))
    return tools


def choose_tool(tools: list[Tool], name: str, *, at_least: int) -> Tool:
    """The ``name`` of major version ``at_least`` when there is one, else the nearest newer;
    an error naming what was found and what to install otherwise."""
    exact = [tool for tool in tools if tool.major == at_least]
    if exact:
        return exact[0]
    newer = sorted((tool for tool in tools if tool.major > at_least), key=lambda t: t.major)
    if newer:
        return newer[0]
    found = ", ".join(f"{tool.path} ({tool.version})" for tool in tools) or "none"
    raise BackupError(
        f"no {name} of PostgreSQL {at_least} or newer was found (found: {found}): install "
        f"PostgreSQL {at_least}'s client programs (Debian: postgresql-client-{at_least}), or "
        "give their folder with --pg-bin"
    )


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection URI a PostgreSQL program takes (without the password), and the
    environment that gives it the password (``PGPASSWORD``)."""
    from sqlalchemy.engine import URL, make_url

    from shared.db import sqlalchemy_url

    parsed = make_url(sqlalchemy_url(url))
    query = dict(parsed.query)
    password = parsed.password or query.pop("password", None)
    if isinstance(password, tuple):
        password = password[-1]
    target = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    )
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if password:
        env["PGPASSWORD"] = str(password)
    return target.render_as_string(hide_password=False), env


def _run(tool: Tool, arguments: list[str], env: dict[str, str], what: str) -> None:
    answer = subprocess.run(
        [str(tool.path), *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if answer.returncode != 0:
        said = " ".join(answer.stderr.split())[-800:] or f"exit status {answer.returncode}"
        raise BackupError(f"{what} failed ({tool.path.name} {tool.version}): {said}")


# -- the databases --------------------------------------------------------------------------------


def _engine(url: str, *, autocommit: bool = True) -> Any:
    from sqlalchemy import create_engine

    from shared.db import sqlalchemy_url

    return create_engine(
        sqlalchemy_url(url),
        isolation_level="AUTOCOMMIT" if autocommit else "READ COMMITTED",
        connect_args={"connect_timeout": 5, "application_name": "alliance-backup"},
    )


@contextmanager
def connected(service: str, url: str, *, autocommit: bool = True) -> Iterator[Any]:
    """A connection to ``service``'s database at ``url`` (autocommit unless not), closed
    after; a server that does not answer ends the command with one clear line."""
    engine = _engine(url, autocommit=autocommit)
    try:
        with reaching(service), engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def server_version(connection: Any) -> tuple[int, str]:
    """The server's major version, and its version as it says it."""
    from sqlalchemy import text

    number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    said = str(connection.execute(text("SHOW server_version")).scalar_one())
    return (number // 10000 if number >= 100000 else number // 100), said


def revision(connection: Any) -> str | None:
    """The database's Alembic revision (None when it has no ``alembic_version`` table)."""
    from sqlalchemy import text

    exists = connection.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if exists is None:
        return None
    heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return ",".join(sorted(heads)) or None


def code_heads(service: str) -> set[str]:
    """The Alembic head revisions of ``service``'s migrations in this code."""
    from alembic.script import ScriptDirectory

    from shared.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config(service, "postgresql://unused/x"))
    return set(script.get_heads())


def known_revision(service: str, rev: str) -> bool:
    """Whether this code's migrations of ``service`` have revision ``rev`` (all of them, for a
    comma-separated list)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from shared.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config(service, "postgresql://unused/x"))
    try:
        return all(script.get_revision(part) is not None for part in rev.split(","))
    except CommandError:
        return False


def user_tables(connection: Any) -> list[str]:
    from sqlalchemy import text

    return list(
        connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).scalars()
    )


def tables_with_rows(connection: Any) -> list[str]:
    """The tables (``alembic_version`` aside) that hold a row."""
    from sqlalchemy import text

    quote = connection.dialect.identifier_preparer.quote
    found = []
    for table in user_tables(connection):
        if table == "alembic_version":
            continue
        # The name comes from pg_tables, quoted: no input reaches this statement.
        held = f"SELECT EXISTS (SELECT 1 FROM public.{quote(table)})"  # noqa: S608
        if connection.execute(text(held)).scalar():
            found.append(table)
    return found


def other_sessions(connection: Any) -> list[str]:
    """The application names of the other sessions on this database."""
    from sqlalchemy import text

    return list(
        connection.execute(
            text(
                "SELECT coalesce(nullif(application_name, ''), 'unnamed') FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
        ).scalars()
    )


def drop_everything(connection: Any) -> None:
    """Drop every table and sequence of the public schema (what the migrations make), in one
    transaction, waiting at most 10 s for a lock. ``connection`` must not autocommit."""
    from sqlalchemy import text

    quote = connection.dialect.identifier_preparer.quote
    with connection.begin():
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        tables = user_tables(connection)
        if tables:
            listed = ", ".join(f"public.{quote(table)}" for table in tables)
            connection.execute(text(f"DROP TABLE IF EXISTS {listed} CASCADE"))
        sequences = list(
            connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
        )
        for sequence in sequences:
            connection.execute(text(f"DROP SEQUENCE IF EXISTS public.{quote(sequence)} CASCADE"))


# -- backup -----------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def app_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def dump(service: str, url: str, folder: Path, tools: list[Tool]) -> dict[str, Any]:
    """Dump ``service``'s database at ``url`` into ``folder``; its entry in the manifest."""
    from sqlalchemy.engine import make_url

    with connected(service, url) as connection:
        major, said = server_version(connection)
        at = revision(connection)
    if at is None:
        raise BackupError(
            f"the {service} database has no schema (no alembic_version table): run "
            f"`alliance migrate {service}` first; nothing to back up"
        )
    tool = choose_tool(tools, "pg_dump", at_least=major)
    name = f"{service}.dump"
    partial = folder / f".{name}.partial"
    uri, env = libpq(url)
    dumped_at = datetime.now(UTC)
    arguments = ["--format=custom", "--no-password", "--file", str(partial), "--dbname", uri]
    try:
        _run(tool, arguments, env, f"dumping the {service} database")
        os.chmod(partial, 0o600)
        partial.replace(folder / name)
    finally:
        partial.unlink(missing_ok=True)
    return {
        "file": name,
        "bytes": (folder / name).stat().st_size,
        "sha256": sha256_of(folder / name),
        "database": make_url(url).database,
        "alembic_revision": at,
        "dumped_at": dumped_at.isoformat(timespec="seconds"),
        "postgresql_server_version": said,
        "pg_dump_version": tool.version,
    }


def make_backup(
    folder: Path, urls: dict[str, str], *, pg_bin: Path | None = None
) -> dict[str, Any]:
    """Dump every service's database into ``folder`` (new or empty) and write the manifest
    last: a folder with a manifest holds a whole backup. Returns the manifest."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not an empty folder: back up into a new one")
    tools = find_tools("pg_dump", pg_bin)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = datetime.now(UTC)
    services: dict[str, Any] = {}
    try:
        with click.progressbar(
            SERVICES,
            label="[alliance] backing up",
            file=sys.stderr,
            item_show_func=lambda service: service,
        ) as bar:
            for service in bar:
                services[service] = dump(service, urls[service], folder, tools)
    except BaseException:
        for entry in services.values():  # a backup without its manifest is none: leave nothing
            (folder / entry["file"]).unlink(missing_ok=True)
        raise
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": started.isoformat(timespec="seconds"),
        "app_version": app_version(),
        "services": services,
    }
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.chmod(partial, 0o600)
    partial.replace(folder / MANIFEST)
    return manifest


# -- restore ----------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in ``folder``, its shape checked."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{folder} holds no {MANIFEST}: it is not a backup `alliance backup` finished"
        ) from None
    except (OSError, ValueError) as err:
        raise BackupError(f"{path} cannot be read: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not the manifest of an `alliance backup`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is of format version {manifest.get('format_version')}; this version reads "
            f"{FORMAT_VERSION}: restore with the version that made it "
            f"({manifest.get('app_version')})"
        )
    services = manifest.get("services")
    if not isinstance(services, dict) or set(services) != set(SERVICES):
        raise BackupError(f"{path} must name every service ({', '.join(SERVICES)})")
    for service, entry in services.items():
        missing = {"file", "bytes", "sha256", "alembic_revision"} - set(entry or {})
        if missing:
            raise BackupError(f"{path}: {service} lacks {', '.join(sorted(missing))}")
        if Path(entry["file"]).name != entry["file"]:
            raise BackupError(f"{path}: {service}'s file must be a name inside the folder")
    return manifest


def check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file of the manifest there, of its size and SHA-256."""
    with click.progressbar(SERVICES, label="[alliance] checking the files", file=sys.stderr) as bar:
        for service in bar:
            entry = manifest["services"][service]
            path = folder / entry["file"]
            if not path.is_file():
                raise BackupError(f"{path} is missing: the backup is incomplete")
            if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
                raise BackupError(
                    f"{path} does not match the manifest (size or SHA-256): the backup is damaged"
                )


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    # Services whose code has migrations newer than the restored revision.
    behind: list[str]


def restore_backup(
    folder: Path, urls: dict[str, str], *, force: bool = False, pg_bin: Path | None = None
) -> Restored:
    """Restore the backup in ``folder`` into the databases at ``urls`` (see the module)."""
    manifest = read_manifest(folder)
    check_files(folder, manifest)
    entries = manifest["services"]
    for service in SERVICES:
        rev = entries[service]["alembic_revision"]
        if not known_revision(service, rev):
            raise BackupError(
                f"the backup's {service} database is at revision {rev}, which this version "
                f"({app_version()}) does not know: it was made by a newer one "
                f"({manifest.get('app_version')}); restore with that version"
            )
    dumped = max(
        (
            int(m.group(1))
            for entry in entries.values()
            if (m := re.match(r"(\d+)", str(entry.get("pg_dump_version", ""))))
        ),
        default=0,
    )
    tools = find_tools("pg_restore", pg_bin)
    plan: dict[str, Tool] = {}
    refusals: list[str] = []
    for service in SERVICES:
        ensure_target(service, urls[service])
        with connected(service, urls[service]) as connection:
            major, _said = server_version(connection)
            holding = tables_with_rows(connection)
            others = other_sessions(connection)
        plan[service] = choose_tool(tools, "pg_restore", at_least=max(major, dumped))
        if holding and not force:
            shown = ", ".join(holding[:5]) + (", ..." if len(holding) > 5 else "")
            refusals.append(
                f"the {service} database is not empty ({len(holding)} table(s) hold rows: {shown})"
            )
        if others and not force:
            refusals.append(
                f"{len(others)} other session(s) use the {service} database "
                f"({', '.join(sorted(set(others)))})"
            )
    if refusals:
        raise BackupError(
            "nothing was restored: "
            + "; ".join(refusals)
            + ". Restore into empty databases with the system stopped (web sides, workers "
            "and beat), or give --force to replace what they hold"
        )
    behind = []
    with click.progressbar(
        SERVICES,
        label="[alliance] restoring",
        file=sys.stderr,
        item_show_func=lambda service: service,
    ) as bar:
        for service in bar:
            entry = entries[service]
            with connected(service, urls[service], autocommit=False) as connection:
                drop_everything(connection)
            uri, env = libpq(urls[service])
            _run(
                plan[service],
                [
                    "--no-password",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    uri,
                    str(folder / entry["file"]),
                ],
                env,
                f"restoring the {service} database (it is left empty)",
            )
            with connected(service, urls[service]) as connection:
                now_at = revision(connection)
            if now_at != entry["alembic_revision"]:
                raise BackupError(
                    f"the restored {service} database is at revision {now_at}, not the "
                    f"manifest's {entry['alembic_revision']}: the backup is not what its "
                    "manifest says"
                )
            if set(str(now_at).split(",")) != code_heads(service):
                behind.append(service)
    return Restored(manifest, behind)


def ensure_target(service: str, url: str) -> None:
    """Create the target database when it cannot be reached because it does not exist yet,
    as ``alliance migrate`` does (which needs the server's ``postgres`` database)."""
    from sqlalchemy.exc import OperationalError

    from shared.migrations import ensure_database

    engine = _engine(url)
    try:
        with engine.connect():
            return
    except OperationalError:
        pass  # missing, or the server is away: ensure_database says which
    finally:
        engine.dispose()
    with reaching(service):
        ensure_database(url)


# -- the commands -------------------------------------------------------------------------------

PG_BIN = click.option(
    "--pg-bin",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The folder of the PostgreSQL client programs to use first "
    "(default: the server's version, found by itself).",
)


def _urls() -> dict[str, str]:
    return dict(load_settings().database_urls)


@click.command(cls=Operation)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@PG_BIN
def backup(folder: Path, pg_bin: Path | None) -> None:
    """Back up every service's database into FOLDER (new or empty): one pg_dump file
    (custom format) per service and manifest.json (versions, migration revisions, SHA-256).

    Each database is dumped in one snapshot; for one moment across all four, stop the web
    sides and workers first (docs/operations.md). The files hold personal data and sealed
    secrets: keep them as safe as the databases."""
    manifest = make_backup(folder, _urls(), pg_bin=pg_bin)
    total = sum(entry["bytes"] for entry in manifest["services"].values())
    click.echo(
        f"[alliance] backed up {len(manifest['services'])} databases into {folder} "
        f"({total / 1_000_000:.1f} MB; version {manifest['app_version']}; revisions "
        + ", ".join(f"{s} {e['alembic_revision']}" for s, e in manifest["services"].items())
        + ")"
    )


@click.command(cls=Operation)
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace what the target databases hold (it is dropped first), even while other "
    "sessions use them.",
)
@PG_BIN
def restore(folder: Path, force: bool, pg_bin: Path | None) -> None:
    """Restore the backup in FOLDER into each service's database (from the *_DATABASE_URL
    settings, or the running `make run`'s): the manifest and every file's SHA-256 are checked
    first, the databases must be empty (or --force), each is loaded in one transaction, and
    the restored migration revisions are checked against the manifest.

    Stop the system (web sides, workers and beat) first, and start it again afterwards."""
    done = restore_backup(folder, _urls(), force=force, pg_bin=pg_bin)
    manifest = done.manifest
    click.echo(
        f"[alliance] restored {len(manifest['services'])} databases from {folder} (made "
        f"{manifest['created_at']} by version {manifest['app_version']})"
    )
    if done.behind:
        click.echo(
            "[alliance] this version has newer migrations for "
            + ", ".join(done.behind)
            + ": run `alliance migrate` before starting the system"
        )
    since = datetime.fromisoformat(manifest["created_at"]) - REPLAY_MARGIN
    click.echo(
        "[alliance] events published shortly before the backup may have been waiting in the "
        "broker: once the system runs, `alliance outbox replay SERVICE --since "
        f"{since.isoformat()}` for each service sends them again (consumers ignore what they "
        "already have)"
    )
