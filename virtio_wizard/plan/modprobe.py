"""Red Hat's modprobe.conf (modules.conf on 2.4): network aliases, host adapters, Xen.

Three things in this one file decide whether a converted RHEL 3-5 guest keeps
working (virt-v2v ``configure_kernel_modules``; issue 13 and 14):

- ``alias eth0 e1000`` (or 8139cp, 8139too, e1000e, pcnet32, Xen's xennet)
  names the driver of the interface: it must become ``virtio_net`` so eth0
  keeps its name and gets the driver.
- nash mkinitrd has no config file for ``--with``: the image a kernel update
  builds (new-kernel-pkg -> mkinitrd) gets its storage drivers from
  ``alias scsi_hostadapter*`` lines. The script reads them with
  ``grep "alias[[:space:]]\\+scsi_hostadapter" $modulefile | grep -v
  '^[ <TAB>]*#' | LC_ALL=C sort -u | awk '{ print $3 }'`` (Red Hat mkinitrd,
  ``modulefile=/etc/modprobe.conf`` for 2.6, ``/etc/modules.conf`` for 2.4)
  and loads them in that order, so ``alias scsi_hostadapter virtio_blk``
  (sorting first: a space sorts before the digits of ``scsi_hostadapter1``)
  with ``virtio_pci`` as ``scsi_hostadapter1`` makes virtio survive the next
  kernel update, and the old ata_piix/piix/mptscsih aliases follow them.
- ``alias scsi_hostadapter xenblk`` on a guest that came from Xen makes that
  mkinitrd fail ("No module xenblk found") on a non-Xen kernel: dropped.

Pure: edits go into the Workspace, like the other planners.
"""

from __future__ import annotations

import re

from .. import knowledge as K
from ..facts import MODULE, Facts, Kernel
from ..finding import INFO, WARNING, Finding, Remedy, choose
from .edits import Workspace, line_ending, split_lines
from .kernels import kernel_to_prepare
from .model import Choices

__all__ = [
    "plan_modprobe",
    "modprobe_path",
    "nash_scsi_modules",
    "persists_in_nash",
    "MODPROBE_CONF",
    "MODULES_CONF",
    "EMULATED_NICS",
    "XEN_BLOCK",
    "XEN_NET",
]

MODPROBE_CONF = "/etc/modprobe.conf"
MODULES_CONF = "/etc/modules.conf"
#: NIC drivers of the emulated devices a guest leaves for virtio_net.
EMULATED_NICS = frozenset({"e1000", "e1000e", "8139cp", "8139too", "pcnet32", "rtl8139"})
#: Xen's paravirtual drivers (virt-v2v's list), under both spellings.
XEN_BLOCK = frozenset({"xenblk", "xen-vbd", "xen_vbd"})
XEN_NET = frozenset({"xennet", "xen-vnif", "xen_vnif"})
SOURCE = (
    f"{K.VIRT_V2V} (configure_kernel_modules); Red Hat mkinitrd (nash) scsi_hostadapter "
    f"aliases; {K.NASH_MKINITRD}"
)

_ALIAS_RE = re.compile(r"^(\s*alias\s+)(\S+)(\s+)(\S+)(.*)$")
_NASH_GREP = re.compile(r"alias\s+scsi_hostadapter")
_NASH_COMMENT = re.compile(r"^[ \t]*#")


def modprobe_path(kernel_version: str) -> str:
    """The file nash mkinitrd and modprobe read: modules.conf on 2.4, else modprobe.conf."""
    return MODULES_CONF if K.order_matters(kernel_version) else MODPROBE_CONF


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The prepared kernel's modprobe config: its aliases (eth0, scsi_hostadapter, Xen)."""
    kernel = kernel_to_prepare(facts, choices)
    return [modprobe_path(kernel.version)] if kernel is not None else []


def nash_scsi_modules(text: str) -> list[str]:
    """The storage modules Red Hat's nash mkinitrd takes from ``text``, in its order.

    The script's pipeline, step by step: lines containing
    ``alias[[:space:]]+scsi_hostadapter`` (anywhere in the line), minus lines
    starting with blanks and ``#``, sorted bytewise without duplicates
    (``LC_ALL=C sort -u``), third whitespace-separated field (``awk '{ print
    $3 }'``).

    >>> nash_scsi_modules("alias scsi_hostadapter1 ata_piix\\nalias scsi_hostadapter virtio_blk\\n")
    ['virtio_blk', 'ata_piix']
    """
    lines = [ln for ln in text.split("\n") if _NASH_GREP.search(ln) and not _NASH_COMMENT.match(ln)]
    picked = sorted(set(lines), key=lambda ln: ln.encode("utf-8", "surrogateescape"))
    out = []
    for ln in picked:
        fields = ln.split()
        if len(fields) >= 3:
            out.append(fields[2])
    return out


def persists_in_nash(ws: Workspace, kernel: Kernel) -> bool:
    """Will an image nash mkinitrd builds later (a kernel update) hold virtio_blk?"""
    text = ws.text(modprobe_path(kernel.version))
    return bool(text) and "virtio_blk" in nash_scsi_modules(text or "")


def _host_adapter_block(
    old: list[str], kernel: Kernel, boot_virtio: bool
) -> tuple[list[str], list[str]]:
    """The modules of the new scsi_hostadapter aliases, in order, and the Xen ones dropped."""
    dropped = [m for m in old if m in XEN_BLOCK]
    kept = [m for m in old if m not in XEN_BLOCK and m not in ("virtio_blk", "virtio_pci")]
    if not boot_virtio:
        return [m for m in old if m not in XEN_BLOCK], dropped
    first = ["virtio_blk"]
    if kernel.virtio.get("virtio_pci") == MODULE:
        first.append("virtio_pci")
    return first + kept, dropped


