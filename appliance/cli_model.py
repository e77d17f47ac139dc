"""``appliance model …``: the versions of the neural renderer, and which one plays."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from appliance.errors import ApplianceError
from appliance.render.versions import ModelVersions

console = Console()

model_app = typer.Typer(
    no_args_is_help=True,
    help="The versions of the neural renderer (shipped, fine-tuned, installed) and which plays.",
)


def _when(stamp: float) -> str:
    return "—" if not stamp else datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


@model_app.command("list")
def model_list() -> None:
    """List the versions, oldest first; the one that plays is marked."""
    versions = ModelVersions()
    active, problem = versions.active()
    table = Table(title="renderer versions")
    for column in ("", "version", "made", "from", "note"):
        table.add_column(column)
    for v in versions.all():
        mark = "▶" if v.version == active.version else ""
        table.add_row(mark, v.version, _when(v.created), v.parent or "—", v.note)
    console.print(table)
    if problem:
        console.print(f"[yellow]warning:[/yellow] {problem}", soft_wrap=True)


@model_app.command("use")
def model_use(
    version: str = typer.Argument(..., help="a version from `appliance model list`"),
) -> None:
    """Play with this version (its files are checked first); a running box changes to it
    within a few seconds, between two notes."""
    chosen = ModelVersions().use(version)
    console.print(f"model version {chosen.version} is chosen")


@model_app.command("rollback")
def model_rollback() -> None:
    """Go back to the version used before this one."""
    chosen = ModelVersions().rollback()
    console.print(f"back to model version {chosen.version}")


@model_app.command("export")
def model_export(
    version: str = typer.Argument(..., help="a version from `appliance model list`"),
    out: Path = typer.Argument(..., help="the archive to write (.zip)"),
) -> None:
    """Write a version as an archive another box can install; prints its checksum."""
    sha = ModelVersions().export(version, out)
    console.print(f"wrote {out}\nsha256 {sha}")


@model_app.command("install")
def model_install(
    archive: Path = typer.Argument(..., help="an archive made by `appliance model export`"),
    sha256: str = typer.Option("", help="the archive's checksum, as `export` printed it"),
    use: bool = typer.Option(False, "--use", help="also play with it"),
) -> None:
    """Install a version from an archive (every file's checksum is checked)."""
    versions = ModelVersions()
    installed = versions.install(archive, sha256 or None)
    console.print(f"installed model version {installed.version}")
    if use:
        versions.use(installed.version)
        console.print(f"model version {installed.version} is chosen")


@model_app.command("finetune")
def model_finetune(
    use: bool = typer.Option(False, "--use", help="play with the new version when it is made"),
    steps: int = typer.Option(0, help="training steps (0: by the amount of feedback)"),
) -> None:
    """Learn from the feedback in the box's memory: a new version, made at the lowest priority
    on one thread while the music plays on (`export/finetune.py`; needs PyTorch)."""
    if importlib.util.find_spec("torch") is None:
        raise ApplianceError(
            "fine-tuning needs PyTorch: `make install-train` in a clone; an installed box gets"
            " it from `sudo make install` (unless APPLIANCE_INSTALL_TRAIN=no)"
        )
    command = [sys.executable, "-m", "export.finetune", "--threads", "1", "--steps", str(steps)]
    if use:
        command.append("--use")
    done = subprocess.run(command, preexec_fn=_lowest_priority, check=False)
    if done.returncode != 0:
        raise ApplianceError("the fine-tune did not finish (its messages are above)")


def _lowest_priority() -> None:
    os.nice(19)
