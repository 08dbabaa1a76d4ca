"""The words that describe Facts, built once for the CLI and the TUI.

``detect`` (``render.py``, Rich tables with boxes) and the wizard's Guest
screen (``tui/widgets/facts_view.py``, box-less grids) show the same guest;
what they say about it is decided here, as ``preview.py`` decides what a Plan
says. Each function returns plain data: :class:`Line` rows of ``label  text``,
:class:`KernelRow` and :class:`DiskRow` records, each with a ``tone`` the
faces map to a colour. Colour is never the only signal: every tone has its
word in the text. Nothing here imports Rich or Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import knowledge as kn
from ..facts import BUILTIN, MISSING, MODULE, DiskRef, Facts, Kernel, PciDevice

__all__ = [
    "GOOD",
    "WARN",
    "BAD",
    "DIM",
    "Line",
    "Cell",
    "KernelRow",
    "DiskRow",
    "MARKS",
    "MARKS_LEGEND",
    "MODULE_COLUMNS",
    "GUESSED",
    "RUNTIME_CONTEXTS",
    "summary_lines",
    "target_text",
    "initrd_tool_text",
    "kernel_rows",
    "kernel_notes",
    "initrd_cell",
    "device_lines",
    "shown_devices",
    "device_ids",
    "disk_rows",
    "disk_lines",
]

#: Tones: what a value means for the user; each face picks its colour.
GOOD, WARN, BAD, DIM = "good", "warn", "bad", "dim"

MARKS_LEGEND = "m module, y built in, - missing"
#: The guide's modules as table columns: (module, short header).
MODULE_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (m, m[len("virtio_") :] if m.startswith("virtio_") else m) for m in kn.SEED_MODULES
)
#: Running state the plan never edits (``plan.files.RUNTIME_CONTEXTS``, not imported:
#: the Guest screen's first frame must not wait for the planner; a test keeps both equal).
RUNTIME_CONTEXTS = frozenset({"cmdline", "mtab", "swaps"})
#: Said after a disk name whose new letter comes from the old disk order.
GUESSED = "(letter guessed)"
#: PCI kinds of emulated devices the switch leaves behind.
_EMULATED = ("ide", "ahci", "e1000", "e1000e", "rtl8139")


@dataclass(frozen=True)
class Line:
    """One ``label  text`` row; an empty label continues the row above."""

    label: str
    text: str
    tone: str = ""


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and tone."""

    text: str
    tone: str = ""


#: Kernel config letters, which sysadmins already read: m module, y built in, - missing.
MARKS = {MODULE: Cell("m", GOOD), BUILTIN: Cell("y", GOOD), MISSING: Cell("-", BAD)}


@dataclass(frozen=True)
class KernelRow:
    """One installed kernel: its name lines, a mark per guide module, its initrd."""

    version: str
    #: ``(running)`` or ``(default)``: which kernel boots, on a line under the version.
    tag: str
    marks: tuple[Cell, ...]
    initrd: Cell


@dataclass(frozen=True)
class DiskRow:
    """A disk reference the plan rewrites: where, the name now, the name after, what it is."""

    where: str
    now: str
    becomes: str
    what: str
    #: The new letter is a guess from the old disk order.
    guessed: bool = False


def _module_word(name: str) -> str:
    """``virtio_blk`` -> ``blk``: short names keep the initrd cell narrow."""
    return name[len("virtio_") :] if name.startswith("virtio_") else name


# ---- summary -------------------------------------------------------------------------


def target_text(facts: Facts) -> str:
    """Which guest this is: the kind of target, its root and whether it runs."""
    target = facts.target
    where = {
        "local": "this system",
        "root": "guest root",
        "ssh": "remote guest",
        "image": "disk image",
        "demo": "demo guest",
    }.get(target.kind, target.kind)
    state = " (a temporary copy)" if target.kind == "demo" else " (running)" if target.live else ""
    return f"{where} {target.root}{state}"


def _distro_text(facts: Facts) -> str:
    d = facts.distro
    name = " ".join(p for p in (d.name or d.id, d.version) if p) or "unknown"
    return f"{name} (from {d.source})" if d.source else name


def _drivers_line(facts: Facts) -> Line:
    head = "loaded by the release itself" if facts.drivers_auto else "must be added"
    reason = facts.drivers_auto_reason
    return Line(
        "Drivers", f"{head} ({reason})" if reason else head, GOOD if facts.drivers_auto else WARN
    )


def _cpu_lines(facts: Facts) -> list[Line]:
    cpu = facts.cpu
    text = f"{cpu.machine or 'machine unknown'}, {cpu.vendor or 'vendor unknown'}"
    if cpu.vendor_source == "host":
        text += " (vendor read from the host, not the guest)"
    lines = [Line("CPU", text)]
    if kn.drivers_from_package(facts.distro.id, facts.distro.version):
        # Only RHEL 3 gets the drivers from a package built per kernel variant.
        pkg = cpu.package_arch or "unknown"
        variant = cpu.kernel_variant or "unknown"
        lines.append(Line("Package", f"for this CPU: {pkg}; installed kernel variant: {variant}"))
    return lines


def _loaded_line(facts: Facts) -> Line:
    """Loaded virtio modules, and the virtio bus drivers (built-in ones show only there)."""
    bus = f"virtio bus drivers: {', '.join(facts.virtio_bus_drivers)}"
    bus = bus if facts.virtio_bus_drivers else ""
    if facts.loaded_modules is None:
        if not facts.target.live:
            return Line("Loaded", "offline guest: nothing is loaded to look at", DIM)
        value = "no /proc/modules (a kernel without loadable modules?)"
    else:
        virtio = [
            m for m in facts.loaded_modules if kn.canonical_module(m) in kn.VIRTIO_MODULE_NAMES
        ]
        value = ", ".join(virtio) if virtio else "no virtio module loaded"
    return Line("Loaded", "; ".join(p for p in (value, bus) if p))


