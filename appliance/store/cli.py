"""``appliance data``: what the box's memory holds, exporting and importing it, forgetting
people, pruning it to its limits."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from appliance.errors import ApplianceError
from appliance.store.settings import StoreSettings, store_path
from appliance.store.store import Store

data_app = typer.Typer(
    no_args_is_help=True,
    help="The box's memory: what it played and what people said (export, import, forget).",
)
console = Console()


def _open() -> Store:
    return Store.open(store_path(), StoreSettings.from_env())


@data_app.command("info")
def data_info() -> None:
    """Where the memory is, its size, its limits and its rows per table."""
    with _open() as store:
        settings = store.settings
        console.print(f"{store.path}: {store.size_bytes() / 1e6:.1f} MB of rows")
        console.print(
            f"kept {settings.keep_days:g} days, at most {settings.keep_bytes / 1e6:g} MB; "
            f"raw talk audio {'kept' if settings.keep_audio else 'not kept'}"
        )
        for table, n in store.rows_per_table().items():
            console.print(f"  {table}: {n}")


@data_app.command("export")
def data_export(
    file: Path = typer.Argument(..., help="the archive to write (a .zip)"),
) -> None:
    """Write a portable archive of the memory (a zip: database snapshot + manifest)."""
    with _open() as store:
        manifest = store.export(file)
    console.print(
        f"wrote {escape(str(file))}: {sum(manifest.rows.values())} rows, "
        f"schema {manifest.schema_version}"
    )


@data_app.command("import")
def data_import(
    file: Path = typer.Argument(..., help="an archive made by `appliance data export`"),
) -> None:
    """Merge an archive (from this box or another) into the memory; rows already here are
    kept as they are."""
    with _open() as store:
        report = store.import_archive(file)
    added = sum(a for a, _ in report.values())
    offered = sum(o for _, o in report.values())
    console.print(f"imported {added} new rows of {offered} in {escape(str(file))}")
    for table, (a, o) in report.items():
        if o:
            console.print(f"  {table}: {a} of {o}")


@data_app.command("forget")
def data_forget(
    user: str = typer.Option("", "--user", help="a display name: erase everything tied to it"),
    every: bool = typer.Option(False, "--all", help="erase the whole memory"),
) -> None:
    """Erase a person (everything tied to their display name, on every phone that chose it)
    or everything, and rewrite the file so that nothing of it is left there."""
    if bool(user) == every:
        raise ApplianceError("give --user NAME or --all")
    with _open() as store:
        report = store.forget_all() if every else store.forget_user(user)
    if not every and not report.profiles:
        raise ApplianceError(f"nobody is called {user!r} in the box's memory")
    who = "everything" if every else f"{escape(user)} ({report.profiles} profile(s))"
    console.print(f"forgot {who}: {report.total} rows erased")


@data_app.command("prune")
def data_prune() -> None:
    """Apply the retention limits now (the box also does at start and every hour)."""
    with _open() as store:
        report = store.prune()
    console.print(
        f"{report.total} old rows deleted; {report.bytes_after / 1e6:.1f} MB of rows kept"
    )
