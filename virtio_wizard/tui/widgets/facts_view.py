"""Facts as Rich text for the Guest screen: what detection found, at a glance.

Only presentation lives here: every value shown comes from ``Facts`` or a
``Finding``; nothing is decided. Tables are drawn without box characters so
the same renderables serve the normal and the ASCII screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...facts import BUILTIN, MISSING, MODULE, Facts, Kernel
from ...finding import ERROR, WARNING, Finding
from ...knowledge import drivers_from_package

__all__ = [
    "Rows",
    "prerender",
    "row",
    "loaded_text",
    "SEED_MODULES_SHOWN",
    "distro_text",
    "cpu_text",
    "kernels_table",
    "devices_text",
    "disks_text",
    "initrd_text",
    "findings_text",
    "severity_label",
]

#: Columns of the kernel table: (module, short header).
SEED_MODULES_SHOWN: tuple[tuple[str, str], ...] = (
    ("virtio", "virtio"),
    ("virtio_ring", "ring"),
    ("virtio_blk", "blk"),
    ("virtio_net", "net"),
    ("virtio_pci", "pci"),
)

_STATE = {MODULE: ("module", "green"), BUILTIN: ("built-in", "cyan"), MISSING: ("MISSING", "red")}


def severity_label(severity: str) -> Text:
    """``ERROR``/``WARN``/``info`` in words, so colour is never the only signal."""
    if severity == ERROR:
        return Text("ERROR", style="bold red")
    if severity == WARNING:
        return Text("WARN ", style="bold yellow")
    return Text("info ", style="cyan")


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


_kv = row


def distro_text(facts: Facts) -> RenderableType:
    d = facts.distro
    name = " ".join(p for p in (d.name or d.id, d.version) if p) or "unknown"
    lines = [_kv("Distro", name + (f"  (from {d.source})" if d.source else ""))]
    if facts.not_linux:
        lines.append(_kv("", facts.not_linux, "bold red"))
    auto = "yes" if facts.drivers_auto else "no"
    reason = f" - {facts.drivers_auto_reason}" if facts.drivers_auto_reason else ""
    lines.append(_kv("Auto-load", f"{auto}{reason}", "green" if facts.drivers_auto else "yellow"))
    if facts.running_kernel:
        lines.append(_kv("Running", facts.running_kernel))
    return Rows(lines)


def cpu_text(facts: Facts, findings: Sequence[Finding] = ()) -> RenderableType:
    c = facts.cpu
    machine = c.machine or "unknown"
    vendor = c.vendor or "unknown vendor"
    lines = [
        # Only a vendor read elsewhere needs saying; "(target)" meant nothing to users.
        _kv(
            "CPU",
            f"{machine}, {vendor}"
            + (" (vendor read from the host, not the guest)" if c.vendor_source == "host" else ""),
        )
    ]
    if drivers_from_package(facts.distro.id, facts.distro.version):
        # RHEL 3 only: elsewhere the kernel ships the modules, no package exists.
        pkg = c.package_arch or "unknown"
        variant = c.kernel_variant or "unknown"
        lines.append(_kv("Package", f"for this CPU: {pkg}; installed kernel variant: {variant}"))
    for f in findings:
        if f.id == "package-arch":
            lines.append(_kv("", Text.assemble(severity_label(f.severity), " ", f.message)))
    return Rows(lines)


def _initrd_cell(kernel: Kernel, initrds_read: bool) -> Text:
    if not kernel.initrd:
        return Text("no image", style="yellow")
    if kernel.initrd_error:
        return Text("unreadable", style="yellow")
    if kernel.initrd_virtio is None:
        return Text("reading..." if not initrds_read else "not read", style="dim")
    if not kernel.initrd_virtio:
        return Text("no virtio", style="red")
    short = [m.replace("virtio_", "").replace("virtio", "virtio") for m in kernel.initrd_virtio]
    # ", " so that a narrow column wraps between names, never inside one.
    return Text(", ".join(short), style="green")


def kernels_table(facts: Facts, initrds_read: bool) -> RenderableType:
    """One row per kernel: each module of the guide's list as module / built-in / MISSING."""
    if not facts.kernels:
        return Text("No installed kernel found under /boot or /lib/modules.", style="red")
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("kernel", style="bold", no_wrap=True, overflow="fold", max_width=26)
    for _, head in SEED_MODULES_SHOWN:
        table.add_column(head, no_wrap=True)
    table.add_column("in initrd", overflow="fold")
    for k in facts.kernels:
        name = k.version + (" *" if k.running else "")
        cells = []
        for module, _ in SEED_MODULES_SHOWN:
            word, style = _STATE.get(k.virtio.get(module, MISSING), ("?", ""))
            cells.append(Text(word if word != "built-in" else "built", style=style))
        table.add_row(name, *cells, _initrd_cell(k, initrds_read))
    notes = []
    if any(k.running for k in facts.kernels):
        notes.append(Text("* running kernel", style="dim"))
    for k in facts.kernels:
        if k.initrd_error:
            notes.append(Text(f"{k.initrd}: {k.initrd_error}", style="yellow"))
        if k.virtio_orig:
            notes.append(Text(f"original initrd kept as: {k.virtio_orig}", style="cyan"))
    return Group(table, *notes)


