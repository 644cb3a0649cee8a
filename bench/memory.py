"""Row 8: the memory of the whole ``make run`` system (``alliance run`` on its embedded servers,
as a fresh machine starts it), after it has done some work: the PSS of every process of it
added up (shared pages counted once, split between their sharers), and the largest RSS."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

from bench.lab import Lab, free_port, say
from bench.table import Row
from tests.e2e.system import RunningSystem, without_server_urls

TITLE = "Memory of the make run system"
PSS_TARGET_MB = 500
RSS_TARGET_MB = 150
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "example-proposal.json"


def system_processes(root: int, var_dir: Path) -> list[int]:
    """``root`` and every process under it, and the embedded servers (which detach from the
    supervisor: found by their data folder in ``var_dir``) with theirs (from /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    todo = [root]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        children[parent].append(int(entry.name))
        if str(var_dir).encode() in argv:
            todo.append(int(entry.name))
    found: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def memory_of(pid: int) -> tuple[float, float, str]:
    """(PSS MB, RSS MB, what the process is) of one process; zeros when it has gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return 0.0, 0.0, "gone"
    values = {}
    for line in rollup.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0]) / 1024
    return values.get("Pss", 0.0), values.get("Rss", 0.0), kind_of(argv)


def kind_of(argv: list[bytes]) -> str:
    words = [a.decode(errors="replace") for a in argv if a]
    line = " ".join(words)
    if "gunicorn" in line:
        return "web (gunicorn)"
    if " beat" in line:
        return "beat"
    for service in ("intake", "review", "reporting", "notify"):
        if f"services.{service}.worker" in line:
            return f"{service} worker"
    if "deploy.cli" in line or "alliance run" in line or line.endswith("/alliance run"):
        return "supervisor"
    if words and ("postgres" in words[0] or "postgres:" in line):
        return "PostgreSQL (embedded)"
    if words and ("valkey" in words[0] or "redis" in words[0]):
        return "Valkey (embedded)"
    return Path(words[0]).name if words else "?"


def submit_some(base: str, count: int) -> None:
    """A few proposals through the system, so every process has done its work once."""
    body = json.loads(EXAMPLE.read_text())
    for n in range(count):
        body["contact"]["email"] = f"memory-{n}-{time.time_ns()}@example.org"
        request = urllib.request.Request(  # noqa: S310 (loopback only)
            f"{base}/api/v1/proposals",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                assert answer.status == 201, answer.status
        except urllib.error.HTTPError as err:
            raise AssertionError(f"POST answered {err.code}: {err.read()[:500]!r}") from None


def run(lab: Lab) -> list[Row]:
    env = without_server_urls(dict(os.environ))  # the embedded servers, as on a fresh machine
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    system = RunningSystem(
        var_dir=lab.scratch / "memory", port=port, env=env, web_workers=1
    )  # make run's default
    try:
        system.wait_healthy(timeout=180)
        submit_some(system.base, 20)
        for path in ("/apply", "/healthz", "/metrics"):
            urllib.request.urlopen(system.base + path, timeout=30).read()  # noqa: S310
        time.sleep(15)  # the mails go out, the beat ticks, the workers settle
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        largest = (0.0, "")
        for pid in system_processes(system.process.pid, system.var_dir):
            pss, rss, kind = memory_of(pid)
            if kind == "gone":
                continue
            totals[kind][0] += pss
            totals[kind][1] = max(totals[kind][1], rss)
            totals[kind][2] += 1
            largest = max(largest, (rss, kind))
    finally:
        system.stop()
    pss = sum(t[0] for t in totals.values())
    processes = int(sum(t[2] for t in totals.values()))
    for kind, (kind_pss, kind_rss, count) in sorted(totals.items(), key=lambda i: -i[1][0]):
        say(
            f"  {kind:24} {int(count):3} process(es)  PSS {kind_pss:6.0f} MB  "
            f"max RSS {kind_rss:5.0f} MB"
        )
    say(
        f"  total: {processes} processes, PSS {pss:.0f} MB, "
        f"largest RSS {largest[0]:.0f} MB ({largest[1]})"
    )
    breakdown = ", ".join(
        f"{kind} {t[0]:.0f}" for kind, t in sorted(totals.items(), key=lambda i: -i[1][0])
    )
    return [
        Row(
            TITLE,
            f"PSS {pss:.0f} MB in {processes} processes",
            f"target {PSS_TARGET_MB} MB",
            PSS_TARGET_MB / pss if pss else None,
            f"≤ {PSS_TARGET_MB} MB (ratio ≥ 1)",
            pss <= PSS_TARGET_MB,
            note=f"PSS by process kind (MB): {breakdown}",
            figures={"pss_mb": pss, "processes": processes},
        ),
        Row(
            "Largest process (RSS)",
            f"{largest[0]:.0f} MB ({largest[1]})",
            f"target {RSS_TARGET_MB} MB",
            RSS_TARGET_MB / largest[0] if largest[0] else None,
            f"≤ {RSS_TARGET_MB} MB (ratio ≥ 1)",
            largest[0] <= RSS_TARGET_MB,
            figures={"rss_mb": largest[0]},
        ),
    ]
