"""The piece library: shipped pieces, adding and removing, finding by what people say."""

from pathlib import Path

import pytest

from appliance.errors import ApplianceError
from appliance.library import open_library
from appliance.library.corpus import SHIPPED
from appliance.library.key import estimate_key
from appliance.library.match import asked_key, find, words
from tests.notetables import table


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return open_library(tmp_path_factory.mktemp("library"))


def test_the_box_ships_at_least_ten_playable_pieces(library):
    shipped = [p for p in library.pieces.values() if p.source == "music21"]
    assert len(shipped) == len(SHIPPED) >= 10
    for p in shipped:
        assert p.notes > 40 and p.composer and p.title and p.licence and p.key
        assert len(p.aliases) >= 3
    assert library.pieces["bach-bwv846"].key == "C major"


@pytest.mark.parametrize(
    "query,expected",
    [
        ("the Bach prelude", "bach-bwv846"),
        ("Präludium C-Dur", "bach-bwv846"),
        ("Maple Leaf Rag", "joplin-maple-leaf-rag"),
        ("Clara Schumann's polonaise in D major", "clara-schumann-op1-3"),
        ("polonaise in E flat major", "clara-schumann-op1-1"),
        ("Mozart sonata facile", "mozart-k545-1"),
        ("Schönberg op. 19 no. 6", "schoenberg-op19-6"),
        ("cpe-bach-h186-2", "cpe-bach-h186-2"),
    ],
)
def test_pieces_are_found_by_what_people_call_them(library, query, expected):
    assert find(list(library.pieces.values()), query).id == expected


def test_unknown_requests_find_nothing(library):
    assert find(list(library.pieces.values()), "Chopin's mazurka in D major") is None
    assert find(list(library.pieces.values()), "the") is None


def test_key_words_in_several_languages():
    assert asked_key(words("Mazurka in D major")) == ("D", "major")
    assert asked_key(words("Sonate in a-Moll")) == ("A", "minor")
    assert asked_key(words("polonesa en re mayor")) == ("D", "major")
    assert asked_key(words("полонез ре мажор")) == ("D", "major")
    assert asked_key(words("a waltz")) is None


def test_key_estimate_from_notes():
    notes = table([0, 1, 2, 3, 4, 5, 6, 7], [60, 62, 64, 65, 67, 69, 71, 72])
    assert estimate_key(notes) == "C major"
    notes = table([0, 1, 2, 3, 4], [57, 60, 64, 57, 69])
    assert estimate_key(notes) == "A minor"


def test_add_list_remove_and_bad_files(tmp_path: Path):

    lib = open_library(tmp_path / "lib")
    before = len(lib)
    source = lib.file_of(lib.pieces["schoenberg-op19-6"])
    piece = lib.add_file(source, title="Little piece", composer="Arnold Schoenberg")
    assert piece.id == "arnold-schoenberg-little-piece" and piece.source == "user"
    assert lib.file_of(piece).exists() and lib.file_of(piece).parent.name == "files"
    again = open_library(tmp_path / "lib")
    assert len(again) == before + 1 and again.pieces[piece.id].title == "Little piece"
    assert len(again.load(piece).notes) == piece.notes
    again.remove(piece.id)
    assert not lib.file_of(piece).exists()
    assert len(open_library(tmp_path / "lib")) == before
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<score-partwise><part id='x'></part></score-partwise>")
    with pytest.raises(ApplianceError, match="not added"):
        lib.add_file(bad)
    with pytest.raises(ApplianceError, match="no piece"):
        lib.remove("nope")
    (tmp_path / "lib" / "index.json").write_text("{broken")
    recovered = open_library(tmp_path / "lib")  # from the backup, and it says so
    assert len(recovered) == before and "damaged" in recovered.problems[0]


