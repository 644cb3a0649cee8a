"""``make bench``: every benchmark of issue 20, one after another, and one table at the end.

    python -m bench                 every benchmark
    python -m bench intake notify   only those (names: the modules below)

Each row sets a measure of the system beside a baseline of the raw parts measured in the same
run (interleaved where the two compete for the same cores), so the ratio means something on a
noisy 2-core machine. Not part of ``make test``. The table is also written to
``bench-results.json``; ``docs/performance.md`` holds the latest one with its machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench.lab import Lab, say
from bench.table import Row, machine, render, save
from shared.config import reset_settings

# In the order of the table.
BENCHMARKS = ["intake", "event_hop", "receipt", "notify", "outage", "sweep", "pages", "memory"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("only", nargs="*", choices=[[], *BENCHMARKS], metavar="benchmark")
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    chosen = args.only or BENCHMARKS
    lab = Lab()
    say(f"machine: {machine()}")
    say(f"PostgreSQL {lab.postgres_url}, Redis {lab.redis_url}, scratch {lab.scratch}")
    rows: list[Row] = []
    started = time.monotonic()
    failed = False
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        say(f"--- {module.TITLE}")
        began = time.monotonic()
        environment = dict(os.environ)
        try:
            rows.extend(module.run(lab))
        except Exception as err:  # one broken benchmark must not hide the others' figures
            failed = True
            traceback.print_exc()
            rows.append(Row(module.TITLE, f"failed: {err}", "", None, "", False))
        finally:
            # Each benchmark starts from the same environment (the staff pages' sets the
            # federal profile, which the next one's example proposal does not fit).
            os.environ.clear()
            os.environ.update(environment)
            reset_settings()
        say(f"    ({time.monotonic() - began:.0f} s)")
    seconds = time.monotonic() - started
    if not args.keep:
        shutil.rmtree(lab.scratch, ignore_errors=True)
    save(rows, args.output, seconds=seconds)
    print()
    print(f"Alliance Program Manager benchmarks ({seconds / 60:.1f} min) on {machine()}")
    print()
    print(render(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