def loaded_text(facts: Facts) -> RenderableType:
    """Loaded virtio modules, and the virtio bus drivers (built-in ones show only there)."""
    bus = list(facts.virtio_bus_drivers)
    bus_text = f"virtio bus drivers: {', '.join(bus)}" if bus else ""
    if facts.loaded_modules is None:
        if not facts.target.live:
            return Rows([_kv("Loaded", "offline guest: nothing is loaded to look at")])
        value = "no /proc/modules (a kernel without loadable modules?)"
        return Rows([_kv("Loaded", "; ".join(p for p in (value, bus_text) if p))])
    virtio = [m for m in facts.loaded_modules if m.startswith("virtio")]
    value = ", ".join(virtio) if virtio else "no virtio module loaded"
    return Rows([_kv("Loaded", "; ".join(p for p in (value, bus_text) if p))])


def devices_text(facts: Facts) -> RenderableType:
    if not facts.devices:
        return Rows([_kv("Devices", "no PCI devices visible (offline root or no sysfs)")])
    virtio = [d for d in facts.devices if d.kind.startswith("virtio")]
    emulated = [d for d in facts.devices if d.kind in ("ide", "ahci", "e1000", "e1000e", "rtl8139")]
    lines = []
    lines.append(
        _kv(
            "Virtio",
            ", ".join(f"{d.kind} ({d.slot})" for d in virtio) or "none",
            "green" if virtio else "",
        )
    )
    lines.append(
        _kv(
            "Emulated",
            ", ".join(f"{d.kind} ({d.slot})" for d in emulated) or "none",
            "yellow" if emulated else "",
        )
    )
    return Rows(lines)


#: Running state the plan never edits (``plan.files.RUNTIME_CONTEXTS``, not imported:
#: the Guest screen's first frame must not wait for the planner; a test keeps both equal).
RUNTIME_CONTEXTS = frozenset({"cmdline", "mtab", "swaps"})


def disks_text(facts: Facts) -> RenderableType:
    change = [r for r in facts.disk_refs if r.proposed and r.context not in RUNTIME_CONTEXTS]
    if not change:
        return Rows([_kv("Disk names", "nothing to change")])
    n = len(change)
    lines = [_kv("Disk names", f"{n} reference{'' if n == 1 else 's'} to change in files:")]
    for r in change:
        guess = " (order guessed)" if r.guessed else ""
        lines.append(_kv("", f"{r.file}:{r.line}  {r.device} -> {r.proposed}{guess}"))
    return Rows(lines)


def initrd_text(facts: Facts) -> RenderableType:
    """The initrd tool line, worded as ``detect`` words it (one formatter for both)."""
    from ...render import initrd_tool_text

    return Rows([_kv("Initrd", initrd_tool_text(facts))])


def findings_text(findings: Sequence[Finding], limit: Optional[int] = None) -> RenderableType:
    """Findings with their fix, worst first.

    A fix that names a command-line flag gets a footnote saying where the
    same choice is made in the wizard (``wizard_terms``); the core's words
    stay as they are, the same as ``plan`` and the report print.
    """
    order = {ERROR: 0, WARNING: 1}
    shown = sorted(findings, key=lambda f: order.get(f.severity, 2))
    if limit is not None:
        shown = shown[:limit]
    if not shown:
        return Text("No problems found.", style="green")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=5, no_wrap=True)
    grid.add_column(ratio=1)
    for f in shown:
        body = Text(f.message, style="bold")
        if f.fix:
            body.append("\nfix: ", style="bold")
            body.append(f.fix, style="")
        from ..wizard_terms import footnote  # only screens that list findings need it

        note = footnote(f.message, f.fix or "")
        if note:
            body.append(f"\n({note})", style="italic")
        body.append(f"\n[{f.id}]" + (f" {f.source}" if f.source else ""), style="dim")
        grid.add_row(severity_label(f.severity), body)
    return grid