def test_a_development_library_from_a_folder_of_scores(tmp_path: Path, shared_root):
    from appliance.library.setup import scores_library

    scores = shared_root / "asap" / "Bach" / "Prelude" / "bwv_854"
    lib = scores_library(scores, tmp_path / "index")
    assert len(lib) == 1  # the score, not the pianists' MIDI files beside it
    titles = {p.title for p in lib.pieces.values()}
    assert titles != {"xml_score"}
    again = scores_library(scores, tmp_path / "index")  # indexed once
    assert len(again) == len(lib)
    assert all(not lib.file_of(p).is_relative_to(lib.folder) for p in lib.pieces.values())
    with pytest.raises(ApplianceError, match="not a folder"):
        scores_library(tmp_path / "missing")


def _midi(path: Path, name: str | None) -> Path:
    import mido

    midi = mido.MidiFile()
    track = mido.MidiTrack()
    if name is not None:
        track.append(mido.MetaMessage("track_name", name=name))
    for i, pitch in enumerate((60, 64, 67, 72)):
        track.append(mido.Message("note_on", note=pitch, velocity=70, time=0 if i == 0 else 240))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=240))
    midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_titles_come_from_the_score_before_the_file_name(tmp_path: Path):
    from tests.scores import directions_score

    lib = open_library(tmp_path / "lib")
    named = lib.add_file(_midi(tmp_path / "x1.mid", "Evening Song"))
    generic = lib.add_file(_midi(tmp_path / "morning_tune.mid", "Piano"))
    xml = tmp_path / "y.musicxml"
    xml.write_text(directions_score().replace(
        "<score-partwise version=\"3.1\">",
        "<score-partwise version=\"3.1\"><movement-title>Little Waltz</movement-title>",
    ))  # fmt: skip
    waltz = lib.add_file(xml)
    assert (named.title, generic.title, waltz.title) == ("Evening Song", "morning_tune",
                                                         "Little Waltz")  # fmt: skip


def test_adding_the_same_file_again_updates_it_and_a_running_box_sees_it(tmp_path: Path):
    box = open_library(tmp_path / "lib")  # the running box's view
    shell = open_library(tmp_path / "lib")  # `appliance library add` in another process
    path = _midi(tmp_path / "tune.mid", "Evening Song")
    first = shell.add_file(path)
    assert first.id not in box.pieces
    assert box.refresh() and box.pieces[first.id].title == "Evening Song"
    assert not box.refresh()  # nothing new
    again = shell.add_file(path, title="Evening Song (revised)")
    assert again.id == first.id and len(shell.pieces) == len(box.pieces)
    box.refresh()
    assert box.pieces[first.id].title == "Evening Song (revised)"
    copy = tmp_path / "copy-of-tune.mid"
    copy.write_bytes(path.read_bytes())
    assert shell.add_file(copy).id == first.id  # the same content is the same piece


def test_which_pieces_may_open_a_session(tmp_path: Path):

    lib = open_library(tmp_path / "lib")
    assert not lib.pieces["schoenberg-op19-6"].opener
    assert lib.pieces["bach-bwv846"].opener
    for pid in lib.pieces:
        if pid != "mozart-k545-1":
            lib.set_opener(pid, False)
    from appliance.library.choose import choose_piece

    for _ in range(3):
        assert choose_piece(lib, "", opening=True).id == "mozart-k545-1"
    assert choose_piece(lib, "", playing="mozart-k545-1").id != "mozart-k545-1"
    with pytest.raises(ApplianceError, match="no piece"):
        lib.set_opener("nope", True)


def test_a_non_utf8_file_name_is_stored_safely_and_leaves_nothing_behind(tmp_path: Path):
    import os

    lib = open_library(tmp_path / "lib")
    odd = Path(os.fsdecode(os.fsencode(tmp_path / "x") + b"\xff\xfe song.mid"))
    odd.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk")  # truncated
    with pytest.raises(ApplianceError, match="not added") as info:
        lib.add_file(odd)
    str(info.value).encode("utf-8")  # printable
    files = tmp_path / "lib" / "files"
    assert list(files.iterdir()) == [] and not list((tmp_path / "lib").glob("*.tmp"))
    _midi(odd, None)
    piece = lib.add_file(odd)
    assert piece.title == "x\ufffd\ufffd song" and lib.file_of(piece).name == f"{piece.id}.mid"
    again = open_library(tmp_path / "lib")
    assert again.pieces[piece.id].origin == piece.origin and not again.problems
    assert again.add_file(odd).id == piece.id  # the same file, recognised again
    assert [p.name for p in files.iterdir()] == [f"{piece.id}.mid"]


