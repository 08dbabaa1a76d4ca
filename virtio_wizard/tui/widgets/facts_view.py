"""Facts as Rich text for the Guest screen: what detection found, at a glance.

Only layout lives here: the words come from ``present.facts``, the same that
``detect`` prints, and every value from ``Facts`` or a ``Finding``. Tables
are drawn without box characters so the same renderables serve the normal and
the ASCII screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...facts import Facts
from ...finding import ERROR, WARNING, Finding
from ...present import facts as pf
from ...present.findings import NO_FINDINGS, SEVERITY_WORD, finding_words
from ..wizard_terms import wizard_fix

__all__ = [
    "Rows",
    "prerender",
    "row",
    "loaded_text",
    "distro_text",
    "cpu_text",
    "kernels_table",
    "devices_text",
    "disks_text",
    "initrd_text",
    "findings_text",
    "severity_label",
]

#: The presenter's tones as Rich styles.
TONE_STYLE = {pf.GOOD: "green", pf.WARN: "yellow", pf.BAD: "bold red", pf.DIM: "dim"}


#: The kernel column at most: the module marks and the initrd keep the rest of 80.
_KERNEL_WIDTH = 26


def _cell(cell: pf.Cell) -> Text:
    return Text(cell.text, style=TONE_STYLE.get(cell.tone, ""))


#: Severity colours; the word (``present.findings.SEVERITY_WORD``) carries the meaning.
_SEVERITY_STYLE = {ERROR: "bold red", WARNING: "bold yellow"}


def severity_label(severity: str) -> Text:
    """``ERROR``/``WARN``/``info`` in words, so colour is never the only signal."""
    word = SEVERITY_WORD.get(severity, severity)
    return Text(f"{word:<5}", style=_SEVERITY_STYLE.get(severity, "cyan"))


class Rows(list):
    """``label  value`` rows drawn as one grid: values wrap under themselves.

    Sections return Rows and the Guest screen merges them (``Rows.merge``) so
    the whole summary is one table to lay out, not one per line.
    """

    @classmethod
    def merge(cls, *sections: Rows) -> Rows:
        out = cls()
        for section in sections:
            out.extend(section)
        return out

    def __rich_console__(self, console, options):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=11, no_wrap=True, style="bold")
        grid.add_column(ratio=1)
        for label, value in self:
            grid.add_row(label, value)
        yield grid


def prerender(console, renderable: RenderableType, width: int) -> Text:
    """``renderable`` laid out at ``width`` columns, as one Text of styled lines.

    The lines are what Rich would draw at that width (wrapped values stay
    under their labels); the Text keeps each segment's style, so colours and
    ASCII filtering are as before, and showing it needs no table layout.
    """
    options = console.options.update(width=width, height=None)
    out = Text(end="")
    for n, line in enumerate(console.render_lines(renderable, options, pad=False)):
        if n:
            out.append("\n")
        for segment in line:
            if not segment.control:
                out.append(segment.text, segment.style)
    out.rstrip()
    return out


def row(label: str, value, style: str = "") -> tuple[str, Text]:
    """One ``Rows`` entry."""
    return (label, value if isinstance(value, Text) else Text(value, style=style))


def _rows(lines: Sequence[pf.Line]) -> Rows:
    return Rows(row(line.label, line.text, TONE_STYLE.get(line.tone, "")) for line in lines)


def _summary(facts: Facts) -> list[pf.Line]:
    # The header already names the target.
    return [line for line in pf.summary_lines(facts) if line.label != "Target"]


def distro_text(facts: Facts) -> RenderableType:
    """Distro, whether the drivers come by themselves, and the running kernel."""
    keep = ("Not Linux", "Distro", "Drivers", "Running")
    return _rows([line for line in _summary(facts) if line.label in keep])


def cpu_text(facts: Facts, findings: Sequence[Finding] = ()) -> RenderableType:
    """The CPU and, on RHEL 3, the package for it, with the package-arch finding."""
    rows = _rows([line for line in _summary(facts) if line.label in ("CPU", "Package")])
    for f in findings:
        if f.id == "package-arch":
            rows.append(row("", Text.assemble(severity_label(f.severity), " ", f.message)))
    return rows


def kernels_table(facts: Facts, initrds_read: bool) -> RenderableType:
    """One row per kernel: each module of the guide's list as m / y / -, and the initrd."""
    if not facts.kernels:
        return Text("No installed kernel found under /boot or /lib/modules.", style="red")
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("kernel", style="bold", no_wrap=True, overflow="fold", max_width=_KERNEL_WIDTH)
    for _, head in pf.MODULE_COLUMNS:
        table.add_column(head, no_wrap=True, justify="center")
    table.add_column("initrd holds", overflow="fold")
    for k in pf.kernel_rows(facts, initrds_read):
        # Beside the version when the column holds both, else under it: never cut.
        wide = len(k.version) + len(k.tag) < _KERNEL_WIDTH
        name = k.version + (f"{' ' if wide else chr(10)}{k.tag}" if k.tag else "")
        table.add_row(name, *[_cell(c) for c in k.marks], _cell(k.initrd))
    legend = Text(f"Kernels: {pf.MARKS_LEGEND}", style="dim")
    notes = [Text(n.text, style=TONE_STYLE.get(n.tone, "")) for n in pf.kernel_notes(facts)]
    return Group(legend, table, *notes)


def loaded_text(facts: Facts) -> RenderableType:
    """Loaded virtio modules, and the virtio bus drivers (built-in ones show only there)."""
    return _rows([line for line in _summary(facts) if line.label == "Loaded"])


def devices_text(facts: Facts) -> RenderableType:
    """Virtio and emulated PCI devices, by kind and slot."""
    return _rows(pf.device_lines(facts))


def disks_text(facts: Facts) -> RenderableType:
    """Disk names the plan rewrites, one per line."""
    return _rows(pf.disk_lines(facts))


def initrd_text(facts: Facts) -> RenderableType:
    """The initrd tool (the sysinit hook is the Drivers step's, where its file is picked)."""
    return _rows([line for line in _summary(facts) if line.label == "Initrd tool"])


def findings_text(findings: Sequence[Finding], limit: Optional[int] = None) -> RenderableType:
    """Findings with their fix, worst first.

    The words are ``detect``'s (``present.findings``) except the remedy,
    which names the control on screen instead of the flag (``wizard_terms``).
    """
    order = {ERROR: 0, WARNING: 1}
    shown = sorted(findings, key=lambda f: order.get(f.severity, 2))
    if limit is not None:
        shown = shown[:limit]
    if not shown:
        return Text(NO_FINDINGS, style="green")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, no_wrap=True)
    grid.add_column(ratio=1)
    for f in shown:
        words = finding_words(f, wizard_fix)
        body = Text(words.message, style="bold")
        if words.fix:
            body.append("\n" + words.fix)
        body.append("\n" + words.ref, style="dim")
        grid.add_row(severity_label(f.severity), body)
    return grid
