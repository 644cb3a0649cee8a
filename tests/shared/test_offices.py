"""The agency's offices as a tree: what a Coordinator of an office sees (``within``), where an
alert goes up (``upward``), and the refusals of a tree that is not one."""

from __future__ import annotations

import pytest

from shared.agency import STATE_PLAN_DIVISIONS
from shared.config import ConfigurationError, load_agency_profile
from shared.offices import (
    FEDERAL_OFFICE_TREE,
    Office,
    OfficeTree,
    OfficeTreeError,
    parse_offices,
    state_plan_offices,
)

pytestmark = pytest.mark.unit

# A small federal-shaped tree: the National Office, two regions, an area office under one.
TREE = parse_offices(
    "national=National Office,"
    "region_5=Region V (Chicago)>national,"
    "region_6=Region VI (Dallas)>national,"
    "toledo=Toledo Area Office>region_5,"
    "toledo_east=Toledo East>toledo"
)


def test_a_coordinator_sees_their_office_and_every_office_under_it() -> None:
    assert TREE.within("national") == {
        "national",
        "region_5",
        "region_6",
        "toledo",
        "toledo_east",
    }
    assert TREE.within("region_5") == {"region_5", "toledo", "toledo_east"}
    assert TREE.within("region_6") == {"region_6"}
    assert TREE.within("toledo_east") == {"toledo_east"}


def test_covers_is_the_same_rule_from_the_other_side() -> None:
    assert TREE.covers("region_5", "toledo_east")
    assert TREE.covers("toledo", "toledo")
    assert not TREE.covers("region_6", "toledo")
    assert not TREE.covers("toledo", "region_5")  # a child never sees its parent's


def test_an_alert_goes_up_the_tree_to_the_top_office() -> None:
    assert [o.slug for o in TREE.upward("toledo_east")] == [
        "toledo_east",
        "toledo",
        "region_5",
        "national",
    ]
    assert [o.slug for o in TREE.upward("national")] == ["national"]
    assert TREE.depth("toledo") == 2


def test_children_keep_the_configured_order() -> None:
    assert [o.slug for o in TREE.children("national")] == ["region_5", "region_6"]
    assert TREE.children("region_6") == ()
    assert TREE.top.slug == "national"
    assert list(TREE.choices()) == ["national", "region_5", "region_6", "toledo", "toledo_east"]


def test_an_unknown_office_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="'region_9' is not one of the agency's offices"):
        TREE.within("region_9")
    assert "region_9" not in TREE
    assert "toledo" in TREE


def test_the_defaults_are_the_state_plan_s_divisions_and_osha_s_ten_regions() -> None:
    miosha = state_plan_offices("MIOSHA", STATE_PLAN_DIVISIONS)
    assert miosha.top == Office("agency", "MIOSHA", None)
    assert [o.name for o in miosha.children("agency")] == [
        "Consultation Education & Training",
        "General Industry Safety & Health",
        "Construction Safety & Health",
    ]
    regions = FEDERAL_OFFICE_TREE.children("national_office")
    assert len(regions) == 10
    assert regions[4] == Office("region_5", "Region V (Chicago)", "national_office")
    assert regions[9].name == "Region X (Seattle)"


def test_every_federal_region_has_its_area_offices_and_they_are_area_offices() -> None:
    tree = FEDERAL_OFFICE_TREE
    for region in tree.children("national_office"):
        offices = tree.children(region.slug)
        assert offices, f"{region.name} has no area office"
        assert all(o.name.endswith(("Area Office", "District Office")) for o in offices)
    region_v = {o.name for o in tree.children("region_5")}
    assert {"Lansing Area Office", "Toledo Area Office", "Chicago North Area Office"} <= region_v
    # A district office hangs under its area office, so a Region II coordinator covers it.
    assert [o.slug for o in tree.upward("area_queens")] == [
        "area_queens",
        "area_manhattan",
        "region_2",
        "national_office",
    ]
    assert len(tree) == 1 + 10 + 88


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "it lists no office"),
        ("top=Top,top=Again>top", "the office 'top' is named twice"),
        ("a=A,b=B", "one top office, with no parent; there are 2 (a, b)"),
        ("a=A>b,b=B>a", "one top office, with no parent; there are 0"),
        ("top=Top,a=A>nowhere", "'a' names 'nowhere' as its parent, which is not an office"),
        ("top=Top,a=A>b,b=B>a", "the office 'a' is its own ancestor"),
        ("top=Top,Region 5=R>top", "'Region 5' is not a slug"),
        ("top=Top,a=>top", "the office 'a' has no name"),
        ("top=Top,a=A>", "the office 'a' names no parent after '>'"),
        ("top", "'top' is not slug=Name"),
    ],
)
def test_a_tree_that_is_not_one_is_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(OfficeTreeError) as refused:
        parse_offices(raw)
    assert reason in str(refused.value)


def test_a_tree_built_in_code_is_checked_too() -> None:
    with pytest.raises(OfficeTreeError, match="one top office"):
        OfficeTree((Office("a", "A", "b"), Office("b", "B", "a")))


def test_the_profile_takes_its_tree_from_the_profile_or_agency_offices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AGENCY_OFFICES", "AGENCY_NAME", "AGENCY_DIVISIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENCY_PROFILE", "federal")
    assert load_agency_profile().offices == FEDERAL_OFFICE_TREE

    monkeypatch.setenv("AGENCY_PROFILE", "state_plan")
    assert load_agency_profile().offices == state_plan_offices("MIOSHA", STATE_PLAN_DIVISIONS)

    # Another State Plan: its name on top, its own divisions under it.
    monkeypatch.setenv("AGENCY_NAME", "Cal/OSHA")
    monkeypatch.setenv("AGENCY_DIVISIONS", "north=Northern Division,south=Southern Division")
    offices = load_agency_profile().offices
    assert offices.top.name == "Cal/OSHA"
    assert [o.name for o in offices.children("agency")] == [
        "Northern Division",
        "Southern Division",
    ]

    monkeypatch.setenv("AGENCY_OFFICES", "agency=The Agency,east=East Division>agency")
    offices = load_agency_profile().offices
    assert offices.within("agency") == {"agency", "east"}
    assert offices.name("east") == "East Division"


def test_a_bad_agency_offices_stops_the_start_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENCY_OFFICES", "agency=The Agency,east=East>west")
    with pytest.raises(ConfigurationError) as refused:
        load_agency_profile()
    message = str(refused.value)
    assert "AGENCY_OFFICES" in message
    assert "'east' names 'west' as its parent, which is not an office" in message
