"""Small MusicXML scores written by the tests."""

from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
<part-list><score-part id="P1"><part-name>Piano</part-name></score-part></part-list>
<part id="P1">
"""
TAIL = "</part>\n</score-partwise>\n"
ATTRIBUTES = (
    "<attributes><divisions>2</divisions><key><fifths>0</fifths></key>"
    "<time><beats>{beats}</beats><beat-type>4</beat-type></time>"
    "<clef><sign>G</sign><line>2</line></clef></attributes>"
)


def note(
    step: str,
    octave: int = 4,
    duration: int = 2,
    kind: str = "quarter",
    *,
    chord: bool = False,
    grace: bool = False,
    tie: str | None = None,
    notations: str = "",
) -> str:
    """One <note>; duration in divisions (2 per quarter)."""
    parts = ["<note>"]
    if grace:
        parts.append('<grace slash="yes"/>')
    if chord:
        parts.append("<chord/>")
    parts.append(f"<pitch><step>{step}</step><octave>{octave}</octave></pitch>")
    if not grace:
        parts.append(f"<duration>{duration}</duration>")
    if tie:
        parts.append(f'<tie type="{tie}"/>')
    parts.append(f"<voice>1</voice><type>{kind}</type>")
    if tie:
        notations = f'<tied type="{tie}"/>' + notations
    if notations:
        parts.append(f"<notations>{notations}</notations>")
    parts.append("</note>")
    return "".join(parts)


def rest(duration: int = 8) -> str:
    return f"<note><rest/><duration>{duration}</duration><voice>1</voice></note>"


def words(text: str, tempo: float | None = None) -> str:
    sound = f'<sound tempo="{tempo}"/>' if tempo else ""
    return f"<direction><direction-type><words>{text}</words></direction-type>{sound}</direction>"


def dynamic(mark: str) -> str:
    return f"<direction><direction-type><dynamics><{mark}/></dynamics></direction-type></direction>"


def wedge(kind: str) -> str:
    return f'<direction><direction-type><wedge type="{kind}"/></direction-type></direction>'


def measure(
    number: int, body: str, *, first: bool = False, beats: int = 4, left: str = "", right: str = ""
) -> str:
    attrs = ATTRIBUTES.format(beats=beats) if first else ""
    return f'<measure number="{number}">{left}{attrs}{body}{right}</measure>\n'


def score(*measures: str) -> str:
    return HEAD + "".join(measures) + TAIL


def directions_score() -> str:
    """Three bars with dynamics, a crescendo, tempo words, articulations, a slur, tie and grace."""
    m1 = (
        words("Allegro", tempo=120)
        + dynamic("p")
        + note("C", notations="<articulations><staccato/></articulations>")
        + wedge("crescendo")
        + note("D", notations='<slur type="start" number="1"/>')
        + note("E")
        + note("F", notations='<slur type="stop" number="1"/>')
        + wedge("stop")
    )
    m2 = (
        dynamic("f")
        + words("rit.")
        + note("G", duration=4, kind="half", notations="<articulations><accent/></articulations>")
        + note("B", grace=True, kind="eighth")
        + note("A")
        + note("G", tie="start", notations="<articulations><tenuto/></articulations>")
    )
    m3 = note("G", duration=8, kind="whole", tie="stop", notations="<fermata/>")
    return score(measure(1, m1, first=True), measure(2, m2), measure(3, m3))


def volta_score() -> str:
    """Bar 1, bar 2 as first ending with a repeat back to bar 1, bar 3 as second ending."""
    m1 = note("C") + note("D") + note("E") + note("F")
    m2 = note("G", duration=8, kind="whole")
    m3 = note("C", octave=5, duration=8, kind="whole")
    left1 = '<barline location="left"><ending number="1" type="start"/></barline>'
    right1 = (
        '<barline location="right"><ending number="1" type="stop"/>'
        '<repeat direction="backward"/></barline>'
    )
    left2 = '<barline location="left"><ending number="2" type="start"/></barline>'
    right2 = '<barline location="right"><ending number="2" type="discontinue"/></barline>'
    return score(
        measure(1, m1, first=True),
        measure(2, m2, left=left1, right=right1),
        measure(3, m3, left=left2, right=right2),
    )


def rests_only_score() -> str:
    return score(measure(1, rest(), first=True))
