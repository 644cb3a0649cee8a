from collections.abc import Iterator

import pytest

from tests.faults.harness import FaultLab


@pytest.fixture
def lab(tmp_path, clean_databases) -> Iterator[FaultLab]:
    """SMTP server, Valkey and database proxies owned by the test; the system is started by
    the test itself (``lab.start_system()``) and stopped here at the latest."""
    lab = FaultLab.open(tmp_path, clean_databases)
    try:
        yield lab
    finally:
        lab.close()
