"""Calendar arithmetic more than one service needs."""

from __future__ import annotations

from datetime import date, timedelta


def add_years(start: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def term_end(signing_date: date, term_years: int) -> date:
    """The last day of a term of ``term_years`` signed on ``signing_date``: the day before
    its anniversary (a term signed on 29 February 2024 for one year ends on 27 February 2025)."""
    return add_years(signing_date, term_years) - timedelta(days=1)
