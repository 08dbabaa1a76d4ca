"""Rich renderables of Facts and Findings, shared by the CLI commands.

The words come from ``present.facts`` (the TUI's Guest screen says the same
things); this module only lays them out as tables.

``detect`` prints them, ``plan``/``apply`` reuse the findings table. They are
written for the worst screen the wizard meets: a Linux VT or serial console
at 80 columns, 16 colours, maybe without a UTF-8 font. So every table fits 80
columns, words carry the meaning (colour only helps), and ``ascii=True``
draws boxes with ``rich.box.ASCII`` and no other non-ASCII character.

Rich is imported here and only here among the CLI's core helpers, so
``detect --json`` (which never imports this module) stays fast. Textual is
never imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .facts import Facts
from .finding import ERROR, INFO, WARNING, Finding
from .present import facts as pf
from .present.findings import NO_FINDINGS, finding_words
from .present.remedy import cli_fix

__all__ = [
    "facts_renderable",
    "summary_table",
    "kernels_table",
    "devices_table",
    "disk_refs_table",
    "findings_table",
    "SEVERITY_STYLE",
]

#: Colours are a help, never the only signal: the severity word is printed too.
SEVERITY_STYLE = {ERROR: "bold red", WARNING: "yellow", INFO: "cyan"}
#: The presenter's tones as Rich styles.
TONE_STYLE = {pf.GOOD: "green", pf.WARN: "yellow", pf.BAD: "bold red", pf.DIM: "dim"}


def _box(ascii: bool) -> box.Box:
    return box.ASCII if ascii else box.SQUARE


def _table(title: str, ascii: bool, **kw) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=_box(ascii),
        safe_box=True,
        show_edge=True,
        expand=False,
        **kw,
    )


def _cell(cell: pf.Cell) -> Text:
    return Text(cell.text, style=TONE_STYLE.get(cell.tone, ""))


def summary_table(facts: Facts, *, ascii: bool = False) -> Table:
    """Key/value lines: target, distro, CPU and package, drivers, tool, hook."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for line in pf.summary_lines(facts):
        table.add_row(line.label, Text(line.text, style=TONE_STYLE.get(line.tone, "")))
    return table


def kernels_table(facts: Facts, *, ascii: bool = False) -> RenderableType:
    """Each installed kernel: the guide modules as m/y/- and its initrd's virtio content.

    Notes the table has no room for (originals the virtio package kept)
    follow it as lines of their own, unbounded by the table's width.
    """
    table = _table(f"Kernels ({pf.MARKS_LEGEND})", ascii)
    # Kernel versions must stay whole (users copy them): size the column to the longest.
    longest = max((len(k.version) for k in facts.kernels), default=10)
    table.add_column("kernel", overflow="fold", width=min(max(longest, 10), 32))
    for _, head in pf.MODULE_COLUMNS:
        table.add_column(head, justify="center", no_wrap=True)
    table.add_column("initrd holds", overflow="fold")
    if not facts.kernels:
        table.add_row("none found", *[""] * len(pf.MODULE_COLUMNS), "")
        return table
    for row in pf.kernel_rows(facts):
        name = Text(row.version)
        # The tag goes on a line of its own: the column is as wide as the versions.
        if row.tag:
            name.append(f"\n{row.tag}", style="bold")
        table.add_row(name, *[_cell(c) for c in row.marks], _cell(row.initrd))
    notes = [Text(n.text, style=TONE_STYLE.get(n.tone, "")) for n in pf.kernel_notes(facts)]
    return Group(table, *notes) if notes else table


# ---- devices and disks -----------------------------------------------------------------------


def devices_table(facts: Facts, *, ascii: bool = False) -> Optional[Table]:
    """PCI functions of interest (virtio and the emulated ones being left); None if none."""
    shown = pf.shown_devices(facts)
    if not shown:
        return None
    table = _table("PCI devices", ascii)
    table.add_column("slot", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("ids", no_wrap=True)
    table.add_column("driver", overflow="fold")
    for d in shown:
        table.add_row(d.slot, d.kind, pf.device_ids(d), d.driver or "-")
    others = len(facts.devices) - len(shown)
    if others:
        table.caption = f"and {others} other PCI function{'s' if others != 1 else ''}"
        table.caption_justify = "left"
    return table


def disk_refs_table(facts: Facts, *, ascii: bool = False) -> Optional[Table]:
    """Disk references that must change for virtio; None when none must."""
    rows = pf.disk_rows(facts)
    if not rows:
        return None
    table = _table("Disk names to change", ascii)
    table.add_column("file:line", overflow="fold")
    table.add_column("now", overflow="fold")
    table.add_column("becomes", overflow="fold")
    table.add_column("what", overflow="fold")
    for r in rows:
        what = f"{r.what} {pf.GUESSED}".strip() if r.guessed else r.what
        table.add_row(r.where, r.now, r.becomes, what)
    return table


# ---- findings ------------------------------------------------------------------------------------


def findings_table(findings: Sequence[Finding], *, ascii: bool = False) -> Table:
    """Findings with their fixes, severity as a word (colour only helps)."""
    table = _table("Findings", ascii)
    table.add_column("", no_wrap=True)
    table.add_column("finding and fix", overflow="fold", ratio=1)
    if not findings:
        table.add_row("", NO_FINDINGS)
        return table
    for f in findings:
        words = finding_words(f, cli_fix)
        body = Text(words.message, style="bold")
        if words.fix:
            body.append("\n" + words.fix)
        body.append("\n" + words.ref, style="dim")
        table.add_row(Text(words.severity, style=SEVERITY_STYLE.get(f.severity, "")), body)
    return table


def facts_renderable(
    facts: Facts, findings: Sequence[Finding], *, ascii: bool = False
) -> RenderableType:
    """Everything ``detect`` shows, top to bottom, readable at 80 columns."""
    parts: list[RenderableType] = [summary_table(facts, ascii=ascii)]
    if not facts.not_linux:
        parts.append(Text(""))
        parts.append(kernels_table(facts, ascii=ascii))
    for extra in (devices_table(facts, ascii=ascii), disk_refs_table(facts, ascii=ascii)):
        if extra is not None:
            parts.append(Text(""))
            parts.append(extra)
    parts.append(Text(""))
    parts.append(findings_table(findings, ascii=ascii))
    return Group(*parts)
