"""Typed events: JSON round trips for every type, clear errors for bad input."""

import pytest

from appliance.events import EVENT_TYPES, Direct, Seek, from_json, to_json


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_event_type_round_trips(kind):
    event = EVENT_TYPES[kind]()
    assert from_json(to_json(event)) == event


def test_fields_survive_and_are_checked():
    event = Direct("like a lullaby", "en")
    assert from_json(to_json(event)) == event
    assert from_json('{"type": "seek", "target": "bar", "bar": 12}') == Seek("bar", 12)
    for bad, message in [
        ("{", "not JSON"),
        ("[1]", "JSON object"),
        ('{"type": "explode"}', "unknown event type"),
        ('{"type": "seek", "bar": "12"}', "must be int"),
        ('{"type": "seek", "target": "moon"}', "seek target"),
        ('{"type": "direct", "text": "x", "colour": 1}', "unknown fields"),
        ('{"type": "direct", "text": "' + "a" * 600 + '"}', "longer than"),
    ]:
        with pytest.raises(ValueError, match=message):
            from_json(bad)
