"""What the root file system sits on, and the guest's multipath setup.

An initrd that holds every virtio module still cannot mount a root it has
no file system driver for, or one on LVM, MD RAID or LUKS without the
device-mapper/RAID modules and the tools that assemble them. What the root
needs is read from the guest's own files, never guessed:

- ``/etc/fstab``'s ``/`` line: the device and the file system type;
- LVM: a root on ``/dev/mapper/VG-LV`` or ``/dev/VG/LV``; the volume group's
  metadata backup ``/etc/lvm/backup/VG`` (lvm.conf(5) ``backup``) names each
  physical volume's last device in a ``device = "..."`` hint, which says
  whether the PVs are MD arrays, LUKS mappings or multipath maps;
- MD: a root (or a root PV) on ``/dev/mdN`` or ``/dev/md/NAME``; the levels
  from mdadm.conf's ``ARRAY`` lines (``level=raid1``);
- crypt: a root (or a root PV) on ``/dev/mapper/NAME`` where NAME is a
  target in ``/etc/crypttab`` (or a ``luks-UUID`` mapping);
- multipath: ``/etc/multipath/bindings`` (alias and WWID), ``/etc/multipath/wwids``
  and ``/etc/multipath.conf`` (aliases, blacklist), and the fstab lines on a
  multipath map (multipath.conf(5)).

Each kernel's answer for the modules the root needs (built in, a module,
missing) comes from its config and ``modules.builtin``, and from
``modules.dep`` only for a kernel without a config (the config answers every
in-tree module, and the long list is not read twice for nothing), as for the
virtio modules (``detect.kernels``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from ..facts import BUILTIN, MISSING, MODULE, GuestLine, Kernel, Multipath, RootStack, Unreadable
from ..knowledge import canonical_module
from ..targets import Target
from ._read import read_guest_text
from .devnames import classify_device
from .kernels import MODULE_DIRS, read_config

__all__ = [
    "detect_root_stack",
    "detect_multipath",
    "ROOT_MODULE_SYMBOLS",
    "lvm_volume_group",
    "pv_hints",
]

#: The modules a root may need and the config symbol that builds each.
ROOT_MODULE_SYMBOLS: dict[str, str] = {
    "ext2": "CONFIG_EXT2_FS",
    "ext3": "CONFIG_EXT3_FS",
    "ext4": "CONFIG_EXT4_FS",
    "xfs": "CONFIG_XFS_FS",
    "btrfs": "CONFIG_BTRFS_FS",
    "jfs": "CONFIG_JFS_FS",
    "reiserfs": "CONFIG_REISERFS_FS",
    "dm_mod": "CONFIG_BLK_DEV_DM",
    "dm_crypt": "CONFIG_DM_CRYPT",
    "md_mod": "CONFIG_BLK_DEV_MD",
    "linear": "CONFIG_MD_LINEAR",
    "raid0": "CONFIG_MD_RAID0",
    "raid1": "CONFIG_MD_RAID1",
    "raid10": "CONFIG_MD_RAID10",
    "raid456": "CONFIG_MD_RAID456",
    "raid5": "CONFIG_MD_RAID5",
    "raid6": "CONFIG_MD_RAID6",
}
FSTAB = "/etc/fstab"
CRYPTTAB = "/etc/crypttab"
MDADM_CONFS = ("/etc/mdadm.conf", "/etc/mdadm/mdadm.conf")
LVM_BACKUP = "/etc/lvm/backup"
BINDINGS = "/etc/multipath/bindings"
WWIDS = "/etc/multipath/wwids"
MULTIPATH_CONF = "/etc/multipath.conf"
_HINT_RE = re.compile(r'^\s*device\s*=\s*"([^"]+)"', re.MULTILINE)
_LEVEL_RE = re.compile(r"(?i)(?<!\S)level=(\S+)")
_MPATH_RE = re.compile(r"^mpath[a-z]+$")
_PART_RE = re.compile(r"^(.*?)(?:p\d+|-part\d+|\d+)$")


def _fstab_lines(
    target: Target, problems: Optional[list[Unreadable]]
) -> list[tuple[int, list[str]]]:
    text = read_guest_text(target, FSTAB, problems) or ""
    out = []
    for number, raw in enumerate(text.split("\n"), 1):
        fields = raw.split()
        if len(fields) >= 2 and not fields[0].startswith("#"):
            out.append((number, fields))
    return out


def lvm_volume_group(device: str) -> Optional[str]:
    """The volume group a root device names, or None when it names none.

    >>> lvm_volume_group("/dev/mapper/vg--sys-root"), lvm_volume_group("/dev/VolGroup00/LogVol00")
    ('vg-sys', 'VolGroup00')
    >>> [lvm_volume_group(d) for d in ("/dev/sda1", "/dev/mapper/mpatha-part1", "/dev/md/r")]
    [None, None, None]
    """
    if classify_device(device) != "lvm":
        return None
    if device.startswith("/dev/mapper/"):
        name = device[len("/dev/mapper/") :]
        # device-mapper doubles a '-' inside a VG or LV name; a single one splits them.
        parts = re.split(r"(?<!-)-(?!-)", name)
        if len(parts) != 2 or _MPATH_RE.match(parts[0]):
            return None
        return parts[0].replace("--", "-")
    return device.split("/")[2]


def pv_hints(target: Target, vg: str, problems: Optional[list[Unreadable]]) -> list[str]:
    """The ``device =`` hints of the VG's metadata backup (its PVs' last devices)."""
    text = read_guest_text(target, f"{LVM_BACKUP}/{vg}", problems) or ""
    return _HINT_RE.findall(text)


def _crypt_names(target: Target, problems: Optional[list[Unreadable]]) -> set[str]:
    text = read_guest_text(target, CRYPTTAB, problems) or ""
    return {
        f[0] for f in (line.split() for line in text.split("\n")) if f and not f[0].startswith("#")
    }


def _md_levels(target: Target, arrays: set[str], problems: Optional[list[Unreadable]]) -> list[str]:
    """RAID levels of the named arrays in mdadm.conf (of every array when none matches)."""
    named: list[str] = []
    every: list[str] = []
    for path in MDADM_CONFS:
        for line in (read_guest_text(target, path, problems) or "").split("\n"):
            words = line.split("#", 1)[0].split()
            if len(words) < 2 or words[0].upper() != "ARRAY":
                continue
            level = _LEVEL_RE.search(line)
            if level is None:
                continue
            every.append(level.group(1).lower())
            if words[1] in arrays:
                named.append(level.group(1).lower())
    return sorted(set(named or every))


def _is_md(device: str) -> bool:
    return bool(re.match(r"^/dev/md(\d+|/.+)$", device))


def _is_crypt(device: str, names: set[str]) -> bool:
    if not device.startswith("/dev/mapper/"):
        return False
    name = device[len("/dev/mapper/") :]
    return name in names or name.startswith("luks-")


def detect_root_stack(
    target: Target,
    kernels: Sequence[Kernel] = (),
    problems: Optional[list[Unreadable]] = None,
) -> Optional[RootStack]:
    """What the fstab root sits on; None when fstab has no ``/`` line."""
    root = next((f for _n, f in _fstab_lines(target, problems) if f[1] == "/"), None)
    if root is None:
        return None
    device = root[0]
    fstype = root[2] if len(root) > 2 and root[2] != "auto" else None
    evidence = [f"{FSTAB}: / on {device}" + (f" ({fstype})" if fstype else "")]
    crypt_names = _crypt_names(target, problems)
    below = [device]
    vg = lvm_volume_group(device) if not _is_crypt(device, crypt_names) else None
    if vg is not None:
        hints = pv_hints(target, vg, problems)
        below += hints
        evidence.append(
            f"{LVM_BACKUP}/{vg}: PV {', '.join(hints)}"
            if hints
            else f"root on LVM volume group {vg}"
        )
    md = [d for d in below if _is_md(d)]
    crypt = [d for d in below if _is_crypt(d, crypt_names)]
    if crypt:
        evidence.append(f"{CRYPTTAB}: {', '.join(crypt)} is a LUKS mapping")
    levels = _md_levels(target, set(md), problems) if md else []
    return RootStack(
        device=device,
        fstype=fstype,
        lvm=vg is not None,
        md=bool(md),
        md_levels=tuple(levels),
        crypt=bool(crypt),
        evidence=tuple(evidence),
        kernel_modules={k.version: _module_states(target, k, problems) for k in kernels},
    )


def _module_states(
    target: Target, kernel: Kernel, problems: Optional[list[Unreadable]]
) -> dict[str, str]:
    """module -> built in / module / missing for the root modules, from the kernel's own files."""
    trees = [f"{d}/{kernel.version}" for d in MODULE_DIRS if target.is_dir(f"{d}/{kernel.version}")]
    config: dict[str, str] = {}
    for path in [f"/boot/config-{kernel.version}", *(f"{t}/config" for t in trees)]:
        found = read_config(target, path, problems)
        if found is not None:
            config = found
            break
    builtin: set[str] = set()
    listed: set[str] = set()
    for tree in trees:
        builtin |= _names(read_guest_text(target, f"{tree}/modules.builtin", problems))
        if not config:  # the config answers every in-tree module; the long list only without it
            listed |= _names(read_guest_text(target, f"{tree}/modules.dep", problems), dep=True)
    out: dict[str, str] = {}
    for module, symbol in ROOT_MODULE_SYMBOLS.items():
        value = config.get(symbol)
        if value == "y" or module in builtin:
            out[module] = BUILTIN
        elif value == "m" or module in listed:
            out[module] = MODULE
        else:
            out[module] = MISSING
    return out


