"""The one table ``make bench`` prints: each row a measure, its baseline, the ratio, the target.

A benchmark module (``bench/<name>.py``) has ``TITLE`` and ``run(lab: Lab) -> list[Row]``;
``bench/__main__.py`` runs them in order and prints every row together at the end, and writes
them to ``bench-results.json`` (for ``docs/performance.md``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Row:
    """One line of the table.

    ``measure`` and ``baseline`` are the figures as people read them ("117 /s, p99 100 ms");
    ``ratio`` is the number the target speaks of (higher is better when ``higher_is_better``);
    ``target`` is its wording ("≥ 0.75"), ``met`` whether it holds, ``note`` anything the
    reader needs (what was measured, why a target is missed).
    """

    benchmark: str
    measure: str
    baseline: str
    ratio: float | None
    target: str
    met: bool
    note: str = ""
    figures: dict[str, float] = field(default_factory=dict)


def machine() -> str:
    """The machine the figures are from: CPU model, cores, memory, Python, PostgreSQL."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _cell(text: str, width: int) -> str:
    return text.ljust(width)


def render(rows: list[Row]) -> str:
    """The rows as a plain-text table, one line each, columns aligned."""
    header = ["#", "benchmark", "measure", "baseline", "ratio", "target", "met"]
    lines = []
    for index, row in enumerate(rows, 1):
        lines.append(
            [
                str(index),
                row.benchmark,
                row.measure,
                row.baseline,
                "" if row.ratio is None else f"{row.ratio:.2f}",
                row.target,
                "yes" if row.met else "NO",
            ]
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = [
        "  ".join(_cell(h, w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    out += ["  ".join(_cell(c, w) for c, w in zip(line, widths, strict=True)) for line in lines]
    notes = [f"{i}. {row.benchmark}: {row.note}" for i, row in enumerate(rows, 1) if row.note]
    if notes:
        out += ["", *notes]
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    """The rows as a Markdown table (docs/performance.md)."""
    out = [
        "| # | benchmark | measure | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(rows, 1):
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        out.append(
            f"| {index} | {row.benchmark} | {row.measure} | {row.baseline} | {ratio} | "
            f"{row.target} | {'yes' if row.met else '**no**'} |"
        )
    return "\n".join(out)


def save(rows: list[Row], path: Path, *, seconds: float) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    path.write_text(
        json.dumps(
            {
                "machine": machine(),
                "commit": commit,
                "seconds": round(seconds),
                "rows": [asdict(row) for row in rows],
            },
            indent=2,
        )
    )


def main() -> None:
    """``python -m bench.table [bench-results.json]``: the saved table as Markdown."""
    import sys

    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-results.json")
    saved = json.loads(path.read_text())
    rows = [Row(**row) for row in saved["rows"]]
    print(f"Commit {saved['commit']}, {saved['seconds'] / 60:.1f} min, on {saved['machine']}.\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
