"""Rich renderables of Facts and Findings, shared by the CLI commands.

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

from . import knowledge as kn
from .facts import BUILTIN, MISSING, MODULE, Facts, Kernel
from .finding import ERROR, INFO, WARNING, Finding

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
#: Kernel config letters, which sysadmins already read: m module, y built in.
_STATE_MARK = {MODULE: ("m", "green"), BUILTIN: ("y", "green"), MISSING: ("-", "bold red")}


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


def _short(module: str) -> str:
    """``virtio_blk`` -> ``blk`` so the kernels table fits 80 columns."""
    return module[len("virtio_") :] if module.startswith("virtio_") else module


# ---- summary -------------------------------------------------------------------------


def _distro_text(facts: Facts) -> str:
    d = facts.distro
    name = " ".join(p for p in (d.name or d.id, d.version) if p) or "unknown"
    if d.source:
        name += f" (from {d.source})"
    return name


def _cpu_text(facts: Facts) -> str:
    cpu = facts.cpu
    parts = [cpu.machine or "machine unknown", cpu.vendor or "vendor unknown"]
    text = ", ".join(parts)
    if cpu.vendor_source == "host":
        text += " (vendor read from the host, not the guest)"
    if kn.drivers_from_package(facts.distro.id, facts.distro.version):
        # Only RHEL 3 gets the drivers from a package built per kernel variant.
        choice = cpu.package_arch or "unknown"
        text += f"; virtio package for this CPU: {choice}"
        variant = cpu.kernel_variant or "unknown"
        text += f"; kernel variant: {variant}"
    return text


def _loaded_text(facts: Facts) -> str:
    if facts.loaded_modules is None:
        if facts.target.live:
            return "unknown (no proc/modules to read)"
        return "not live (no running kernel to ask)"
    virtio = [m for m in facts.loaded_modules if kn.canonical_module(m) in kn.VIRTIO_MODULE_NAMES]
    text = ", ".join(virtio) if virtio else "no virtio modules loaded"
    if facts.virtio_bus_drivers:
        text += f"; virtio bus drivers: {', '.join(facts.virtio_bus_drivers)}"
    return text


def initrd_tool_text(facts: Facts) -> str:
    """The initrd tool by name with the settings that matter (shared with the TUI)."""
    if not facts.initrd_tool:
        return "not found"
    tool = kn.INITRD_TOOLS.get(facts.initrd_tool, {}).get("name", facts.initrd_tool)
    config = _config_text(facts.initrd_tool_config)
    return f"{tool} ({config})" if config else tool


def _config_text(config: dict[str, str]) -> str:
    """The tool's settings in words: where it is, what showed it, its own settings.

    Empty values are left out (``path=`` said nothing), the evidence when it
    repeats the path; the tool's own settings keep their ``KEY=value`` form,
    the one a user finds in the tool's configuration file.
    """
    items = [(k, v) for k, v in sorted(config.items()) if v]
    if config.get("evidence") == config.get("path"):
        items = [(k, v) for k, v in items if k != "evidence"]
    words = {"path": "at {}", "evidence": "seen in {}"}
    return ", ".join(words[k].format(v) if k in words else f"{k}={v}" for k, v in items)


def _sysinit_text(facts: Facts) -> str:
    s = facts.sysinit
    if s is None:
        return f"no {kn.RC_SYSINIT}"
    if s.hook_line is None:
        return f"{s.file}: no /etc/rc.modules block"
    text = f"{s.file}: /etc/rc.modules block ends at line {s.hook_line}"
    if s.modprobes:
        text += f"; already loads {', '.join(s.modprobes)}"
    return text


def _drivers_text(facts: Facts) -> str:
    head = "loaded by the release itself" if facts.drivers_auto else "must be added"
    return f"{head} ({facts.drivers_auto_reason})" if facts.drivers_auto_reason else head


def summary_table(facts: Facts, *, ascii: bool = False) -> Table:
    """Key/value lines: target, distro, CPU and package, drivers, tool, hook."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    target = facts.target
    where = {
        "local": "this system",
        "root": "guest root",
        "ssh": "remote guest",
        "demo": "demo guest",
    }.get(target.kind, target.kind)
    states = {"demo": " (a temporary copy)"}
    state = states.get(target.kind, " (running)" if target.live else "")
    table.add_row("Target", f"{where} {target.root}{state}")
    if facts.not_linux:
        table.add_row("Not Linux", facts.not_linux)
    table.add_row("Distro", _distro_text(facts))
    table.add_row("Drivers", _drivers_text(facts))
    table.add_row("CPU", _cpu_text(facts))
    table.add_row("Running", facts.running_kernel or "no running kernel (offline root)")
    table.add_row("Loaded", _loaded_text(facts))
    table.add_row("Initrd tool", initrd_tool_text(facts))
    table.add_row("Sysinit", _sysinit_text(facts))
    return table


