"""The evaluation form's one input schema: a rating and a justification per fundamental
requirement (fields ``<requirement>_rating`` and ``<requirement>_justification``). That a
rating is given, and a justification unless the rating is Not applicable, are the domain's
rules (``domain.check_ratings``), so every refusal shows at once."""

from __future__ import annotations

from marshmallow import fields, validate

from services.reporting.evaluations.domain import RATINGS, REQUIREMENTS
from shared.proposal import optional_text
from shared.schemas import InputSchema

MAX_JUSTIFICATION = 2000


def _rating() -> fields.String:
    # Not required here: the domain names a missing rating beside the other refusals.
    return fields.String(
        load_default="", validate=validate.OneOf(["", *RATINGS], error="Choose a rating.")
    )


EvaluationSchema = InputSchema.from_dict(
    {
        name: field
        for key in REQUIREMENTS
        for name, field in (
            (f"{key}_rating", _rating()),
            (f"{key}_justification", optional_text(MAX_JUSTIFICATION)),
        )
    },
    name="EvaluationSchema",
)


def ratings_from(loaded: dict[str, str]) -> dict[str, dict[str, str]]:
    """The loaded form as the domain's ratings."""
    return {
        key: {
            "rating": loaded[f"{key}_rating"],
            "justification": loaded.get(f"{key}_justification", ""),
        }
        for key in REQUIREMENTS
    }
