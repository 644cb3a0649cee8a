"""Test data shared by the unit tests beside each service and the tests in tests/."""

from __future__ import annotations

import copy
from typing import Any

SPEC_EXAMPLE: dict[str, Any] = {
    "organization": {
        "name": "Michigan Roofing Contractors Association",
        "type": "trade_association",
        "address": {"street": "100 Main St", "city": "Lansing", "state": "MI", "zip": "48933"},
        "website": "https://example.org",
        "workers_reached": 12000,
    },
    "contact": {
        "name": "Dana Smith",
        "title": "Safety Director",
        "phone": "517-555-0100",
        "email": "dana@example.org",
        "fax": "517-555-0101",
    },
    "hazards": ["falls", "heat"],
    "hazards_other": "",
    "goals": [
        {
            "category": "outreach_communication",
            "term": "short",
            "description": "Publish fall-protection toolbox talks to members",
            "activities": ["disseminate_information", "mailing_lists"],
            "measure": "members reached",
        },
        {
            "category": "training_education",
            "term": "long",
            "description": "Train 500 roofers in fall protection",
            "activities": ["develop_training"],
            "measure": "workers trained",
        },
    ],
    "priority": {"priority_areas": ["falls"], "emerging_issue": "", "expertise_gap": ""},
    "requested_division": "construction_safety_health",
}


def example_proposal(**changes: Any) -> dict[str, Any]:
    """The SPEC's example proposal (a deep copy), with top-level keys replaced."""
    proposal = copy.deepcopy(SPEC_EXAMPLE)
    proposal.update(changes)
    return proposal
