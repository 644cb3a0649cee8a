"""The settings of review."""

from __future__ import annotations

from shared.config.declarations import Section, Setting
from shared.config.parsers import (
    whole,
)

REVIEW = Section("Review", "The review queue, decisions and alliances.")
REVIEW_INITIAL_TERM_YEARS = REVIEW.add(
    Setting(
        "REVIEW_INITIAL_TERM_YEARS",
        whole("years", 1, 10),
        2,
        "the initial term an approval proposes for a new alliance",
    )
)
