"""The order the tests run in, and how pytest-xdist hands them to its workers.

``make test`` runs ``pytest -n 4 --dist loadscope`` (see the Makefile). Most of the suite's
time goes to tests that wait: a whole system started by ``alliance run`` (tests/e2e), faults
injected into one (tests/faults), a browser driven (tests/browser). They run first, so that
they wait beside the tests that compute, and each goes to whichever worker is free:

- ``run_order`` sorts the collected tests: the ones that wait longest first (under xdist the
  whole cycle in a browser; the faults, the other whole-system runs), then the rest in the
  order they were collected, then the browser tests.
- ``WaitingFirstScheduling`` hands the tests out in that order, like xdist's ``loadscope``
  with a finer scope: one test, except where the tests of a module share a module-, class-
  or package-scoped fixture (one system run for the module, say); those go to one worker
  together. It keeps at most ``TEST_SYSTEMS`` (3) whole-system tests running at once, one a
  worker (each holds some 20 PostgreSQL connections and starts a dozen processes). Each
  worker notes for the controller what it needs to know (``note_for_controller``): the
  controller sees only the tests' ids.
- The browser tests come last, one after another, so that they share one Chromium (the
  ``browser`` fixture, tests/conftest.py), closed before any other test: while Playwright's
  session is open, asyncio thinks a loop runs in the main thread, which would break
  ``asyncio.run()``. Under xdist the whole cycle in a browser is the exception: it waits
  longest, so it starts first, and its Chromium closes after it.

(xdist's own ``loadgroup`` would do the grouping with ``xdist_group`` marks, but with pytest 9
it no longer groups anything: it renames the tests' ids, which pytest 9 builds otherwise.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Where the workers note what the controller needs to know of their tests (a folder the
# controller makes and removes; conftest.py).
NOTES_DIR = "TEST_SCHEDULE_NOTES"

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


def run_order(items: list[pytest.Item], *, parallel: bool) -> None:
    """Sort ``items`` in place: the longest waits first, then the rest as collected, then the
    browser tests. In one process (not ``parallel``) every browser test comes last, the whole
    cycle too: one Chromium serves them all."""

    def key(item: pytest.Item) -> tuple[bool, float]:
        expected = _expected_seconds(item)
        browser = item.get_closest_marker("browser") is not None
        return (browser and not (parallel and expected), -expected)

    items.sort(key=key)  # stable: the rest keeps the collected order


def _shares_a_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions and definitions[-1].scope in _SHARED_SCOPES
        for definitions in info.name2fixturedefs.values()
    )


def note_for_controller(worker_id: str, items: list[pytest.Item]) -> None:
    """In a worker: note for the controller which modules' tests share a fixture and which
    tests start a whole system (marked ``e2e``)."""
    folder = os.environ.get(NOTES_DIR)
    if not folder:
        return
    note = {
        "shared": sorted({_module(item.nodeid) for item in items if _shares_a_fixture(item)}),
        "systems": [item.nodeid for item in items if item.get_closest_marker("e2e")],
    }
    path = Path(folder) / f"{worker_id}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(note))
    partial.replace(path)  # the controller never reads half a file


@dataclass
class _Notes:
    shared: set[str] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)

    @classmethod
    def read(cls) -> _Notes | None:
        """What the workers noted; None when nothing was (each module then stays together)."""
        folder = os.environ.get(NOTES_DIR)
        paths = sorted(Path(folder).glob("*.json")) if folder else []
        if not paths:
            return None
        notes = cls()
        for path in paths:
            note = json.loads(path.read_text())
            notes.shared.update(note["shared"])
            notes.systems.update(note["systems"])
        return notes


def most_systems_at_once() -> int:
    """How many tests that start a whole system may run at once (``TEST_SYSTEMS``, 3): each
    run holds about 20 PostgreSQL connections, of the 100 a default server allows."""
    return max(1, int(os.environ.get("TEST_SYSTEMS", "3")))


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class WaitingFirstScheduling(LoadScopeScheduling):
        """loadscope, a test at a time except for modules whose tests share a fixture, in
        the collected order (never reordered by the number of tests in a scope), with at
        most ``most_systems_at_once()`` whole-system tests out at once, each on its own
        worker."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self._notes: _Notes | None = None
            self._most_systems = most_systems_at_once()
            self._systems: dict[Any, set[str]] = {}  # whole-system units out, by worker

        def schedule(self) -> None:
            # Called once every worker has collected, and so has written its note.
            if self._notes is None:
                self._notes = _Notes.read()
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            if self._notes is None or module in self._notes.shared:
                return module
            return nodeid

        def _is(self, kind: str, unit: dict[str, bool]) -> bool:
            if self._notes is None:
                return False
            marked: set[str] = getattr(self._notes, kind)
            return any(nodeid in marked for nodeid in unit)

        def _next_unit(self, node: Any) -> str | None:
            systems_full = sum(
                len(scopes) for scopes in self._systems.values()
            ) >= self._most_systems or bool(self._systems.get(node))
            for scope, unit in self.workqueue.items():
                if systems_full and self._is("systems", unit):
                    continue
                return scope
            return None

        def _assign_work_unit(self, node: Any) -> None:
            scope = self._next_unit(node)
            if scope is None:
                return  # nothing this worker may take now; asked again as tests finish
            self.workqueue.move_to_end(scope, last=False)
            self._note_assigned(node, self.workqueue[scope])
            super()._assign_work_unit(node)  # hands out the first unit of the queue

        def _note_assigned(self, node: Any, unit: dict[str, bool]) -> None:
            scope = self._split_scope(next(iter(unit)))
            if self._is("systems", unit):
                self._systems.setdefault(node, set()).add(scope)

        def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
            scope = self._split_scope(self.registered_collections[node][item_index])
            super().mark_test_complete(node, item_index, duration)
            systems = self._systems.get(node, set())
            if scope in systems and all(self.assigned_work[node][scope].values()):
                systems.discard(scope)
                # A whole-system test finished: a worker left waiting may take the next one.
                for other in self.nodes:
                    if other is not node and not self._pending_of(self.assigned_work[other]):
                        self._reschedule(other)
            if self.workqueue and not self.has_pending_on_nodes():
                # Nothing runs anywhere (never expected): hand out the next unit regardless.
                first = self.nodes[0]
                self._note_assigned(first, next(iter(self.workqueue.values())))
                super()._assign_work_unit(first)

        def has_pending_on_nodes(self) -> bool:
            return any(self._pending_of(workload) for workload in self.assigned_work.values())

    config.option.loadscopereorder = False  # keep run_order's order
    return WaitingFirstScheduling(config, log)
