"""Running a command-line app: user errors become one clear line on stderr and exit code 1."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

errors = Console(stderr=True, soft_wrap=True)


def run_app(app: Callable[[], object]) -> None:
    """Call a typer app; an :class:`ApplianceError` prints ``error: …`` and exits 1."""
    from appliance.errors import ApplianceError

    try:
        app()
    except ApplianceError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        errors.print("interrupted")
        raise SystemExit(130) from None
