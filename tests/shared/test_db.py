"""A pool process never uses the database connection its parent pooled before the fork."""

import os

import pytest
from sqlalchemy import text

from shared.db import Database

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("migrated")]


def backend_pid(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("forget", [True, False])
def test_a_forked_child_gets_its_own_connection_and_leaves_the_parents_alone(forget):
    database = Database("intake")
    try:
        parent_before = backend_pid(database)  # now pooled in the parent
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the pool process
            try:
                os.close(read)
                if forget:
                    database.forget_after_fork()  # what shared/worker.py does at fork
                os.write(write, str(backend_pid(database)).encode())
            finally:
                os._exit(0)
        os.close(write)
        child_pid = int(os.read(read, 64).decode())
        os.close(read)
        os.waitpid(child, 0)

        if forget:
            assert child_pid != parent_before
            # The child closed nothing of the parent's: its pooled connection still works.
            assert backend_pid(database) == parent_before
        else:
            # Without it, both processes talk over one socket: the corruption this prevents.
            assert child_pid == parent_before
    finally:
        database.dispose()
