"""Results as a plain table, Markdown and JSON, from the same rows.

Plain text (no Rich) so the bench's own start-up never weighs on a figure,
and so the table pastes into a terminal, an issue or ``docs/benchmarks.md``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from .parts import Row

__all__ = ["cells", "text_table", "markdown", "to_json", "HEADERS"]

HEADERS = ("part", "measured", "reference", "median s", "ref s", "figure", "spread", "target", "")


def _figure(row: Row) -> tuple[str, str]:
    r = row.ratio
    if row.unit == "MiB":
        return f"{r.median:.0f} MiB", f"{r.low:.0f}-{r.high:.0f}"
    return f"{r.median:.2f}x", f"IQR {r.q1:.2f}-{r.q3:.2f}, {r.low:.2f}-{r.high:.2f}"


def cells(row: Row) -> tuple[str, ...]:
    """The row's cells, in ``HEADERS`` order."""
    figure, spread = _figure(row)
    target = "" if row.target is None else (
        f"<= {row.target:.0f} MiB" if row.unit == "MiB" else f"<= {row.target:.2f}x"
    )  # fmt: skip
    ref_s = "" if row.unit == "MiB" else f"{row.ref_seconds:.3f}"
    return (row.part, row.measured, row.reference, f"{row.seconds:.3f}", ref_s, figure, spread,
            target, row.verdict)  # fmt: skip


def text_table(rows: Sequence[Row]) -> str:
    """An aligned plain-text table."""
    table = [HEADERS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown(rows: Sequence[Row], header: str = "") -> str:
    """A Markdown table (pipes in cells escaped), after an optional header paragraph."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [header, ""] if header else []
    lines.append("| " + " | ".join(h or "verdict" for h in HEADERS) + " |")
    lines.append("|" + "---|" * len(HEADERS))
    for row in rows:
        lines.append("| " + " | ".join(esc(c) for c in cells(row)) + " |")
    notes = sorted({(r.part, r.note) for r in rows if r.note})
    if notes:
        lines.append("")
        lines.extend(f"- {part}: {note}" for part, note in notes)
    return "\n".join(lines) + "\n"


def to_json(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    """Every row with its full statistics, and ``meta`` (machine, options)."""
    doc = {
        "schema": "virtio-wizard/bench/1",
        "meta": meta,
        "rows": [{**dataclasses.asdict(r), "verdict": r.verdict} for r in rows],
    }
    return json.dumps(doc, indent=2) + "\n"
