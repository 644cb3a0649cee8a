"""Parsers: from a variable's text to its value, each saying what it accepts."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.agency import Choices

T_co = TypeVar("T_co", covariant=True)


class Refused(ValueError):
    """What exactly is wrong with a value, beyond what its parser accepts."""


@dataclass(frozen=True)
class Parser(Generic[T_co]):
    """``convert`` raises ValueError for text it does not take (``Refused`` to say why);
    ``accepts`` tells people what it takes."""

    accepts: str
    convert: Callable[[str], T_co]


def _as_is(raw: str) -> str:
    return raw


def text(accepts: str = "any text") -> Parser[str]:
    return Parser(accepts, _as_is)


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


BOOLEAN = Parser("true or false (or 1/0, yes/no, on/off)", _boolean)


def whole(unit: str, minimum: int, maximum: int | None = None) -> Parser[int]:
    number = f"a whole number of {unit}," if unit else "a whole number"
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
    if not unit and maximum is None:
        number += ","

    def convert(raw: str) -> int:
        value = int(raw)
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(raw)
        return value

    return Parser(f"{number} {bounds}", convert)


def seconds(minimum: float) -> Parser[float]:
    def convert(raw: str) -> float:
        value = float(raw)
        if not value >= minimum or value == float("inf"):  # refuses nan and inf too
            raise ValueError(raw)
        return value

    return Parser(f"a number of seconds, at least {minimum:g}", convert)


def one_of(*choices: str) -> Parser[str]:
    def convert(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return Parser("one of " + ", ".join(choices), convert)


def _time_zone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(raw) from None


TIME_ZONE = Parser("an IANA time zone name such as America/Detroit", _time_zone)


def url(*schemes: str, or_path: bool = False) -> Parser[str]:
    starts = " or ".join(f"{scheme}://" for scheme in schemes)
    accepts = f"a URL starting with {starts}" + (" (or a path starting with /)" if or_path else "")

    def convert(raw: str) -> str:
        if or_path and raw.startswith("/") and not raw.startswith("//"):
            return raw
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not (parts.hostname or parts.scheme == "unix"):
            raise ValueError(raw)
        return raw.rstrip("/") if parts.scheme in ("http", "https") else raw

    return Parser(accepts, convert)


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ValueError(raw) from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise ValueError(raw)
    return raw


DATABASE_URL = Parser(
    "a PostgreSQL URL such as postgresql://user:password@host:5432/database", _database_url
)


def _address(raw: str, *, named: bool) -> str:
    name, address = parseaddr(raw)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or (not named and (name or address != raw)):
        raise ValueError(raw)
    return raw


def _email_address(raw: str) -> str:
    return _address(raw, named=False)


def _mail_from(raw: str) -> str:
    return _address(raw, named=True)


EMAIL_ADDRESS = Parser("an e-mail address such as coordinator@agency.example", _email_address)
FROM_ADDRESS = Parser(
    "an e-mail address, with or without a name: Alliance Program <alliances@agency.example>",
    _mail_from,
)


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


PATH = Parser("a folder", _path)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise ValueError(raw)
    return raw.upper()


LOG_LEVEL_NAME = Parser(", ".join(LOG_LEVELS[:-1]) + f" or {LOG_LEVELS[-1]}", _log_level)


def _rate_limit(raw: str) -> str:
    from limits import parse_many

    parse_many(raw)  # ValueError unless it is Flask-Limiter's notation
    return raw


RATE_LIMIT = Parser(
    "limits in Flask-Limiter's notation separated by ';', such as 20 per minute;200 per hour",
    _rate_limit,
)


def _choices(raw: str) -> Choices:
    choices: Choices = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        slug, _, label = item.partition("=")
        slug = slug.strip()
        if not (slug.isascii() and slug.replace("_", "").isalnum() and slug == slug.lower()):
            raise Refused(f"{slug!r} is not a slug (lower-case letters, digits and _)")
        choices[slug] = label.strip() or slug.replace("_", " ").capitalize()
    if not choices:
        raise Refused("it lists nothing")
    return choices


CHOICES = Parser(
    "comma-separated slug=Label pairs, such as falls=Falls,heat=Heat illness", _choices
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)([smhd])")


def duration(raw: str) -> timedelta:
    """``30s``, ``5m``, ``2h`` or ``1d``: a positive whole number and a unit."""
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None or int(match[1]) == 0:
        raise Refused(f"{raw.strip()!r} is not a duration such as 30s, 5m, 2h or 1d")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def durations(raw: str) -> tuple[timedelta, ...]:
    """Comma-separated durations, never shrinking."""
    if not raw.strip():
        raise Refused("it must list at least one duration, e.g. 30s,1m,1h")
    schedule = tuple(duration(part) for part in raw.split(","))
    for earlier, later in itertools.pairwise(schedule):
        if later < earlier:
            raise Refused(f"it must not shrink: {later} comes after {earlier}")
    return schedule


DURATIONS = Parser("durations such as 30s,1m,2h,1d, comma-separated, never shrinking", durations)


def _keys(raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())


KEYS = Parser("keys separated by commas", _keys)

REMINDER_KINDS: tuple[str, ...] = ("due_soon", "due", "overdue", "escalated")


def reminder_schedule(raw: str) -> tuple[tuple[str, int], ...]:
    """Comma-separated ``kind:days`` pairs, days counted from the due date, in order."""
    reminders: list[tuple[str, int]] = []
    for item in raw.split(","):
        kind, colon, days = item.strip().partition(":")
        if kind not in REMINDER_KINDS or not colon:
            raise Refused(
                f"{item.strip()!r} is not kind:days with kind one of " + ", ".join(REMINDER_KINDS)
            )
        try:
            reminders.append((kind, int(days)))
        except ValueError:
            raise Refused(
                f"{item.strip()!r}: {days.strip()!r} is not a whole number of days"
            ) from None
    for (_, earlier), (_, later) in itertools.pairwise(reminders):
        if later <= earlier:
            raise Refused(f"the days must rise: {later} comes after {earlier}")
    return tuple(reminders)


DEFAULT_REMINDER_DAYS = "due_soon:-14,due_soon:-3,due:0,overdue:1,overdue:14,escalated:30"
REMINDER_DAYS = Parser(
    "comma-separated kind:days pairs (kind: due_soon, due, overdue or escalated; days from the "
    "due date, rising), such as due_soon:-14,due:0,overdue:1",
    reminder_schedule,
)


def _host_names(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower().strip("[]") for name in raw.split(",") if name.strip())
    for name in names:
        if not re.fullmatch(r"[a-z0-9.:_-]{1,253}", name):
            raise Refused(f"{name!r} is not a host name or address")
    return names


HOST_NAMES = Parser("host names or IP addresses, comma-separated", _host_names)
