import pytest
from marshmallow import ValidationError

from shared.proposal import OUTREACH_REQUIRED_MESSAGE, ProposalSchema, flatten_errors
from shared.testing import example_proposal

pytestmark = pytest.mark.unit


def errors_of(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        ProposalSchema().load(data)
    return flatten_errors(caught.value.messages)


def test_spec_example_loads():
    loaded = ProposalSchema().load(example_proposal())
    assert loaded["organization"]["workers_reached"] == 12000
    assert [g["category"] for g in loaded["goals"]] == [
        "outreach_communication",
        "training_education",
    ]
    assert loaded["existing_relationship"] == ""


def test_a_proposal_without_an_outreach_goal_is_refused():
    data = example_proposal()
    data["goals"] = [g for g in data["goals"] if g["category"] != "outreach_communication"]
    assert errors_of(data) == {"goals": [OUTREACH_REQUIRED_MESSAGE]}


def test_errors_are_reported_by_field_path():
    data = example_proposal()
    data["organization"]["address"]["zip"] = "4893"
    data["contact"]["email"] = "dana-at-example"
    data["goals"][1]["term"] = "medium"
    errors = errors_of(data)
    assert set(errors) == {"organization.address.zip", "contact.email", "goals.1.term"}
    assert errors["organization.address.zip"] == ["Enter a 5-digit ZIP code, like 48933."]


@pytest.mark.parametrize(
    "phone", ["517-555-0100", "(517) 555-0100", "5175550100", "+1 517 555 0100"]
)
def test_phone_formats_accepted(phone):
    data = example_proposal()
    data["contact"]["phone"] = phone
    assert ProposalSchema().load(data)["contact"]["phone"] == phone


@pytest.mark.parametrize("phone", ["555-0100", "call me", "017-555-0100"])
def test_bad_phone_refused(phone):
    data = example_proposal()
    data["contact"]["phone"] = phone
    assert list(errors_of(data)) == ["contact.phone"]


def test_text_is_normalised_and_trimmed():
    data = example_proposal()
    data["organization"]["name"] = "  Cafe\u0301 Workers Union  "
    loaded = ProposalSchema().load(data)
    assert loaded["organization"]["name"] == "Caf\u00e9 Workers Union"


def test_control_characters_and_overlong_text_are_refused():
    data = example_proposal()
    data["organization"]["name"] = "Bad\x00Name"
    data["goals"][0]["description"] = "x" * 2001
    errors = errors_of(data)
    assert set(errors) == {"organization.name", "goals.0.description"}


def test_unknown_fields_are_refused():
    data = example_proposal(surprise=True)
    assert errors_of(data) == {"surprise": ["Unknown field."]}


def test_flatten_errors_handles_schema_level_and_nested_lists():
    assert flatten_errors({"_schema": ["whole thing"]}) == {"_schema": ["whole thing"]}
    assert flatten_errors({"a": {0: {"b": ["bad"]}}}) == {"a.0.b": ["bad"]}
