"""How a setting is declared: ``Setting`` (one variable, its parser, default and doc), the
``Section`` that groups settings in docs/configuration.md, and the error a bad value raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from shared.config.parsers import Parser, Refused

SERVICES: tuple[str, ...] = ("intake", "review", "reporting", "notify")

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DOCUMENT = "docs/configuration.md"

T = TypeVar("T")


class ConfigurationError(RuntimeError):
    """Settings are missing or malformed; the message names each variable and what it
    accepts."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = f"{problems[0]} (every setting: {DOCUMENT})"
        else:
            listed = "".join(f"\n  {problem}" for problem in problems)
            message = f"{len(problems)} settings are wrong (every setting: {DOCUMENT}):{listed}"
        super().__init__(message)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its parser, its default, what production requires."""

    name: str
    parser: Parser[T]
    default: T
    doc: str
    # Required when APP_ENV=production: unset, it stops the process there.
    production: bool = False
    # How docs/configuration.md shows the default when the value itself would not say it.
    default_doc: str | None = None
    # Its value is never repeated in a message.
    secret: bool = False

    def parse(self, raw: str) -> T:
        """The value of ``raw``, or a ConfigurationError naming this variable."""
        try:
            return self.parser.convert(raw.strip())
        except ValueError as err:
            raise ConfigurationError([self.complaint(raw.strip(), err)]) from None

    def read(self, environ: Mapping[str, str]) -> T:
        """This setting alone from ``environ``: its default when unset or blank."""
        raw = environ.get(self.name, "").strip()
        return self.parse(raw) if raw else self.default

    def complaint(self, raw: str, err: ValueError) -> str:
        shown = self.name if self.secret else f"{self.name}={raw!r}"
        why = f"{err}; " if isinstance(err, Refused) else ""
        return f"{shown} is refused: {why}expected {self.parser.accepts}"

    def shown_default(self) -> str:
        """The default as docs/configuration.md shows it (Markdown)."""
        if self.default_doc is not None:
            return self.default_doc
        value: object = self.default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float):
            value = f"{value:g}"
        elif isinstance(value, Path) and value.is_relative_to(PROJECT_ROOT):
            value = value.relative_to(PROJECT_ROOT)
        return f"`{value}`" if value not in (None, "") else "(none)"


@dataclass
class Section:
    """A titled group of settings: one table of docs/configuration.md (sections.py lists them)."""

    title: str
    about: str
    settings: list[Setting[Any]] = field(default_factory=list)

    def add(self, setting: Setting[T]) -> Setting[T]:
        self.settings.append(setting)
        return setting
