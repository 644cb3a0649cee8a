"""The embedded PostgreSQL in a folder only its owner may enter (root's home, ``mktemp -d``).

As root it runs in a user namespace: nothing outside its data folder may change mode or owner."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deploy import embedded
from deploy.embedded import EmbeddedPostgres, postgres_bin_path

pytestmark = pytest.mark.integration

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="checks what happens as root")


@pytest.fixture
def private_folder() -> Iterator[Path]:
    """A 0700 folder inside another 0700 folder, as ``tempfile.mkdtemp`` makes them."""
    outer = Path(tempfile.mkdtemp(prefix="apm-emb-outer-"))
    try:
        yield Path(tempfile.mkdtemp(prefix="apm-emb-", dir=outer))
    finally:
        shutil.rmtree(outer)


@pytest.fixture
def server(private_folder: Path) -> Iterator[EmbeddedPostgres]:
    postgres = EmbeddedPostgres(private_folder / "postgres")
    yield postgres
    postgres.stop()


def _ownership(paths: list[Path]) -> dict[str, tuple[int, int, int]]:
    return {str(p): (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in paths}


def _pid_in_file(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def _sql(postgres: EmbeddedPostgres, statement: str) -> list[tuple[object, ...]]:
    url = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(statement.encode())
        return cursor.fetchall() if cursor.description else []


def test_embedded_postgres_keeps_its_data_and_leaves_the_folders_above_alone(
    private_folder: Path, server: EmbeddedPostgres
):
    bin_path = postgres_bin_path()
    outside = [
        private_folder.parent,
        private_folder,
        Path(sys.prefix),
        bin_path,
        bin_path / "initdb",
        bin_path / "postgres",
        bin_path.parent / "lib",
    ]
    before = _ownership(outside)

    server.start()
    assert server.process is not None
    assert _pid_in_file(server.data_dir) == server.process.pid
    _sql(server, "CREATE TABLE kept (name text); INSERT INTO kept VALUES ('first run')")
    first = server.process
    server.stop()

    assert first.poll() is not None
    assert not (server.data_dir / "postmaster.pid").exists()
    server.start()
    assert _sql(server, "SELECT name FROM kept") == [("first run",)]
    assert _ownership(outside) == before
    data = server.data_dir.stat()
    assert (data.st_mode & 0o777, data.st_uid) == (0o700, os.geteuid())


def test_embedded_postgres_stops_a_server_left_running_on_its_data(server: EmbeddedPostgres):
    leftover = EmbeddedPostgres(server.data_dir)
    leftover.start()
    assert leftover.process is not None
    try:
        server.start()

        assert leftover.process.wait(5) == 0
        assert server.process is not None
        assert _pid_in_file(server.data_dir) == server.process.pid
        assert _sql(server, "SELECT 1") == [(1,)]
    finally:
        leftover.stop()


def test_embedded_postgres_starts_over_a_pid_file_whose_pid_another_process_took(
    server: EmbeddedPostgres,
):
    server.start()
    server.stop()
    other = subprocess.Popen(["sleep", "30"])
    try:
        (server.data_dir / "postmaster.pid").write_text(f"{other.pid}\n{server.data_dir}\n")

        server.start()

        assert other.poll() is None
        assert server.process is not None
        assert _pid_in_file(server.data_dir) == server.process.pid
    finally:
        other.kill()
        other.wait()


@as_root
def test_embedded_postgres_adopts_only_a_data_folder_of_the_former_system_user(
    server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
):
    server.start()
    server.stop()
    other = next(e for e in pwd.getpwall() if e.pw_uid not in (0, 65534))
    for path in [server.data_dir, *server.data_dir.rglob("*")]:
        os.chown(path, other.pw_uid, other.pw_gid, follow_symlinks=False)

    with pytest.raises(RuntimeError, match=f"belongs to user {other.pw_name}"):
        server.start()
    monkeypatch.setattr(embedded, "_FORMER_ROOT_USER", other.pw_name)
    server.start()

    assert _sql(server, "SELECT 1") == [(1,)]
    assert {p.stat().st_uid for p in [server.data_dir, *server.data_dir.rglob("*")]} == {0}


@as_root
def test_embedded_postgres_as_root_without_user_namespaces_says_what_to_do(
    server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(embedded, "UNSHARE", "/nonexistent/unshare")

    with pytest.raises(RuntimeError, match="Run as a non-root user") as refused:
        server.start()

    assert "POSTGRES_URL" in str(refused.value)
    assert "_DATABASE_URL" in str(refused.value)
    assert not server.data_dir.exists()
