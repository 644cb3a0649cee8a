from collections.abc import Iterator

import pytest

from deploy.embedded import free_port
from tests.smtp import SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()
