"""``alliance config check``: every setting of this environment, its state, and what is wrong
with it, by the very rules the processes start with (shared/config ``read_settings``, and
``production_problems`` for ``APP_ENV=production``). No secret is ever printed: a secret
setting shows only whether it is set, and a server URL its password as ``***``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import click

from deploy.operations.common import one_line
from shared.config import (
    APP_ENV,
    DATABASE_URLS,
    DEBUG_SWITCHES,
    DOCUMENT,
    REDIS_URL,
    SECTIONS,
    ConfigurationError,
    Setting,
    read_settings,
)

URL_SETTINGS = frozenset({REDIS_URL.name, *(s.name for s in DATABASE_URLS.values())})
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def masked_url(raw: str) -> str:
    """``raw`` with its password (in the user-info, or ``?password=``) as ``***``."""
    masked = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*:)[^@/?#]*@", r"\1***@", raw)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", masked)


def shown_value(setting: Setting[Any], raw: str) -> str:
    """What the check prints of a setting's text: never a secret."""
    if setting.secret:
        return "set (secret, not shown)"
    if setting.name in URL_SETTINGS:
        return masked_url(raw)
    return raw


def problems_of(environ: Mapping[str, str]) -> list[str]:
    """What the processes would refuse in ``environ`` (none: they would start)."""
    try:
        read_settings(environ)
    except ConfigurationError as err:
        return list(err.problems)
    return []


def without_secrets(problem: str, environ: Mapping[str, str]) -> str:
    """A problem's text with any server URL's password masked (a malformed URL is quoted)."""
    for name in URL_SETTINGS:
        raw = environ.get(name, "").strip()
        if raw and raw in problem:
            problem = problem.replace(raw, masked_url(raw))
    return problem


def by_variable(problems: list[str]) -> dict[str, list[str]]:
    """Each problem under the variable it starts with (every message names its variable
    first); others under ''."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        name = _NAME.match(problem)
        found.setdefault(name.group(0) if name else "", []).append(problem)
    return found


@click.group(cls=click.Group)
def config() -> None:
    """The settings this environment gives the processes."""


@config.command(cls=click.Command)
@click.option(
    "--production",
    is_flag=True,
    help="Check as APP_ENV=production would, whatever APP_ENV says (before switching).",
)
def check(production: bool) -> None:
    """Check every setting of this environment by the rules the processes start with: print
    each variable's state (set, default, or unset and required) and what is wrong with it.

    Exits 1 when the processes would refuse to start: with APP_ENV=production (or
    --production), everything production refuses; otherwise a value that does not parse.
    Secrets are never printed. Every setting: docs/configuration.md."""
    environ = dict(os.environ)
    if production:
        environ[APP_ENV.name] = "production"
    mode = environ.get(APP_ENV.name, "").strip() or APP_ENV.default
    problems = [without_secrets(p, environ) for p in problems_of(environ)]
    in_production: list[str] = []
    if mode != "production":
        in_production = [
            without_secrets(p, environ)
            for p in problems_of({**environ, APP_ENV.name: "production"})
            if p not in problems
        ]
    listed = by_variable(problems)
    later = by_variable(in_production)
    click.echo(f"Settings as APP_ENV={mode} reads them (every setting: {DOCUMENT})")
    for section in SECTIONS:
        click.echo(f"\n{section.title}")
        for setting in section.settings:
            raw = environ.get(setting.name, "").strip()
            if raw:
                state = shown_value(setting, raw)
            elif setting.production and mode == "production":
                state = "unset (required)"
            else:
                shown = one_line(setting.shown_default().replace("`", ""), 90)
                state = "default" + ("" if setting.secret else f": {shown}")
            mark = "FAIL" if setting.name in listed else "ok"
            click.echo(f"  {mark:<4}  {setting.name:<34} {state}")
            for problem in listed.pop(setting.name, []):
                click.echo(f"        {problem}")
            for problem in later.pop(setting.name, []):
                click.echo(f"        in production: {problem}")
    switches = [name for name in DEBUG_SWITCHES if environ.get(name, "").strip()]
    if switches or listed or later:
        click.echo("\nOther")
        for name in switches:
            mark = "FAIL" if name in listed else "ok"
            click.echo(f"  {mark:<4}  {name:<34} {environ[name].strip()}")
        for group, prefix in ((listed, ""), (later, "in production: ")):
            for problem in (p for found in group.values() for p in found):
                click.echo(f"        {prefix}{problem}")
    click.echo("")
    if problems:
        raise click.ClickException(
            f"{len(problems)} problem(s): the processes would refuse to start as APP_ENV={mode}"
        )
    if in_production:
        click.echo(
            f"ok as APP_ENV={mode}; APP_ENV=production would refuse to start over "
            f"{len(in_production)} problem(s) (`alliance config check --production`)"
        )
    else:
        click.echo(f"ok: the processes start as APP_ENV={mode}")
