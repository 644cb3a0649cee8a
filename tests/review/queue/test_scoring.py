from datetime import date

import pytest

from services.review.queue.scoring import ScoringRules, explain, score_proposal
from shared.testing import example_proposal

pytestmark = pytest.mark.unit

RULES = ScoringRules.from_json(
    3,
    {},
    [
        {"slug": "falls", "label": "Falls", "effective_from": "2026-01-01"},
        {"slug": "heat", "label": "Heat", "effective_from": "2027-05-01", "weight": 40},
    ],
)


def test_spec_example_scores_with_every_point_explained():
    proposal = example_proposal()
    proposal["priority"]["emerging_issue"] = "Heat stress on roofs"
    proposal["priority"]["expertise_gap"] = "Steep-slope rescue"

    score = score_proposal(
        proposal,
        RULES,
        on=date(2026, 11, 23),
        hazard_labels={"falls": "Falls", "heat": "Heat illness"},
    )

    assert explain([line.as_json() for line in score.lines]) == [
        'matches priority area "Falls" +30',
        "addresses an emerging issue +20",
        "fills an expertise gap +20",
        "reach of 12,000 workers +8",
        "addresses hazards: Falls, Heat illness +4",
    ]
    assert score.total == 82
    assert score.version == 3


def test_priority_area_counts_only_while_in_effect():
    proposal = example_proposal()
    proposal["priority"]["priority_areas"] = ["heat"]
    before = score_proposal(proposal, RULES, on=date(2027, 4, 30))
    after = score_proposal(proposal, RULES, on=date(2027, 5, 1))
    assert before.lines[0].points == 0
    assert "not in effect on 2027-04-30" in before.lines[0].reason
    assert after.lines[0].points == 40
    assert after.total - before.total == 40


def test_reach_and_hazards_are_capped():
    proposal = example_proposal(
        hazards=["falls", "heat", "noise", "silica", "trenching", "amputations", "ergonomics"]
    )
    proposal["organization"]["workers_reached"] = 10_000_000
    proposal["priority"]["priority_areas"] = []
    score = score_proposal(proposal, RULES, on=date(2026, 11, 23))
    assert [line.points for line in score.lines] == [20, 10]


def test_weights_come_from_the_configuration():
    rules = ScoringRules.from_json(4, {"emerging_issue": 5, "hazard": 0}, [])
    proposal = example_proposal()
    proposal["priority"]["emerging_issue"] = "New chemicals"
    score = score_proposal(proposal, rules, on=date(2026, 11, 23))
    assert [(line.points, line.reason) for line in score.lines] == [
        (5, "addresses an emerging issue"),
        (8, "reach of 12,000 workers"),
    ]
