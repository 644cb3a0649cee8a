"""The priority score: every point explained, every score tied to the configuration version
that produced it.

The Coordinator edits the configuration (priority areas with effective dates, and weights);
each edit is a new version, and open proposals are rescored with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

DEFAULT_WEIGHTS: dict[str, int] = {
    "priority_area": 30,  # per matching priority area in effect
    "emerging_issue": 20,
    "expertise_gap": 20,
    "workers_per_reach_point": 1500,  # 12,000 workers reached: +8
    "reach_max": 20,
    "hazard": 2,  # per hazard from the agency's list
    "hazard_max": 10,
}


@dataclass(frozen=True)
class PriorityArea:
    slug: str
    label: str
    effective_from: date | None = None
    effective_to: date | None = None
    weight: int | None = None  # None: the priority_area weight

    def in_effect(self, on: date) -> bool:
        if self.effective_from and on < self.effective_from:
            return False
        return not (self.effective_to and on > self.effective_to)


@dataclass(frozen=True)
class ScoringRules:
    version: int
    weights: dict[str, int]
    priority_areas: tuple[PriorityArea, ...]

    @classmethod
    def from_json(
        cls, version: int, weights: dict[str, Any], priority_areas: list[dict[str, Any]]
    ) -> ScoringRules:
        return cls(
            version=version,
            weights={**DEFAULT_WEIGHTS, **{k: int(v) for k, v in weights.items()}},
            priority_areas=tuple(
                PriorityArea(
                    slug=area["slug"],
                    label=area.get("label") or area["slug"].replace("_", " ").capitalize(),
                    effective_from=_date(area.get("effective_from")),
                    effective_to=_date(area.get("effective_to")),
                    weight=area.get("weight"),
                )
                for area in priority_areas
            ),
        )


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class ScoreLine:
    points: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"points": self.points, "reason": self.reason}


@dataclass(frozen=True)
class Score:
    total: int
    lines: tuple[ScoreLine, ...]
    version: int


def score_proposal(
    proposal: dict[str, Any],
    rules: ScoringRules,
    *,
    on: date,
    hazard_labels: dict[str, str] | None = None,
) -> Score:
    """Score a proposal (the shape in shared/proposal.py) as of ``on``."""
    weights = rules.weights
    lines: list[ScoreLine] = []
    priority = proposal.get("priority") or {}
    chosen = set(priority.get("priority_areas") or [])
    for area in rules.priority_areas:
        if area.slug not in chosen:
            continue
        if area.in_effect(on):
            points = area.weight if area.weight is not None else weights["priority_area"]
            lines.append(ScoreLine(points, f'matches priority area "{area.label}"'))
        else:
            lines.append(
                ScoreLine(
                    0, f'names priority area "{area.label}", not in effect on {on.isoformat()}'
                )
            )
    if (priority.get("emerging_issue") or "").strip():
        lines.append(ScoreLine(weights["emerging_issue"], "addresses an emerging issue"))
    if (priority.get("expertise_gap") or "").strip():
        lines.append(ScoreLine(weights["expertise_gap"], "fills an expertise gap"))
    reached = (proposal.get("organization") or {}).get("workers_reached") or 0
    per_point = max(1, weights["workers_per_reach_point"])
    reach_points = min(weights["reach_max"], int(reached) // per_point)
    if reach_points:
        lines.append(ScoreLine(reach_points, f"reach of {int(reached):,} workers"))
    hazards = [h for h in proposal.get("hazards") or [] if isinstance(h, str)]
    if hazards and weights["hazard"]:
        hazard_points = min(weights["hazard_max"], weights["hazard"] * len(hazards))
        names = ", ".join((hazard_labels or {}).get(h, h) for h in hazards)
        lines.append(ScoreLine(hazard_points, f"addresses hazards: {names}"))
    return Score(
        total=sum(line.points for line in lines), lines=tuple(lines), version=rules.version
    )


def explain(score_lines: list[dict[str, Any]]) -> list[str]:
    """ "matches priority area "Falls" +30" lines for the screen."""
    return [
        f"{line['reason']} {'+' if line['points'] >= 0 else ''}{line['points']}"
        for line in score_lines
    ]