def _names(text: Optional[str], dep: bool = False) -> set[str]:
    """Canonical module names of ``modules.builtin`` lines, or ``modules.dep`` heads."""
    out: set[str] = set()
    for line in (text or "").split("\n"):
        path = line.split(":", 1)[0].strip() if dep else line.strip()
        if path:
            out.add(canonical_module(path.rsplit("/", 1)[-1]))
    return out


# ---- multipath ----------------------------------------------------------------


def _bindings(target: Target, problems: Optional[list[Unreadable]]) -> list[GuestLine]:
    text = read_guest_text(target, BINDINGS, problems) or ""
    out = []
    for number, raw in enumerate(text.split("\n"), 1):
        words = raw.split("#", 1)[0].split()
        if len(words) >= 2:
            out.append(GuestLine(BINDINGS, number, f"{words[0]} {words[1]}", words[0]))
    return out


def _wwids(target: Target, problems: Optional[list[Unreadable]]) -> list[str]:
    text = read_guest_text(target, WWIDS, problems) or ""
    return [w.strip("/") for line in text.split("\n") for w in line.split("#", 1)[0].split()]


def _multipath_conf(
    target: Target, problems: Optional[list[Unreadable]]
) -> tuple[list[str], list[str]]:
    """(aliases, blacklist entries) of multipath.conf's sections (multipath.conf(5))."""
    text = read_guest_text(target, MULTIPATH_CONF, problems) or ""
    aliases: list[str] = []
    blacklist: list[str] = []
    stack: list[str] = []
    for raw in text.split("\n"):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[-1] == "{":
            stack.append(words[0])
        elif words[0] == "}":
            if stack:
                stack.pop()
        elif words[0] == "alias" and len(words) > 1 and "multipaths" in stack:
            aliases.append(words[1].strip('"'))
        elif stack and stack[0] == "blacklist" and len(words) > 1:
            blacklist.append(f"{words[0]} {' '.join(words[1:]).strip(chr(34))}")
    return aliases, blacklist


