from shared.text_hygiene import (
    json_depth_exceeds,
    untypable_character,
    untypable_fields,
)


def test_only_characters_no_one_can_type_are_untypable():
    assert untypable_character("Dana Smith\tSafety Director\r\nLansing") is None
    assert untypable_character("Zoë, 東京, emoji 🙂") is None
    assert untypable_character("Dana\x00Smith") == "\x00"
    assert untypable_character("bell\x07") == "\x07"
    assert untypable_character("delete\x7f") == "\x7f"


def test_json_depth_is_measured_without_parsing_and_ignores_brackets_in_strings():
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, limit=32) is True
    assert json_depth_exceeds(b"[" * 32 + b"]" * 32, limit=32) is False
    assert json_depth_exceeds(b'{"a": "[[[[[[", "b": "\\"[[[["}', limit=1) is False
    assert json_depth_exceeds(b'{"a": {"b": ["c"]}}', limit=2) is True


def test_every_untypable_string_is_named_by_its_path_keys_included():
    body = {
        "contact": {"name": "Dana\x00"},
        "goals": [{"description": "ok"}, {"description": "bad\x01"}],
        "bad\x02key": 1,
    }
    assert sorted(untypable_fields(body)) == [
        ("bad\x02key", "\x02"),
        ("contact.name", "\x00"),
        ("goals.1.description", "\x01"),
    ]
