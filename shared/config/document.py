"""docs/configuration.md's tables, generated from the declarations:
``python -m shared.config docs/configuration.md`` rewrites them; a test fails when they differ."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from shared.config.notify import WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS
from shared.config.production import (
    DEBUG_SWITCHES,
    KNOWN_DEFAULT_PASSWORDS,
    KNOWN_DEFAULT_SECRETS,
    PASSWORD_MIN_CHARACTERS,
    PLACEHOLDER_MARKERS,
    SECRET_MIN_BYTES,
    SECRET_MIN_DISTINCT,
)
from shared.config.running import (
    DATABASE_URLS,
    PUBLIC_BASE_URL,
    REDIS_URL,
    SECRET_KEY,
    SECRET_KEY_FALLBACKS,
)
from shared.config.sections import SECTIONS
from shared.config.staff import STAFF_PASSWORD_HASH, STAFF_SIGN_IN_URL

BEGIN = "<!-- settings: generated from shared/config/; do not edit by hand -->"
END = "<!-- end of settings -->"


def configuration_tables() -> str:
    """The Markdown tables of every declared setting, section by section."""
    lines: list[str] = []
    for declared in SECTIONS:
        lines += [f"## {declared.title}", "", declared.about, ""]
        lines += [
            "| Variable | Default | Production | Accepts | What it does |",
            "| --- | --- | --- | --- | --- |",
        ]
        for setting in declared.settings:
            cells = (
                f"`{setting.name}`",
                setting.shown_default(),
                "required" if setting.production else "",
                setting.parser.accepts,
                setting.doc,
            )
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines + production_refusals())


def production_refusals() -> list[str]:
    """The Markdown list of what ``APP_ENV=production`` refuses (production_problems)."""

    def listed(values: Iterable[str]) -> str:
        return ", ".join(f"`{value}`" for value in sorted(values))

    keys = (SECRET_KEY, SECRET_KEY_FALLBACKS, WEBHOOK_SECRETS_KEY, WEBHOOK_SECRETS_KEY_FALLBACKS)
    urls = (REDIS_URL, *DATABASE_URLS.values())
    return [
        "## What production refuses",
        "",
        "With `APP_ENV=production` the process also stops, naming the variable and what to do, "
        "when:",
        "",
        f"- a key ({', '.join(f'`{s.name}`' for s in keys)}; each fallback too) is shorter "
        f"than {SECRET_MIN_BYTES} bytes, uses fewer than {SECRET_MIN_DISTINCT} different "
        "characters, is a placeholder (it contains "
        f"{listed(PLACEHOLDER_MARKERS)}) or one of the defaults published in this repository: "
        f"{listed(KNOWN_DEFAULT_SECRETS)};",
        f"- a server's URL ({', '.join(f'`{s.name}`' for s in urls)}) carries no password, "
        f"a password shorter than {PASSWORD_MIN_CHARACTERS} characters, its user name, a "
        f"placeholder or a default: {listed(KNOWN_DEFAULT_PASSWORDS)};",
        f"- a debug switch is on: {listed(DEBUG_SWITCHES)} (`FLASK_DEBUG` and `ALLIANCE_DEBUG` "
        "count as on unless `0`, `false` or `no`, as Flask reads them; `FLASK_ENV` when "
        "`development`);",
        f"- `{PUBLIC_BASE_URL.name}` or an absolute `{STAFF_SIGN_IN_URL.name}` does not start "
        "with `https://`;",
        f"- `{STAFF_PASSWORD_HASH.name}` is not `strong`.",
        "",
        "Rotating `SECRET_KEY`: set the new key and move the old one to "
        "`SECRET_KEY_FALLBACKS`. Links, sessions and form tokens signed with the old key keep "
        "opening; everything new is signed with the new one. Drop the old key once what it "
        "signed may stop working (a status link lives `INTAKE_STATUS_LINK_DAYS`, a report "
        "link `REPORT_LINK_DAYS`). While `WEBHOOK_SECRETS_KEY` is unset the endpoints' secrets "
        "follow `SECRET_KEY` and its fallbacks: rotate each endpoint's secret before dropping "
        "the old key.",
        "",
    ]


def with_tables(document: str) -> str:
    """``document`` with the part between its markers replaced by ``configuration_tables()``."""
    head, begin, rest = document.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the document lacks the markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{configuration_tables()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """``python -m shared.config docs/configuration.md``: regenerate its tables."""
    if len(argv) != 1:
        print("usage: python -m shared.config docs/configuration.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(with_tables(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0