def _map_name(device: str, maps: set[str]) -> Optional[str]:
    """The multipath map a device path names (``/dev/mapper/mpatha1`` -> ``mpatha``)."""
    if not device.startswith("/dev/mapper/"):
        return None
    name = device[len("/dev/mapper/") :]
    for candidate in (name, (_PART_RE.match(name) or [None, None])[1]):
        if candidate and (candidate in maps or _MPATH_RE.match(candidate)):
            return candidate
    return None


def detect_multipath(
    target: Target, problems: Optional[list[Unreadable]] = None
) -> Optional[Multipath]:
    """The guest's multipath setup and the mounts on multipath maps; None without any."""
    bindings = _bindings(target, problems)
    wwids = _wwids(target, problems)
    aliases, blacklist = _multipath_conf(target, problems)
    maps = {b.about for b in bindings} | set(aliases)
    on: list[GuestLine] = []
    for number, fields in _fstab_lines(target, problems):
        name = _map_name(fields[0], maps)
        if name is not None:
            on.append(GuestLine(FSTAB, number, fields[0], fields[1]))
        vg = lvm_volume_group(fields[0]) if fields[1] == "/" else None
        for hint in pv_hints(target, vg, problems) if vg else []:
            if _map_name(hint, maps):
                on.append(GuestLine(f"{LVM_BACKUP}/{vg}", 0, hint, "/ (LVM physical volume)"))
    if not (bindings or wwids or aliases or blacklist or on or target.is_file(MULTIPATH_CONF)):
        return None
    return Multipath(tuple(bindings), tuple(wwids), tuple(aliases), tuple(blacklist), tuple(on))
