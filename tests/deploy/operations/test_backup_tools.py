"""Which pg_dump and pg_restore a backup uses (the server's major version, else the nearest
newer one, else an error saying what to install), and how a database URL reaches them (the
password in ``PGPASSWORD``, never on the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.operations.backup import BackupError, Tool, choose_tool, find_tools, libpq

pytestmark = pytest.mark.unit

TOOLS = [
    Tool(Path("/usr/lib/postgresql/18/bin/pg_dump"), "18.1"),
    Tool(Path("/usr/lib/postgresql/15/bin/pg_dump"), "15.20"),
    Tool(Path("/usr/lib/postgresql/16/bin/pg_dump"), "16.4"),
]


def test_the_servers_own_major_version_is_chosen_else_the_nearest_newer():
    assert choose_tool(TOOLS, "pg_dump", at_least=15).version == "15.20"
    assert choose_tool(TOOLS, "pg_dump", at_least=14).version == "15.20"
    assert choose_tool(TOOLS, "pg_dump", at_least=17).version == "18.1"


def test_no_program_new_enough_says_what_to_install():
    with pytest.raises(BackupError) as refused:
        choose_tool(TOOLS, "pg_dump", at_least=19)
    assert "no pg_dump of PostgreSQL 19 or newer was found (found: " in refused.value.message
    assert "(Debian: postgresql-client-19), or give their folder with --pg-bin" in (
        refused.value.message
    )


def test_a_folder_given_comes_first_and_a_program_is_listed_once(tmp_path):
    program = tmp_path / "pg_dump"
    program.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 99.1'\n")
    program.chmod(0o755)
    found = find_tools("pg_dump", tmp_path)
    assert found[0] == Tool(program, "99.1")
    assert len({tool.path.resolve() for tool in found}) == len(found)


def test_the_password_goes_in_the_environment_not_the_uri():
    uri, env = libpq("postgresql+psycopg://intake:s3cret%2Fpw@db:5433/intake?sslmode=require")
    assert uri == "postgresql://intake@db:5433/intake?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret/pw"
    uri, env = libpq("postgresql://postgres@127.0.0.1/alliance_intake?password=x")
    assert (uri, env["PGPASSWORD"]) == ("postgresql://postgres@127.0.0.1/alliance_intake", "x")
    _uri, env = libpq("postgresql://postgres@127.0.0.1/alliance_intake")
    assert "PGPASSWORD" not in env
