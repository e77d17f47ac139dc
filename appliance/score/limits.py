"""What a score file may cost the box: the caps every loader checks, as named constants.

The largest piano scores we know (a Scriabin sonata, the Hammerklavier finale) have about
10,000 notes, 460 bars and 4 MB of MusicXML; the caps leave room for twice that and more,
while keeping any file, accepted or refused, within about 30 s and 768 MB of address space (see
:mod:`appliance.score.sandbox`). The largest score in music21's corpus, Beethoven's quartet
op. 132 (16,700 notes in four parts, 5.5 MB of MusicXML), needs about 575 MB of address space
(385 MB resident) and 11 s to read here.
"""

from __future__ import annotations

MAX_SCORE_BYTES = 32 * 1024 * 1024  # the file itself (.musicxml, .mxl or MIDI)
MAX_XML_BYTES = 32 * 1024 * 1024  # the MusicXML inside an .mxl archive, unpacked
MAX_CONTAINER_BYTES = 64 * 1024  # an .mxl archive's META-INF/container.xml, unpacked
MAX_ARCHIVE_MEMBERS = 1_000  # files in an .mxl archive
MAX_XML_TAGS = 2_000_000  # "<" in the MusicXML text: an upper bound on its elements
MAX_NOTES = 20_000  # sounding notes (not rests) in the score
MAX_BARS = 3_000  # bars in one part (MusicXML) or in the whole file (MIDI)
MAX_TRACKS = 256  # MIDI tracks
MAX_TIME_SIGNATURE_DENOMINATOR = 64  # 1/64 at the shortest

MEMORY_LIMIT_BYTES = 768 * 1024 * 1024  # address space of the process that reads a new score
TIME_LIMIT_SECONDS = 25.0  # processor time for reading a new score, start-up included
WALL_FACTOR = 3.0  # by the clock it may take this many times as long (it yields to the music)
