"""docs/operations.md stays true: every `alliance ...` command it shows exists, with every option
it names, and it says what to do for every alert of deploy/monitoring/alerts.yml."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from deploy.cli import main as alliance

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def shown_commands() -> list[str]:
    """Every `alliance ...` in the document's code spans and blocks, as written."""
    spans = re.findall(r"`([^`]*)`", DOCUMENT) + re.findall(r"^\$ (.*)$", DOCUMENT, re.M)
    return [
        match.group(0)
        for span in spans
        for match in re.finditer(r"(?<!-n )\balliance [a-z][^`|\n]*", span)
    ]


def test_every_command_the_document_shows_exists_with_its_options():
    commands = shown_commands()
    assert len(commands) > 20
    for shown in commands:
        words = shown.split()[1:]
        command: click.Command = alliance
        while isinstance(command, click.Group) and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        assert not isinstance(command, click.Group), f"{shown!r} names no command"
        options = {name for param in command.params for name in param.opts}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{shown!r}: {word} is no option"


def test_every_alert_has_its_entry():
    rules = (ROOT / "deploy" / "monitoring" / "alerts.yml").read_text(encoding="utf-8")
    alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
    assert alerts
    assert [name for name in alerts if f"**{name}**" not in DOCUMENT] == []
