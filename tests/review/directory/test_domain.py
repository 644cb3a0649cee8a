"""The public directory and roundtable membership over time, on real PostgreSQL: each test
in a transaction rolled back after it (``session``), but the one over HTTP."""

import json
from datetime import timedelta

import pytest

from services.review.directory import domain as directory
from services.review.directory.schemas import DirectoryOut
from shared.dates import term_end
from tests.review.factories import agency_today

pytestmark = pytest.mark.integration

PRIVATE = [
    "dana@example.org",
    "Dana Smith",
    "517-555-0100",
    "517-555-0101",
    "Safety Director",
    "lee@agency.example",
    "Lee Liaison",
    "100 Main St",
    "48933",
    "AP-2026-",
    "members reached",
    "Internal: their last report was thin",
    "Partner dissolved",
]


def test_the_directory_lists_active_alliances_and_ambassadors_with_public_facts_only(
    session, program
):
    today = program["today"]
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))

    assert listing["as_of"] == today.isoformat()
    assert [a["partner_name"] for a in listing["alliances"]] == [
        "Ironworkers Guild",
        "Roofers Association",
    ]
    ironworkers, roofers = listing["alliances"]
    assert roofers == {
        "id": str(program["roofers"]),
        "partner_name": "Roofers Association",
        "website": "https://roofers.example",
        "status": "active",
        "ambassador": False,
        "ambassador_since": None,
        "division": "construction_safety_health",
        "division_label": "Construction Safety & Health",
        # A State Plan's offices are its divisions: the alliance is its lead division's.
        "office": "construction_safety_health",
        "office_name": "Construction Safety & Health",
        "signing_date": (today - timedelta(days=200)).isoformat(),
        "renewed_on": None,
        "goals": [
            {
                "category": "outreach_communication",
                "category_label": "Outreach and communication",
                "description": "Publish fall-protection toolbox talks to members",
                "term": "short",
                "term_label": "Short-term",
            },
            {
                "category": "training_education",
                "category_label": "Training and education",
                "description": "Train 500 roofers in fall protection",
                "term": "long",
                "term_label": "Long-term",
            },
        ],
        "roundtables": [
            {"id": str(program["construction"]), "name": "Construction Roundtable"},
            {
                "id": str(program["falls"]),
                "name": "Construction Roundtable: Fall Protection Workgroup",
            },
        ],
    }
    long_ago = today - timedelta(days=5 * 365)
    assert (
        ironworkers["status"],
        ironworkers["ambassador_since"],
        ironworkers["website"],
        ironworkers["signing_date"],
        ironworkers["renewed_on"],
    ) == (
        "ambassador",
        today.isoformat(),
        "",
        long_ago.isoformat(),
        term_end(long_ago, 2).isoformat(),
    )
    assert [r["name"] for r in ironworkers["roundtables"]] == ["Hazard Communication Roundtable"]

    assert [
        (
            r["name"],
            [m["partner_name"] for m in r["members"]],
            [(w["name"], [m["partner_name"] for m in w["members"]]) for w in r["workgroups"]],
        )
        for r in listing["roundtables"]
    ] == [
        (
            "Construction Roundtable",
            ["Roofers Association"],
            [
                ("Design for Safety Workgroup", []),
                ("Fall Protection Workgroup", ["Roofers Association"]),
            ],
        ),
        ("Hazard Communication Roundtable", ["Ironworkers Guild"], []),
    ]
    published = json.dumps(listing)
    assert [text for text in PRIVATE if text in published] == []


def test_the_federal_profile_names_the_office_level(session, program, monkeypatch):
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    listing = DirectoryOut().dump(directory.public_directory(session, today=agency_today()))
    assert listing["division_heading"] == "Office level"