def _alias_name(i: int) -> str:
    return "scsi_hostadapter" if i == 0 else f"scsi_hostadapter{i}"


def _net_aliases(lines: list[str], net: bool) -> tuple[list[str], list[str]]:
    """Rewrite ``alias ethN`` of emulated or Xen NICs to virtio_net in ``lines`` (net chosen).

    Returns (what was renamed, Xen aliases left where the net driver is not chosen).
    """
    renamed: list[str] = []
    xen_net_left: list[str] = []
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        m = _ALIAS_RE.match(body)
        if m is None or not re.fullmatch(r"eth\d+", m.group(2)):
            continue
        module = m.group(4)
        if module not in EMULATED_NICS and module not in XEN_NET:
            continue
        if not net:
            if module in XEN_NET:
                xen_net_left.append(f"{m.group(2)} {module}")
            continue
        lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3)}virtio_net{m.group(5)}" + raw[len(body) :]
        renamed.append(f"{m.group(2)} {module} -> virtio_net")
    return renamed, xen_net_left


def _host_adapters(
    lines: list[str], text: str, kernel: Kernel, persist: bool, path: str
) -> tuple[list[str], list[Finding]]:
    """Rewrite the ``scsi_hostadapter`` aliases in ``lines``; return (whys, notes)."""
    eol = line_ending(text) if text else "\n"
    positions = []
    old: list[str] = []
    for i, raw in enumerate(lines):
        m = _ALIAS_RE.match(raw.rstrip("\r\n"))
        if m and re.fullmatch(r"scsi_hostadapter\d*", m.group(2)):
            positions.append(i)
            old.append(m.group(4))
    # nash reads them in its own sorted order: keep that order for the old ones.
    old_sorted = nash_scsi_modules(text)
    old = [m for m in old_sorted if m in old] + [m for m in old if m not in old_sorted]
    wanted, dropped = _host_adapter_block(old, kernel, persist)
    if wanted == old and not dropped:
        return [], []
    new = [f"alias {_alias_name(i)} {m}{eol}" for i, m in enumerate(wanted)]
    anchor = positions[0] if positions else len(lines)
    for i in reversed(positions):
        del lines[i]
    if anchor == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += eol
    lines[anchor:anchor] = new
    whys: list[str] = []
    notes: list[Finding] = []
    if persist:
        whys.append(
            "alias scsi_hostadapter virtio_blk"
            + (" (and scsi_hostadapter1 virtio_pci)" if "virtio_pci" in wanted[:2] else "")
            + " first: nash mkinitrd reads these aliases, so the initrd a kernel update "
            "builds keeps the virtio block driver"
        )
    if dropped:
        whys.append(
            f"drop alias scsi_hostadapter {', '.join(dropped)}: a Xen driver this kernel "
            "lacks makes mkinitrd stop with 'No module ... found'"
        )
        notes.append(
            Finding(
                "xen-aliases",
                INFO,
                f"{path} names Xen's block driver ({', '.join(dropped)}) as a host adapter: "
                "left from a Xen guest, it makes nash mkinitrd fail on this kernel.",
                Remedy("The plan drops it (previewed, backed up by apply's journal)."),
                SOURCE,
            )
        )
    return whys, notes


def plan_modprobe(facts: Facts, choices: Choices, kernel: Kernel, ws: Workspace) -> list[Finding]:
    """Plan the modprobe.conf / modules.conf edits into ``ws``; return notes.

    Network aliases of emulated or Xen NICs become ``virtio_net`` when the net
    driver is chosen. With nash mkinitrd, the initrd method and the boot disk
    moving to virtio, ``scsi_hostadapter`` aliases are rewritten so that
    ``virtio_blk`` (then ``virtio_pci``) come first and later images keep
    them; Xen block aliases are dropped whenever the file is edited for a
    non-Xen kernel (they make nash mkinitrd fail).
    """
    path = modprobe_path(kernel.version)
    text = ws.text(path)
    nash = facts.initrd_tool == "mkinitrd"
    persist = (
        nash and choices.method == "initrd" and choices.block and choices.boot_disk == "virtio"
    )
    if text is None:
        # Every RHEL 3-5 install has one (anaconda writes it); none: nothing to keep.
        return []
    lines = split_lines(text)
    whys: list[str] = []
    renamed, xen_net_left = _net_aliases(lines, choices.net)
    if renamed:
        whys.append(
            f"alias {', '.join(renamed)}: the interface keeps its name and gets the virtio driver"
        )
    more_whys, notes = _host_adapters(lines, text, kernel, persist, path)
    whys += more_whys
    if xen_net_left:
        notes.append(
            Finding(
                "xen-aliases",
                WARNING,
                f"{path} gives the network interface Xen's driver ({'; '.join(xen_net_left)}), "
                "which a KVM guest does not have: the interface will come up without a driver.",
                Remedy(
                    "Choose the net driver too so the alias becomes virtio_net, or change the "
                    "alias to the NIC model the VM keeps.",
                    (choose(drivers="block,net"),),
                ),
                SOURCE,
            )
        )
    if whys:
        ws.set(path, "".join(lines), "; ".join(whys))
    return notes
