"""``make run`` on a fresh machine: the whole path on the embedded PostgreSQL and Valkey."""

import os

import pytest

from deploy.embedded import free_port, port_in_use
from tests.e2e.system import RunningSystem, without_server_urls
from tests.e2e.test_pipeline import smtp_env, submit_and_read_receipt

pytestmark = pytest.mark.e2e


def test_pipeline_on_the_embedded_default(tmp_path, smtp_server):
    env = {**without_server_urls(dict(os.environ)), **smtp_env(smtp_server)}
    # As `make run` starts it: one web process, one worker process per service (threads).
    system = RunningSystem(var_dir=tmp_path / "var", port=free_port(), env=env)
    try:
        submit_and_read_receipt(system, smtp_server)
        output = system.output.read_text()
        assert "starting embedded Valkey" in output
        assert "starting embedded PostgreSQL 18" in output
        assert (system.var_dir / "valkey" / "appendonlydir").is_dir()
        assert (system.var_dir / "postgres" / "PG_VERSION").read_text().strip() == "18"
    finally:
        assert system.stop() == 0, system.log()
    # Ctrl-C stopped everything, the embedded servers included.
    assert not port_in_use(system.port)
    assert "[alliance] stopped" in system.output.read_text()
    assert not (system.var_dir / "postgres" / "postmaster.pid").exists()
