"""A line of text → a command: the phrasings people use."""

import pytest

from appliance.events import Direct, Duck, Feedback, Pause, Play, Seek, SelectPiece, Stop, Volume
from appliance.perform.commands import describe_command, parse_command


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("go back to the beginning", Seek("beginning")),
        ("Start again!", Seek("beginning")),
        ("start over", Seek("beginning")),
        ("from the top", Seek("beginning")),
        ("noch einmal", Seek("beginning")),
        ("stop it", Stop()),
        ("please stop", Stop()),
        ("can you pause now", Pause()),
        ("keep going", Play()),
        ("bar 12", Seek("bar", 12)),
        ("volume 60", Volume(60)),
        ("Lautstärke 30 %", Volume(30)),
        ("next piece please", SelectPiece("")),
        ("play the maple leaf rag", SelectPiece("the maple leaf rag")),
        ("play it like a lullaby", Direct("play it like a lullaby")),
        ("softer", Direct("softer")),
        ("play softer", Direct("play softer")),
        ("go back", Seek("back")),
        ("repeat the phrase", Seek("phrase")),
        ("ab Takt 7, bitte", Seek("bar", 7)),
        ("Pausa.", Pause()),
        ("skip", SelectPiece("")),
        ("duck", Duck()),
    ],
)
def test_common_phrasings(line, expected):
    assert parse_command(line) == expected


def test_empty_lines_are_nothing_and_volumes_are_capped():
    assert parse_command("   ") is None
    assert parse_command("volume 250") == Volume(100)


def test_commands_are_described_for_the_activity_list():
    assert describe_command(Seek("bar", 12)) == "bar 12"
    assert describe_command(SelectPiece("")) == "next piece"
    assert describe_command(Direct("softer")) == "“softer”"
    assert describe_command(Volume(40)) == "volume 40 %"
    assert describe_command(Seek("back")) == "back a phrase"
    assert describe_command(Feedback("too_fast")) == "feedback: too fast"
    assert describe_command(Duck()) == "speaking"
