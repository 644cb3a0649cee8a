"""The order the tests run in, and how pytest-xdist hands them to its workers.

``make test`` runs ``pytest -n 4 --dist loadscope`` (see the Makefile). Most of the suite's
time goes to tests that wait: a whole system started by ``alliance run`` (tests/e2e), faults
injected into one (tests/faults), a browser driven (tests/browser). They run first, so that
they wait beside the tests that compute, and each goes to whichever worker is free:

- ``run_order`` sorts the collected tests: the ones that wait longest first, then the rest in
  the order they were collected, then the browser tests, which must come after every other
  test of a process (while Playwright's session is open, asyncio thinks a loop runs in the
  main thread, which would break ``asyncio.run()`` in any later test). xdist hands out the
  tests in this order, so a worker gets a browser test only once every other test is out.
- ``WaitingFirstScheduling`` is xdist's ``loadscope`` with a finer scope: one test, except
  where the tests of a module share a module-, class- or package-scoped fixture (one system
  run for the module, say); those go to one worker together. Each worker notes such modules
  in a file (``note_shared_modules``), because the controller sees only the tests' ids.

(xdist's own ``loadgroup`` would do the grouping with ``xdist_group`` marks, but with pytest 9
it no longer groups anything: it renames the tests' ids, which pytest 9 builds otherwise.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# Where the workers note the modules whose tests share a fixture (a folder the controller
# makes and removes; conftest.py).
SHARED_MODULES_DIR = "TEST_SHARED_MODULES_DIR"

# About how long one test of these kinds takes, in seconds: what decides which starts first.
_WAITS = {"fault": 100.0, "e2e": 60.0}
# Modules whose tests wait on real processes or a whole system run: about how long a test.
_SLOW_MODULES = {
    "tests/browser/test_whole_cycle.py": 120.0,
}
_SHARED_SCOPES = {"module", "class", "package"}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _expected_seconds(item: pytest.Item) -> float:
    marked = [seconds for mark, seconds in _WAITS.items() if item.get_closest_marker(mark)]
    return max([_SLOW_MODULES.get(_module(item.nodeid), 0.0), *marked])


def run_order(item: pytest.Item) -> tuple[bool, float]:
    """The sort key: other tests before browser tests, the longest waits first."""
    return (item.get_closest_marker("browser") is not None, -_expected_seconds(item))


def _shares_a_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions and definitions[-1].scope in _SHARED_SCOPES
        for definitions in info.name2fixturedefs.values()
    )


def note_shared_modules(worker_id: str, items: list[pytest.Item]) -> None:
    """In a worker: note for the controller which modules' tests share a fixture."""
    folder = os.environ.get(SHARED_MODULES_DIR)
    if not folder:
        return
    shared = sorted({_module(item.nodeid) for item in items if _shares_a_fixture(item)})
    path = Path(folder) / f"{worker_id}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(shared))
    partial.replace(path)  # the controller never reads half a file


def _noted_shared_modules() -> set[str] | None:
    """What the workers noted; None when nothing was (every module then stays together)."""
    folder = os.environ.get(SHARED_MODULES_DIR)
    if not folder:
        return None
    notes = sorted(Path(folder).glob("*.json"))
    if not notes:
        return None
    shared: set[str] = set()
    for note in notes:
        shared.update(json.loads(note.read_text()))
    return shared


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class WaitingFirstScheduling(LoadScopeScheduling):
        """loadscope, a test at a time except for modules whose tests share a fixture, in
        the collected order (never reordered by the number of tests in a scope)."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self._shared: set[str] | None = None

        def schedule(self) -> None:
            # Called once every worker has collected, and so has noted its modules.
            if self._shared is None:
                self._shared = _noted_shared_modules()
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            if self._shared is None or module in self._shared:
                return module
            return nodeid

    config.option.loadscopereorder = False  # keep run_order's order
    return WaitingFirstScheduling(config, log)
