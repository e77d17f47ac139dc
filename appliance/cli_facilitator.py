"""``appliance facilitator``: the room's facilitator, set up at the box."""

from __future__ import annotations

import typer

from appliance.web.facilitator_key import FacilitatorKey, key_file, set_pin

facilitator_app = typer.Typer(
    no_args_is_help=True, help="The room's facilitator (a therapist, a teacher)."
)


@facilitator_app.command("pin")
def facilitator_pin(
    set_to: str = typer.Option(
        None, "--set", help="this PIN (6 to 32 digits) instead of a new random one"
    ),
    show: bool = typer.Option(False, "--status", help="only say whether a PIN is set"),
) -> None:
    """Set the facilitator's PIN (a new random 8-digit one, or --set PIN) and print it; it is
    kept only as a salted hash, so a lost PIN is replaced, never shown again."""
    if show:
        state = "set" if FacilitatorKey().is_set else "not set"
        typer.echo(f"facilitator PIN: {state} ({key_file()})")
        return
    key_file().parent.mkdir(parents=True, exist_ok=True)
    pin = set_pin(set_to)
    typer.echo(f"facilitator PIN: {pin}")
    typer.echo("open /facilitator on the box's address (e.g. https://<box>:8443/facilitator)")
    typer.echo("and unlock it with this PIN; a running box uses the new PIN at once")