def initrd_tool_text(facts: Facts) -> str:
    """The initrd tool by name with the settings that matter."""
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


def summary_lines(facts: Facts) -> list[Line]:
    """What the guest is: target, distro, drivers, CPU, kernel, loaded modules, tools.

    A root that is not Linux says so right under the target and stops there:
    the rest would describe nothing.
    """
    lines = [Line("Target", target_text(facts))]
    if facts.not_linux:
        return [*lines, Line("Not Linux", facts.not_linux, BAD)]
    lines += [Line("Distro", _distro_text(facts)), _drivers_line(facts), *_cpu_lines(facts)]
    lines.append(Line("Running", facts.running_kernel or "no running kernel (offline guest)"))
    lines.append(_loaded_line(facts))
    lines.append(Line("Initrd tool", initrd_tool_text(facts)))
    lines.append(Line("Sysinit", _sysinit_text(facts)))
    return lines


# ---- kernels ------------------------------------------------------------------------


def initrd_cell(kernel: Kernel, initrds_read: bool = True) -> Cell:
    """What the kernel's initrd holds of virtio, or why that is not known.

    ``initrds_read`` is False while the wizard still reads the images (they
    come after the other facts): such an image is ``reading...``, not
    ``not read``.
    """
    if not kernel.initrd:
        return Cell("no initrd", WARN)
    if kernel.initrd_virtio is None:
        if kernel.initrd_error is None and kernel.initrd_format is None:
            return Cell("not read" if initrds_read else "reading...", DIM)
        return Cell(f"unreadable: {kernel.initrd_error or 'no reason recorded'}", WARN)
    fmt = f"{kernel.initrd_format}: " if kernel.initrd_format else ""
    if not kernel.initrd_virtio:
        return Cell(f"{fmt}no virtio", BAD)
    # ", " so that a narrow column wraps between names, never inside one.
    names = ", ".join(_module_word(kn.canonical_module(m)) for m in kernel.initrd_virtio)
    return Cell(fmt + names, GOOD)


def kernel_rows(facts: Facts, initrds_read: bool = True) -> list[KernelRow]:
    """Each installed kernel, newest first (the guest's own version order)."""
    default = facts.default_kernel()
    rows = []
    for kernel in facts.kernels:
        tag = ""
        if kernel.running:
            tag = "(running)"
        elif default is not None and kernel.version == default.version:
            tag = "(default)"
        marks = tuple(
            MARKS.get(kernel.virtio.get(module, MISSING), Cell("?", WARN))
            for module, _ in MODULE_COLUMNS
        )
        rows.append(KernelRow(kernel.version, tag, marks, initrd_cell(kernel, initrds_read)))
    return rows


def kernel_notes(facts: Facts) -> list[Line]:
    """What the kernel table has no room for: originals the virtio package kept."""
    return [
        Line("", f"original initrd of {k.version} kept as {k.virtio_orig}", DIM)
        for k in facts.kernels
        if k.virtio_orig
    ]


# ---- devices and disks -----------------------------------------------------------------


def shown_devices(facts: Facts) -> list[PciDevice]:
    """PCI functions of interest: virtio and the emulated ones being left."""
    return [d for d in facts.devices if d.kind != "other"]


def device_ids(device: PciDevice) -> str:
    """``1af4:1041``: vendor and device id as lspci prints them."""
    return f"{device.vendor.replace('0x', '')}:{device.device.replace('0x', '')}"


def device_lines(facts: Facts) -> list[Line]:
    """Virtio and emulated devices by kind and slot, on two lines."""
    if not facts.devices:
        return [Line("Devices", "no PCI devices visible (offline guest or no sysfs)", DIM)]
    virtio = [d for d in facts.devices if d.kind.startswith("virtio")]
    emulated = [d for d in facts.devices if d.kind in _EMULATED]
    return [
        Line("Virtio", ", ".join(f"{d.kind} ({d.slot})" for d in virtio) or "none",
             GOOD if virtio else ""),
        Line("Emulated", ", ".join(f"{d.kind} ({d.slot})" for d in emulated) or "none",
             WARN if emulated else ""),
    ]  # fmt: skip


def _changed(facts: Facts) -> list[DiskRef]:
    return [r for r in facts.disk_refs if r.proposed and r.context not in RUNTIME_CONTEXTS]


def disk_rows(facts: Facts) -> list[DiskRow]:
    """Disk references in files the plan rewrites for virtio (running state is left out)."""
    rows = []
    for r in _changed(facts):
        what = f"{r.context or ''} {r.mountpoint or ''}".strip()
        row = DiskRow(f"{r.file}:{r.line}", r.device, r.proposed or "", what, r.guessed)
        rows.append(row)
    return rows


def disk_lines(facts: Facts) -> list[Line]:
    """The disk rows as ``Disk names`` lines, for a face without a table."""
    rows = disk_rows(facts)
    if not rows:
        return [Line("Disk names", "nothing to change")]
    n = len(rows)
    lines = [Line("Disk names", f"{n} reference{'' if n == 1 else 's'} to change in files:")]
    for r in rows:
        guess = f" {GUESSED}" if r.guessed else ""
        lines.append(Line("", f"{r.where}  {r.now} -> {r.becomes}{guess}"))
    return lines
