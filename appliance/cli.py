"""The ``appliance`` command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.cli_facilitator import facilitator_app
from appliance.cli_model import model_app
from appliance.console import run_app
from appliance.directions.descriptors import describe_said
from appliance.directions.interpret import Interpreter
from appliance.directions.steer import SteeringVectors
from appliance.directions.timeline import offsets_for, place
from appliance.errors import ApplianceError
from appliance.render.base import Performance, PerformanceStream, Renderer, Style, render_all
from appliance.render.midi import write_midi
from appliance.render.plot import Curve, plot_performances
from appliance.render.registry import (
    RENDERERS,
    default_renderer_name,
    get_renderer,
    steering_file,
)
from appliance.score import load_score, markings
from appliance.score.notes import Score
from appliance.store.cli import data_app
from appliance.threads import limit_threads
from appliance.web.phones import PhoneBook

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="The expressive piano appliance."
)
console = Console()


def _render(score: Score, renderer: Renderer, style: Style) -> Performance:
    with console.status(f"rendering {len(score.notes)} notes with {renderer.name}…"):
        return render_all(renderer, score, style)


def _report(perf: Performance, out: Path) -> None:
    end = float((perf.performed["onset"] + perf.performed["duration"]).max())
    bpm = 60.0 / np.exp(np.median(perf.expression["log_bp"]))
    velocity = perf.performed["velocity"].mean()
    console.print(
        f"wrote [bold]{out}[/bold]: {len(perf.notes)} notes, "
        f"{int(end // 60)}:{end % 60:04.1f} min, median tempo {bpm:.0f} quarter notes/min, "
        f"mean velocity {velocity:.0f}"
    )


@app.command()
def render(
    score_path: str = typer.Argument(
        ...,
        metavar="SCORE",
        help="MusicXML (.musicxml/.xml/.mxl) or MIDI file, or a library piece (id or words)",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="performance MIDI to write"),
    renderer: str = typer.Option(
        None, help=f"one of {', '.join(RENDERERS)} (default: best available)"
    ),
    seed: int = typer.Option(0, help="style seed"),
    plot: Path = typer.Option(None, help="also draw tempo, velocity and piano roll to this PNG"),
    wav: Path = typer.Option(None, help="also synthesise the performance to this WAV file"),
    direct: list[str] = typer.Option(
        None,
        help='a direction at a bar, e.g. "softer@bar 8" or "like a lullaby@bar 1" (repeatable)',
    ),
) -> None:
    """Render a score to an expressive performance MIDI."""
    chosen = get_renderer(renderer)
    score = _score_of(score_path)
    style = Style(seed=seed)
    if direct:
        if not chosen.steerable:
            raise ApplianceError("directions need the neural renderer (--renderer neural)")
        interpreter = Interpreter()
        placed = [place(spec, score.notes, interpreter=interpreter) for spec in direct]
        vectors = SteeringVectors.load(steering_file())
        stream = PerformanceStream(chosen, score, style)
        style = style.with_offsets(offsets_for(score.notes, placed, vectors, stream))
        for p in placed:
            asked = ", ".join(f"{d.cls} {d.strength:+.2f}" for d in p.parsed.directions)
            console.print(f"direction at note {p.note}: {p.text} → {asked or p.parsed.control}")
    perf = _render(score, chosen, style)
    write_midi(output, perf.notes, perf.performed)
    _report(perf, output)
    if wav:
        from appliance.audio.offline import synthesize
        from appliance.audio.synth import Synth
        from appliance.audio.wav import write_wav

        synth = Synth()
        with console.status("synthesising…"):
            write_wav(wav, synthesize(perf.notes, perf.performed, synth), synth.rate)
        console.print(f"wrote {wav}")
    if plot:
        curve = Curve(chosen.name, perf.notes, perf.expression, perf.performed)
        plot_performances(plot, f"{score.title} ({chosen.name}, seed {seed})", curve)
        console.print(f"wrote {plot}")


def _score_of(what: str) -> Score:
    """A score file, or else the library piece an id or words name."""
    path = Path(what)
    if path.exists() or path.suffix.lower() in (".musicxml", ".xml", ".mxl", ".mid", ".midi"):
        return load_score(path)
    from appliance.library import open_library
    from appliance.library.match import find

    lib = open_library()
    _say_library_problems(lib.problems)
    piece = find(list(lib.pieces.values()), what)
    if piece is None:
        raise ApplianceError(
            f"{what!r} is neither a score file nor a piece in the library "
            "(see `appliance library list`)"
        )
    console.print(f"rendering {piece.id}: {piece.describe()}")
    return lib.load(piece)


READING_CHOICES = (
    "repeats once, with the last ending; chord symbols ignored; the same key struck in two "
    "voices at once played once"
)


@app.command("score")
def score_info(score_path: Path = typer.Argument(..., metavar="SCORE")) -> None:
    """Show what the box reads in a score: notes, bars and performance directions."""
    score = load_score(score_path)
    n = score.notes
    table = Table(title=f"{score.title} {('— ' + score.composer) if score.composer else ''}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("notes", str(len(n)))
    table.add_row("bars", str(score.n_bars))
    table.add_row("length", f"{score.length_quarters:.1f} quarter notes")
    table.add_row(
        "time signatures",
        ", ".join(sorted({f"{a}/{b}" for a, b in zip(n["ts_num"], n["ts_den"], strict=True)})),
    )
    table.add_row(
        "dynamics",
        ", ".join(markings.DYNAMICS[i] for i in np.unique(n["dynamic"]) if i >= 0) or "none",
    )
    table.add_row(
        "tempo words",
        ", ".join(markings.TEMPO_WORDS[i] for i in np.unique(n["tempo_word"]) if i >= 0) or "none",
    )
    table.add_row(
        "tempo changes",
        ", ".join(markings.TEMPO_CHANGES[i] for i in np.unique(n["tempo_change"]) if i > 0)
        or "none",
    )
    marks = [
        f"{name} {int(n[name].sum())}"
        for name in (*markings.ARTICULATIONS, "crescendo", "diminuendo")
        if n[name].any()
    ]
    table.add_row("articulations (notes)", ", ".join(marks) or "none")
    table.add_row("changed when read", "\n".join(score.remarks) or "nothing")
    table.add_row("how it is played", READING_CHOICES)
    console.print(table)


@app.command()
def renderers() -> None:
    """List the renderers and which one is the default."""
    default = default_renderer_name()
    for name in RENDERERS:
        console.print(f"{name}{'  (default)' if name == default else ''}")


@app.command()
def play(
    piece: str = typer.Argument("", help="piece id or words ('the Bach prelude'); default random"),
    seed: int = typer.Option(None, help="style seed (default: random)"),
    device: str = typer.Option(None, help="audio output device (name or number; see devices)"),
    no_speaker: bool = typer.Option(False, "--no-speaker", help="no local audio output"),
    midi_out: str = typer.Option(None, help="MIDI output port to a digital piano (see devices)"),
    wav: Path = typer.Option(None, help="also record what is played to this WAV file"),
    at_end: str = typer.Option("next", help="at a piece's end: 'next' (random piece) or 'stop'"),
    seconds: float = typer.Option(None, help="stop after this many seconds"),
    quiet: bool = typer.Option(False, help="do not print every bar"),
    volume: int = typer.Option(80, min=0, max=100, help="output volume in percent"),
    library: Path = typer.Option(
        None,
        help="play from the scores under this folder (e.g. the training data's, for development)",
    ),
) -> None:
    """Play with a live status; type commands (pause, bar 12, softer, next, …) on stdin."""
    from appliance.cli_play import play as play_loop
    from appliance.perform.session import PlayOptions
    from appliance.perform.transport import AtEnd

    if at_end not in tuple(AtEnd):
        raise ApplianceError("--at-end must be 'next' or 'stop'")
    dev: str | int | None = int(device) if device and device.isdigit() else device
    options = PlayOptions(
        piece=piece,
        seed=seed,
        speaker=not no_speaker,
        device=dev,
        midi_out=midi_out,
        wav=wav,
        at_end=AtEnd(at_end),
        scores=library,
        volume=volume,
    )
    play_loop(options, seconds, quiet)


@app.command()
def run(
    seconds: float = typer.Option(None, help="stop after this many seconds"),
    name: str = typer.Option("Piano", help="the box's name on the network"),
    https_port: int = typer.Option(8443, help="port of the phone page (HTTPS)"),
    http_port: int = typer.Option(8080, help="port that redirects to HTTPS (0: none)"),
    device: str = typer.Option(None, help="audio output device (name or number; see devices)"),
    quiet: bool = typer.Option(True, help="do not print every bar"),
    host: str = typer.Option("0.0.0.0", help="address to serve the phone page on"),
    advertise: bool = typer.Option(True, help="announce the box on the LAN (zeroconf)"),
    no_speaker: bool = typer.Option(False, "--no-speaker", help="no local audio output"),
    volume: int = typer.Option(80, min=0, max=100, help="output volume in percent"),
    no_speech: bool = typer.Option(False, "--no-speech", help="no speech recognition worker"),
    no_llm: bool = typer.Option(False, "--no-llm", help="no language-model worker (rules only)"),
    no_vision: bool = typer.Option(False, "--no-vision", help="no face-reading worker"),
) -> None:
    """Start the box with its defaults: a random piece in a random style to the speakers (another
    random piece at each end), and the phone page on the LAN (HTTPS, QR code and PIN shown).
    With --seconds it stops by itself and fails unless music was made (CI's check)."""
    from appliance.cli_play import play as play_loop
    from appliance.perform.session import PlayOptions
    from appliance.web.server import WebSettings

    dev: str | int | None = int(device) if device and device.isdigit() else device
    web = WebSettings(
        host=host, https_port=https_port, http_port=http_port, name=name, advertise=advertise
    )
    options = PlayOptions(
        device=dev,
        speaker=not no_speaker,
        volume=volume,
        speech=not no_speech,
        llm=not no_llm,
        vision=not no_vision,
    )
    play_loop(options, seconds, quiet=quiet, web=web)


@app.command("understand")
def understand_text(
    text: str = typer.Argument(..., help="what someone said, e.g. 'a bit slower please'"),
    lang: str = typer.Option(None, "--lang", help="en, de, es or ru (default: guessed)"),
    as_json: bool = typer.Option(False, "--json", help="print the intents as one JSON line"),
) -> None:
    """Show what the box understands from TEXT: its intents and its reply."""
    import json

    from appliance.library import open_library
    from appliance.understand import LANGUAGES, understand
    from appliance.understand.reply import reply

    if lang is not None and lang not in LANGUAGES:
        typer.echo(f"error: unknown language {lang!r} (known: {', '.join(LANGUAGES)})", err=True)
        raise typer.Exit(2)
    library = open_library()
    for problem in library.problems:
        typer.echo(f"! {problem}", err=True)
    models: list[Interpreter] = []

    def describe(said: str) -> object:  # the sentence model is loaded only when needed
        if not models:
            models.append(Interpreter())
        return describe_said(models[0].describer, said, lang)

    understood = understand(text, lang, library, describe)
    if as_json:
        typer.echo(json.dumps(understood.to_dict(), ensure_ascii=False))
        return
    kinds = ", ".join(i.kind for i in understood.intents)
    typer.echo(f"[{understood.language}, {understood.by}] {kinds}")
    typer.echo(reply(understood, understood.language, library))


@app.command()
def devices() -> None:
    """List audio outputs and MIDI output ports."""
    from appliance.audio.midi_out import list_ports
    from appliance.audio.speaker import list_devices

    for title, lister in (("audio outputs", list_devices), ("MIDI outputs", list_ports)):
        console.print(f"[bold]{title}[/bold]")
        try:
            names = lister()
        except ApplianceError as exc:
            console.print(f"  ({exc})")
            continue
        for name in names or ["(none)"]:
            console.print(f"  {name}")


library_app = typer.Typer(no_args_is_help=True, help="The pieces the box can play.")
app.add_typer(library_app, name="library")


@library_app.command("list")
def library_list() -> None:
    """List the pieces."""
    from appliance.library import open_library

    lib = open_library()
    for p in sorted(lib.pieces.values(), key=lambda p: (p.composer, p.title)):
        opener = "" if p.opener else "not an opener"
        extra = ", ".join(
            x for x in (p.catalogue, p.key, f"{p.notes} notes", p.source, opener) if x
        )
        console.print(f"[bold]{p.id}[/bold]  {p.composer}: {p.title} ({extra})", soft_wrap=True)
    console.print(f"{len(lib)} pieces in {lib.folder}", style="dim")


@library_app.command("add")
def library_add(
    path: Path = typer.Argument(..., help="a score file (MusicXML/.mxl/MIDI) or a folder of them"),
    title: str = typer.Option("", help="title (default: from the file)"),
    composer: str = typer.Option("", help="composer (default: from the file)"),
    catalogue: str = typer.Option("", help="catalogue number, e.g. 'Op. 28 No. 4'"),
    alias: list[str] = typer.Option(None, help="another name people use (repeatable)"),
    opener: bool = typer.Option(
        True, help="may open a session (the box's first, random piece); --no-opener: never"
    ),
) -> None:
    """Add a score (copied into the library) or every score in a folder. Adding the same file
    again updates its piece; a running box sees the change at once. A score is read in a
    separate process within memory and time limits, and refused with the reason if it is
    over them."""
    from appliance.library import open_library

    lib = open_library()
    _say_library_problems(lib.problems)
    if path.is_dir():
        added, problems = lib.add_folder(path)
        for p in added:
            console.print(f"added {p.id}: {p.describe()}")
        for problem in problems:
            console.print(f"[yellow]skipped[/yellow] {problem}")
        if not added:
            raise ApplianceError(f"no playable scores in {path}")
        return
    before = set(lib.pieces)
    piece = lib.add_file(
        path,
        title=title,
        composer=composer,
        catalogue=catalogue,
        aliases=tuple(alias or ()),
        opener=opener,
    )
    verb = "updated" if piece.id in before else "added"
    console.print(f"{verb} {piece.id}: {piece.describe()}")


def _say_library_problems(problems: list[str]) -> None:
    """What went wrong opening the library (a damaged index), and what was done about it."""
    from rich.markup import escape

    for problem in problems:
        console.print(f"[yellow]![/yellow] {escape(problem)}")


@library_app.command("opener")
def library_opener(
    piece_id: str = typer.Argument(..., help="the piece's id (see list)"),
    allowed: bool = typer.Option(True, "--yes/--no", help="may it open a session?"),
) -> None:
    """Mark whether a piece may be the first, random piece of a session."""
    from appliance.library import open_library

    piece = open_library().set_opener(piece_id, allowed)
    console.print(f"{piece.id}: {'may' if piece.opener else 'never'} open a session")


@library_app.command("remove")
def library_remove(piece_id: str = typer.Argument(..., help="the piece's id (see list)")) -> None:
    """Remove a piece from the library."""
    from appliance.library import open_library

    piece = open_library().remove(piece_id)
    console.print(f"removed {piece.id}")


@library_app.command("init")
def library_init() -> None:
    """Install the shipped pieces (done by `make run`; idempotent)."""
    from appliance.library import Library
    from appliance.library.setup import install_shipped

    lib = Library.open()
    problems = install_shipped(lib, progress=lambda name: console.print(f"checking {name}"))
    for problem in problems:
        console.print(f"[yellow]skipped[/yellow] {problem}")
    console.print(f"{len(lib)} pieces in {lib.folder}")


app.add_typer(model_app, name="model")
app.add_typer(data_app, name="data")
app.add_typer(facilitator_app, name="facilitator")

phones_app = typer.Typer(no_args_is_help=True, help="The phones paired with the box.")
app.add_typer(phones_app, name="phones")


def _phone_book() -> PhoneBook:
    from appliance.web.server import pairing_store

    book = PhoneBook(pairing_store())
    if book.problem:
        console.print(f"[yellow]warning:[/yellow] {book.problem}", soft_wrap=True)
    return book


def _when(stamp: float | None) -> str:
    from datetime import datetime

    return "never" if stamp is None else datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


@phones_app.command("list")
def phones_list() -> None:
    """List the paired phones: name, id, when paired, last seen, when the pairing ends."""
    book = _phone_book()
    phones = book.listing()
    table = Table(title=f"{len(phones)} paired phone(s)")
    for column in ("name", "id", "paired", "last seen", "expires"):
        table.add_column(column)
    for p in phones:
        table.add_row(p.name, p.id, _when(p.paired), _when(p.last_seen), _when(p.expires))
    console.print(table)


@phones_app.command("forget")
def phones_forget(
    who: str = typer.Argument("", metavar="NAME|ID", help="the phone's name or id (see list)"),
    every: bool = typer.Option(False, "--all", help="forget every paired phone"),
) -> None:
    """Forget a paired phone (or all): it can no longer control the box, at once, even while
    the box runs; it may pair again with the PIN."""
    if bool(who) == every:
        raise ApplianceError("name one phone (its name or id) or give --all")
    gone = _phone_book().forget(None if every else who)
    if not gone and not every:
        raise ApplianceError(f"no paired phone is called {who!r} (see `appliance phones list`)")
    for p in gone:
        console.print(f"forgot {p.name} ({p.id})")
    if every:
        console.print(f"{len(gone)} phone(s) forgotten")


@app.command()
def doctor(
    https_port: int = typer.Option(8443, help="the phone page's port to check"),
    http_port: int = typer.Option(8080, help="the redirect's port to check (0: none)"),
) -> None:
    """Check the box (sound, MIDI, models, ports, network, certificate, disk, store, service)
    and say what is wrong and what to do; exit status 1 when something is."""
    from appliance.doctor import health_summary, report

    raise typer.Exit(report(health_summary(https_port, http_port), typer.echo))


def main() -> None:
    limit_threads()  # before any numeric work: one BLAS/OpenMP thread, inherited by workers
    run_app(app)


if __name__ == "__main__":
    main()
