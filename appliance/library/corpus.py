"""The pieces the box ships: solo-piano works from music21's corpus (installed from PyPI).

music21's corpus licence note (``corpus/license.txt``) says its encodings are distributed with
the encoders' permission, out of copyright in the United States or licensed for use; none of the
files below carries a rights statement of its own. All ten works are in the public domain
(composers died 1750–1951; Schoenberg's op. 19 was published in 1913).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError

LICENCE = "music21 corpus (see its license.txt); public-domain work"


@dataclass(frozen=True)
class Shipped:
    path: tuple[str, ...]  # inside music21's corpus
    id: str
    composer: str
    title: str
    catalogue: str
    aliases: tuple[str, ...]
    opener: bool = True  # may open a session (not the atonal miniatures)


SHIPPED: tuple[Shipped, ...] = (
    Shipped(
        ("bach", "bwv846.mxl"),
        "bach-bwv846",
        "Johann Sebastian Bach",
        "Prelude in C major",
        "BWV 846",
        ("Bach prelude", "Well-Tempered Clavier prelude", "Präludium C-Dur",
         "Preludio en do mayor", "Прелюдия до мажор Баха"),
    ),
    Shipped(
        ("joplin", "maple_leaf_rag.mxl"),
        "joplin-maple-leaf-rag",
        "Scott Joplin",
        "Maple Leaf Rag",
        "",
        ("ragtime", "rag", "Ahornblatt-Rag", "Rag de la hoja de arce", "Рэг кленового листа"),
    ),
    Shipped(
        ("mozart", "k545", "movement1_exposition.mxl"),
        "mozart-k545-1",
        "Wolfgang Amadeus Mozart",
        "Piano Sonata in C major, first movement (exposition)",
        "K. 545",
        ("Sonata facile", "Sonata semplice", "Klaviersonate C-Dur", "Sonata en do mayor",
         "Соната до мажор Моцарта"),
    ),
    Shipped(
        ("schoenberg", "opus19", "movement2.mxl"),
        "schoenberg-op19-2",
        "Arnold Schoenberg",
        "Six Little Piano Pieces, No. 2",
        "Op. 19 No. 2",
        ("Sechs kleine Klavierstücke Nr. 2", "Seis pequeñas piezas para piano 2",
         "Шесть маленьких пьес 2", "Schönberg"),
        opener=False,
    ),
    Shipped(
        ("schoenberg", "opus19", "movement6.mxl"),
        "schoenberg-op19-6",
        "Arnold Schoenberg",
        "Six Little Piano Pieces, No. 6",
        "Op. 19 No. 6",
        ("Sechs kleine Klavierstücke Nr. 6", "Seis pequeñas piezas para piano 6",
         "Шесть маленьких пьес 6", "Schönberg"),
        opener=False,
    ),
    *(
        Shipped(
            ("schumann_clara", f"polonaise_op1n{n}.mxl"),
            f"clara-schumann-op1-{n}",
            "Clara Schumann",
            f"Polonaise No. {n}",
            f"Op. 1 No. {n}",
            (f"Polonäse Nr. {n}", f"Polonesa n.º {n}", f"Полонез № {n}", "Clara Wieck",
             "Quatre Polonaises"),
        )
        for n in (1, 2, 3, 4)
    ),
    Shipped(
        ("cpebach", "h186.mxl"),
        "cpe-bach-h186-2",
        "Carl Philipp Emanuel Bach",
        "Sonata in A major, second movement (Poco adagio)",
        "H. 186, Wq. 55/4",
        ("C. P. E. Bach", "Emanuel Bach", "Sonate A-Dur", "Sonata en la mayor",
         "Соната ля мажор"),
    ),
)  # fmt: skip
DEFAULT_PIECE = SHIPPED[0].path


def music21_corpus() -> Path:
    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise ApplianceError("music21 is not installed: its corpus holds the default pieces")
    return Path(spec.origin).parent / "corpus"


def default_piece() -> Path:
    path = music21_corpus().joinpath(*DEFAULT_PIECE)
    if not path.exists():
        raise ApplianceError(f"the default piece is missing from music21's corpus ({path})")
    return path