# ---- kernels ----------------------------------------------------------------------------


def _initrd_cell(kernel: Kernel) -> Text:
    if kernel.initrd is None:
        return Text("no initrd", style="dim")
    if kernel.initrd_virtio is None:
        if kernel.initrd_error is None and kernel.initrd_format is None:
            return Text("not read", style="dim")
        why = kernel.initrd_error or "no reason recorded"
        return Text(f"unreadable: {why}", style="yellow")
    fmt = f"{kernel.initrd_format}: " if kernel.initrd_format else ""
    if not kernel.initrd_virtio:
        return Text(f"{fmt}no virtio", style="bold red")
    return Text(fmt + " ".join(_short(kn.canonical_module(m)) for m in kernel.initrd_virtio))


def kernels_table(facts: Facts, *, ascii: bool = False) -> Table:
    """Each installed kernel: the guide modules as m/y/- and its initrd's virtio content."""
    default = facts.default_kernel()
    table = _table("Kernels (m module, y built in, - missing)", ascii)
    # Kernel versions must stay whole (users copy them): size the column to the longest.
    longest = max((len(k.version) for k in facts.kernels), default=10)
    table.add_column("kernel", overflow="fold", width=min(max(longest, 10), 32))
    for module in kn.SEED_MODULES:
        table.add_column(_short(module), justify="center", no_wrap=True)
    table.add_column("initrd holds", overflow="fold")
    if not facts.kernels:
        table.add_row("none found", *[""] * len(kn.SEED_MODULES), "")
        return table
    for kernel in sorted(facts.kernels, key=lambda k: kn.kernel_sort_key(k.version)):
        name = Text(kernel.version)
        # Marks go on lines of their own: the column is as wide as the versions.
        if kernel.running:
            name.append("\n(running)", style="bold")
        elif default is not None and kernel.version == default.version:
            name.append("\n(default)", style="bold")
        if kernel.virtio_orig:
            name.append("\n+ .virtio.orig", style="dim")
        marks = []
        for module in kn.SEED_MODULES:
            mark, style = _STATE_MARK.get(kernel.virtio.get(module, MISSING), ("?", "yellow"))
            marks.append(Text(mark, style=style))
        table.add_row(name, *marks, _initrd_cell(kernel))
    return table


# ---- devices and disks -----------------------------------------------------------------------


def devices_table(facts: Facts, *, ascii: bool = False) -> Optional[Table]:
    """PCI functions of interest (virtio and the emulated ones being left); None if none."""
    shown = [d for d in facts.devices if d.kind != "other"]
    if not shown:
        return None
    table = _table("PCI devices", ascii)
    table.add_column("slot", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("ids", no_wrap=True)
    table.add_column("driver", overflow="fold")
    for d in shown:
        ids = f"{d.vendor.replace('0x', '')}:{d.device.replace('0x', '')}"
        table.add_row(d.slot, d.kind, ids, d.driver or "-")
    others = len(facts.devices) - len(shown)
    if others:
        table.caption = f"and {others} other PCI function{'s' if others != 1 else ''}"
        table.caption_justify = "left"
    return table


def disk_refs_table(facts: Facts, *, ascii: bool = False) -> Optional[Table]:
    """Disk references that must change for virtio; None when none must."""
    refs = [r for r in facts.disk_refs if r.proposed]
    if not refs:
        return None
    table = _table("Disk names to change", ascii)
    table.add_column("file:line", overflow="fold")
    table.add_column("now", overflow="fold")
    table.add_column("becomes", overflow="fold")
    table.add_column("what", overflow="fold")
    for r in refs:
        what = r.context or ""
        if r.mountpoint:
            what = f"{what} {r.mountpoint}".strip()
        if r.guessed:
            what += " (letter guessed)"
        table.add_row(f"{r.file}:{r.line}", r.device, r.proposed or "", what)
    return table


# ---- findings ------------------------------------------------------------------------------------


def findings_table(findings: Sequence[Finding], *, ascii: bool = False) -> Table:
    """Findings with their fixes, severity as a word (colour only helps)."""
    table = _table("Findings", ascii)
    table.add_column("severity", no_wrap=True)
    table.add_column("finding and fix", overflow="fold", ratio=1)
    if not findings:
        table.add_row("", "Nothing to report.")
        return table
    for f in findings:
        body = Text()
        body.append(f.id, style="bold")
        body.append("\n" + f.message)
        if f.fix:
            body.append("\nFix: ", style="bold")
            body.append(f.fix)
        if f.source:
            body.append(f"\nSource: {f.source}", style="dim")
        table.add_row(Text(f.severity, style=SEVERITY_STYLE.get(f.severity, "")), body)
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
