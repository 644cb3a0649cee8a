"""Tables as files people open in a spreadsheet: every CSV export (reporting's figures, review's
alliances, the operator's ``alliance export``) writes its cells and its file the same way."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value: object) -> str:
    """A cell Excel shows as text: one starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain(value: object) -> str:
    """A cell as it is (for JSON, which no spreadsheet runs): None is ''."""
    return "" if value is None else str(value)


def to_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 with a byte-order mark and CRLF line endings: Excel opens it cleanly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