def test_a_failed_save_leaves_no_stray_file(tmp_path: Path, monkeypatch):
    from appliance.library import Library

    lib = open_library(tmp_path / "lib")
    before = dict(lib.pieces)

    def full_disk(self: Library) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(Library, "save", full_disk)
    with pytest.raises(OSError):
        lib.add_file(_midi(tmp_path / "tune.mid", "Evening Song"))
    assert lib.pieces == before
    assert list((tmp_path / "lib" / "files").iterdir()) == []


def test_a_damaged_index_falls_back_to_the_backup_then_to_the_shipped_pieces(tmp_path: Path):
    folder = tmp_path / "lib"
    lib = open_library(folder)
    piece = lib.add_file(_midi(tmp_path / "tune.mid", "Evening Song"))
    assert (folder / "index.json.bak").read_text() == (folder / "index.json").read_text()
    (folder / "index.json").write_bytes(b'{"pieces": [{"id": 3')  # cut short
    restored = open_library(folder)
    assert piece.id in restored.pieces and len(restored) == len(lib)
    assert "damaged" in restored.problems[0] and "backup" in restored.problems[0]
    assert (folder / "index.json.damaged").exists()
    assert not open_library(folder).problems  # the index was written again
    (folder / "index.json").write_text("[]")
    (folder / "index.json.bak").write_text("nonsense")
    fresh = open_library(folder)
    assert piece.id not in fresh.pieces and len(fresh) == len(SHIPPED)
    assert "starts again from the shipped pieces" in fresh.problems[0]


def test_added_pieces_are_read_here_only_while_their_content_matches(tmp_path: Path, monkeypatch):
    from appliance.library import catalog

    lib = open_library(tmp_path / "lib")
    piece = lib.add_file(_midi(tmp_path / "tune.mid", "Evening Song"))
    where: list[str] = []

    def spy(name: str):
        def load(path: Path):
            from appliance.score import load_trusted_score

            where.append(name)
            return load_trusted_score(path)

        return load

    monkeypatch.setattr(catalog, "load_score", spy("child"))
    monkeypatch.setattr(catalog, "load_trusted_score", spy("here"))
    lib.load(piece)
    lib.load(lib.pieces["bach-bwv846"])
    assert where == []  # both from the note tables kept when they were added: no parsing
    _midi(lib.file_of(piece), "Changed since")
    lib.load(piece)
    assert where == ["child"]  # changed since it was checked: read again, in the child
    for kept in lib.cache.folder.glob("*.npz"):
        kept.unlink()
    lib.load(lib.pieces["bach-bwv846"])
    assert where == ["child", "here"]  # a shipped piece with no table is read here


def test_a_piece_is_parsed_once_then_played_from_its_note_table(library, monkeypatch):
    """Adding a piece keeps its note table; playing it reads that (no parser, so no pause for
    the audio thread); a damaged table is read from the score again."""
    import numpy as np

    from appliance.library import catalog
    from appliance.paths import file_sha256

    piece = library.pieces["bach-bwv846"]
    digest = file_sha256(library.file_of(piece))
    kept = list(library.cache.folder.glob(f"*{digest}.npz"))
    assert len(kept) == 1  # written when the piece was added

    def no_parsing(*args, **kwargs):
        raise AssertionError("the score was parsed again")

    monkeypatch.setattr(catalog, "load_trusted_score", no_parsing)
    monkeypatch.setattr(catalog, "load_score", no_parsing)
    cached = library.load(piece)
    monkeypatch.undo()
    kept[0].write_bytes(b"damaged")
    parsed = library.load(piece)
    assert np.array_equal(cached.notes, parsed.notes)
    assert cached.title == parsed.title and cached.n_bars == parsed.n_bars
    assert library.cache.get(digest, library.file_of(piece)) is not None  # written again
