"""A session's summary as a picture (PNG) or a page (PDF): the pieces played, who asked for
what, and the tempo and loudness curves (matplotlib, drawn off screen)."""

from __future__ import annotations

import io
import textwrap
import time

from appliance.perform.summary import Summary

FORMATS = ("png", "pdf")
MAX_SHOWN = 14  # lines of requests drawn (the rest counted)


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M", time.localtime(seconds))


def draw(summary: Summary, fmt: str = "png", title: str = "Session") -> bytes:
    """The summary as ``fmt`` ("png" or "pdf") bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"a summary is saved as {' or '.join(FORMATS)}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.27, 11.69), dpi=100)  # A4, portrait
    end = summary.ended or time.time()
    figure.suptitle(
        f"{title} — {_clock(summary.started)} to {_clock(end)}", fontsize=14, fontweight="bold"
    )
    grid = figure.add_gridspec(3, 1, height_ratios=[0.7, 1.0, 1.4], hspace=0.3)
    text = figure.add_subplot(grid[0])
    text.axis("off")
    lines = ["Pieces played:"]
    lines += [f"  • {p.title} — {p.composer}"[:100] for p in summary.pieces[:MAX_SHOWN]] or [
        "  none"
    ]
    if len(summary.pieces) > MAX_SHOWN:
        lines.append(f"  … and {len(summary.pieces) - MAX_SHOWN} more")
    text.text(0, 1, "\n".join(lines), va="top", fontsize=10, family="DejaVu Sans")
    asked = figure.add_subplot(grid[1])
    asked.axis("off")
    who = summary.who_asked()
    rows = ["Who asked for what:"]
    for name, wishes in list(who.items())[:MAX_SHOWN]:
        shown = ", ".join(wishes[:6]) + (f" (+{len(wishes) - 6})" if len(wishes) > 6 else "")
        rows += textwrap.wrap(
            f"• {name}: {shown}", 95, initial_indent="  ", subsequent_indent="     "
        )
    if not who:
        rows.append("  nobody asked for anything")
    asked.text(0, 1, "\n".join(rows), va="top", fontsize=10, family="DejaVu Sans")
    curves = figure.add_subplot(grid[2])
    minutes = [s / 60.0 for s in summary.seconds]
    # told apart by line style and a legend too, not by colour alone
    tempo_line = curves.plot(
        minutes, summary.tempo, color="#c77800", linestyle="-", label="tempo (solid)"
    )
    curves.set_xlabel("minutes into the session")
    curves.set_ylabel("tempo (beats a minute), solid line", color="#c77800")
    loud = curves.twinx()
    loud_line = loud.plot(
        minutes, summary.loudness, color="#1f6fb2", linestyle="--", label="loudness (dashed)"
    )
    loud.set_ylabel("loudness (MIDI velocity, 0–127), dashed line", color="#1f6fb2")
    loud.set_ylim(0, 127)
    if minutes:
        drawn = [*tempo_line, *loud_line]
        curves.legend(drawn, [str(line.get_label()) for line in drawn], loc="upper left")
    curves.set_title("Tempo and loudness, bar by bar")
    if not minutes:
        curves.text(0.5, 0.5, "no music yet", ha="center", transform=curves.transAxes)
    out = io.BytesIO()
    figure.savefig(out, format=fmt)
    return out.getvalue()
