"""Calendar arithmetic: a year later, the last day of a term."""

from datetime import date

import pytest

from shared.dates import add_years, term_end

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),  # no 29 February in 2025
        (date(2024, 2, 29), 4, date(2028, 2, 29)),  # a leap year again
        (date(2023, 3, 1), 1, date(2024, 3, 1)),
        (date(2026, 12, 31), 2, date(2028, 12, 31)),
    ],
)
def test_add_years_keeps_the_day_except_29_february(start, years, expected):
    assert add_years(start, years) == expected


@pytest.mark.parametrize(
    ("signed", "years", "last_day"),
    [
        (date(2024, 2, 29), 2, date(2026, 2, 27)),  # 28 February 2026, less a day
        (date(2024, 2, 29), 4, date(2028, 2, 28)),
        (date(2026, 3, 1), 2, date(2028, 2, 29)),  # the day before 1 March of a leap year
        (date(2026, 12, 1), 2, date(2028, 11, 30)),
        (date(2027, 1, 1), 1, date(2027, 12, 31)),
    ],
)
def test_a_term_ends_the_day_before_its_anniversary(signed, years, last_day):
    assert term_end(signed, years) == last_day
