"""The guest's network interfaces: names, MACs and drivers.

Two kinds of evidence. On a running guest, ``/sys/class/net/NAME`` gives the
interface as the kernel has it now: its MAC (``address``) and the driver
bound to its device (``device/driver``, ``virtio_net`` for a virtio NIC, whose
device is the ``virtioN`` node). In the guest's files, the names the guest
*expects*, pinned to a MAC where it pins them: RHEL's
``/etc/sysconfig/network-scripts/ifcfg-NAME`` (``DEVICE=``, ``HWADDR=``),
udev's ``/etc/udev/rules.d/70-persistent-net.rules`` (``ATTR{address}==``,
``NAME=``), SUSE's ``/etc/sysconfig/network/ifcfg-NAME`` and Debian's
``/etc/network/interfaces`` (``iface NAME``). virt-v2v keeps the MAC for
exactly this reason: a new MAC makes udev's rule hand out ``eth1``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Optional

from ..targets import Target
from ._read import read_guest_text

__all__ = ["LiveNic", "ExpectedNic", "live_nics", "expected_nics", "VIRTUAL_PREFIXES"]

#: Interfaces with no hardware behind them (no ``device`` link), by name.
VIRTUAL_PREFIXES = ("lo", "virbr", "docker", "veth", "br-", "tun", "tap", "bond", "dummy", "sit")
_IFCFG_DIRS = ("/etc/sysconfig/network-scripts", "/etc/sysconfig/network")
_UDEV_RULES = "/etc/udev/rules.d/70-persistent-net.rules"
_INTERFACES = "/etc/network/interfaces"
_MAC_RE = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class LiveNic:
    """An interface of the running kernel (``/sys/class/net``)."""

    name: str
    mac: Optional[str]
    #: The driver bound to its device (virtio_net, e1000, 8139cp, ...), None if unknown.
    driver: Optional[str]


@dataclass(frozen=True)
class ExpectedNic:
    """A name the guest's configuration expects, with the MAC it pins, if any."""

    name: str
    mac: Optional[str]
    source: str


def _mac(text: str) -> Optional[str]:
    value = text.strip().strip("\"'").lower()
    return value if _MAC_RE.match(value) else None


def live_nics(target: Target) -> list[LiveNic]:
    """The running kernel's hardware interfaces (those with a ``device``), by name."""
    out = []
    for name in sorted(target.listdir("/sys/class/net")):
        if name.startswith(VIRTUAL_PREFIXES):
            continue
        base = f"/sys/class/net/{name}"
        if not target.exists(f"{base}/device"):
            continue
        mac = None
        with contextlib.suppress(OSError):
            mac = _mac(target.read_text(f"{base}/address", limit=64))
        driver = None
        link = target.readlink(f"{base}/device/driver")
        if link:
            driver = link.rstrip("/").rsplit("/", 1)[-1]
        out.append(LiveNic(name, mac, driver))
    return out


def expected_nics(target: Target) -> list[ExpectedNic]:
    """Names the guest's network configuration uses, first source wins per name."""
    found: dict[str, ExpectedNic] = {}
    for folder in _IFCFG_DIRS:
        for entry in sorted(target.listdir(folder)):
            if not entry.startswith("ifcfg-") or entry == "ifcfg-lo" or "~" in entry:
                continue
            path = f"{folder}/{entry}"
            text = read_guest_text(target, path, None)
            if text is None:
                continue
            keys = dict(
                (k.strip(), v.strip().strip("\"'"))
                for k, _, v in (line.partition("=") for line in text.splitlines())
                if _ and not k.strip().startswith("#")
            )
            name = keys.get("DEVICE") or entry[len("ifcfg-") :]
            if name.startswith(VIRTUAL_PREFIXES) or ":" in name:
                continue
            found.setdefault(name, ExpectedNic(name, _mac(keys.get("HWADDR", "")), path))
    rules = read_guest_text(target, _UDEV_RULES, None) or ""
    for line in rules.splitlines():
        if line.lstrip().startswith("#"):
            continue
        mac = re.search(r'ATTR\{address\}=="([^"]+)"', line)
        name = re.search(r'NAME="([^"]+)"', line)
        if mac and name:
            nic = ExpectedNic(name.group(1), _mac(mac.group(1)), _UDEV_RULES)
            if name.group(1) not in found or found[name.group(1)].mac is None:
                found[name.group(1)] = nic
    interfaces = read_guest_text(target, _INTERFACES, None) or ""
    for line in interfaces.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "iface" and not words[1].startswith(VIRTUAL_PREFIXES):
            found.setdefault(words[1], ExpectedNic(words[1], None, _INTERFACES))
    return [found[k] for k in sorted(found)]
