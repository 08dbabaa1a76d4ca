"""Network continuity and Xen leftovers: kudzu, pinned MACs, DEFAULTKERNEL, Xen consoles.

Each is a way a converted Red Hat guest comes up degraded although it boots
(virt-v2v ``convert_linux.ml``: ``unconfigure_kudzu``, ``configure_kernel``'s
DEFAULTKERNEL, ``configure_console``): kudzu sees the new NIC at first boot
and reconfigures or disables eth0; ``HWADDR=`` and 70-persistent-net.rules
bind eth0 to the old MAC, so a NIC with a new MAC comes up as eth1 without a
configuration; ``DEFAULTKERNEL=kernel-xen`` makes the next kernel update
install (and boot) a Xen kernel again; ``xvc0``/``hvc0`` gettys and securetty
lines belong to Xen's console.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..facts import Continuity, GuestLine, Unreadable
from ._read import read_guest_text

if TYPE_CHECKING:
    from ..targets import Target

__all__ = ["detect_continuity", "KUDZU_SCRIPTS", "PERSISTENT_NET", "IFCFG_DIR"]

Problems = Optional[list[Unreadable]]

KUDZU_SCRIPTS: tuple[str, ...] = ("/etc/rc.d/init.d/kudzu", "/etc/init.d/kudzu")
PERSISTENT_NET = "/etc/udev/rules.d/70-persistent-net.rules"
IFCFG_DIR = "/etc/sysconfig/network-scripts"
SYSCONFIG_KERNEL = "/etc/sysconfig/kernel"
_MAC = r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
_HWADDR_RE = re.compile(r"^\s*HWADDR\s*=\s*[\"']?(" + _MAC + r")[\"']?\s*(?:#.*)?$")
_UDEV_MAC_RE = re.compile(r"ATTR\{address\}==\"(" + _MAC + r")\"")
_UDEV_NAME_RE = re.compile(r"NAME=\"([^\"]+)\"")
_DEFAULTKERNEL_RE = re.compile(r"^\s*DEFAULTKERNEL\s*=\s*[\"']?([A-Za-z0-9_.+-]+)[\"']?\s*$")
_XEN_TTY_RE = re.compile(r"\b([xh]vc0)\b")
_GRUB_CONFS: tuple[str, ...] = ("/boot/grub/grub.conf", "/boot/grub/menu.lst")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _kudzu(target: Target) -> bool:
    """kudzu installed and started at boot in runlevel 3 or 5."""
    if not any(target.is_file(p) for p in KUDZU_SCRIPTS):
        return False
    for level in ("3", "5"):
        for folder in (f"/etc/rc.d/rc{level}.d", f"/etc/rc{level}.d"):
            if any(n.startswith("S") and n.endswith("kudzu") for n in target.listdir(folder)):
                return True
    return False


def _pinned_macs(target: Target, problems: Problems) -> list[GuestLine]:
    found: list[GuestLine] = []
    for name in sorted(target.listdir(IFCFG_DIR)):
        if not re.fullmatch(r"ifcfg-eth\d+", name):
            continue
        path = f"{IFCFG_DIR}/{name}"
        text = read_guest_text(target, path, problems)
        for no, line in enumerate(_lines(text or ""), 1):
            m = _HWADDR_RE.match(line)
            if m:
                found.append(GuestLine(path, no, m.group(1).lower(), name[len("ifcfg-") :]))
    text = read_guest_text(target, PERSISTENT_NET, problems)
    for no, line in enumerate(_lines(text or ""), 1):
        if line.lstrip().startswith("#"):
            continue
        m = _UDEV_MAC_RE.search(line)
        if m:
            name = _UDEV_NAME_RE.search(line)
            found.append(
                GuestLine(PERSISTENT_NET, no, m.group(1).lower(), name.group(1) if name else "")
            )
    return found


def _default_kernel_pkg(target: Target, problems: Problems) -> Optional[GuestLine]:
    text = read_guest_text(target, SYSCONFIG_KERNEL, problems)
    for no, line in enumerate(_lines(text or ""), 1):
        m = _DEFAULTKERNEL_RE.match(line)
        if m:
            return GuestLine(SYSCONFIG_KERNEL, no, m.group(1), "DEFAULTKERNEL")
    return None


def _xen_consoles(target: Target, problems: Problems) -> list[GuestLine]:
    found: list[GuestLine] = []
    for path in ("/etc/inittab", "/etc/securetty", *_GRUB_CONFS):
        text = read_guest_text(target, path, problems)
        for no, line in enumerate(_lines(text or ""), 1):
            if line.lstrip().startswith("#"):
                continue
            grub = path in _GRUB_CONFS
            if grub and "console=" not in line:
                continue
            m = _XEN_TTY_RE.search(line)
            if m:
                found.append(GuestLine(path, no, line.strip(), m.group(1)))
    return found


def detect_continuity(target: Target, problems: Problems = None) -> Continuity:
    """kudzu, pinned MACs, DEFAULTKERNEL and Xen consoles of this guest."""
    return Continuity(
        kudzu=_kudzu(target),
        pinned_macs=tuple(_pinned_macs(target, problems)),
        default_kernel_pkg=_default_kernel_pkg(target, problems),
        xen_consoles=tuple(_xen_consoles(target, problems)),
    )
