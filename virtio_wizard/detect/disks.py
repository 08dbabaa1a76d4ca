"""Every place a guest names a disk, and the virtio name each legacy name becomes.

Moving a disk from emulated IDE/SCSI to virtio renames it (``/dev/hda`` ->
``/dev/vda``); any reference left behind fails silently (the guide's swap on
``/dev/hda3``) or stops the boot (``root=/dev/hda2``). So detection collects
the references from every file virt-v2v rewrites and every other place the
boot path names a disk: ``/etc/fstab``, ``/etc/crypttab``, grub legacy's
config, grub2's generated ``grub.cfg`` (``linux`` lines; in /boot or, on
UEFI, in the EFI system partition's vendor folder: ``grubplaces``), both
``device.map`` files, ``/etc/default/grub`` and ``/etc/sysconfig/grub``, BLS
entries' ``options``, ``/etc/kernel/cmdline``, initramfs-tools' ``RESUME=``,
SUSE's ``/etc/sysconfig/bootloader``, mdadm.conf's member disks, dracut's
``add_device``; plus the running ``/proc/cmdline``, ``/etc/mtab`` and
``/proc/swaps``. ``LABEL=``, ``UUID=`` and LVM names survive the switch and
get no proposal.

Bus-specific persistent names (SLES installs with
``/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part2``; also ``scsi-``,
``wwn-``, ``nvme-`` and ``/dev/disk/by-path/pci-...-ata-...``) are legacy
too: udev makes them from the emulated bus, and a virtio disk only ever shows
as ``by-id/virtio-<serial>`` (and only with a serial). QEMU's own IDE disks
carry their index in the serial, so they map like ``/dev/hdX``; on a live
guest any such link is read to its kernel name; the rest get no proposal
(the check asks for ``UUID=``/``LABEL=``, the plan writes ``UUID=`` when known).

The new names come from ``newnames.py``, what the live /dev says from
``livedisks.py``. Optical drives (``/dev/hdc`` mounted as iso9660/udf or on a
cdrom mount point, the target of ``/dev/cdrom``, or ``media`` = ``cdrom`` in the live proc/sys)
stay on the emulated controller: they keep their name (no ``proposed``) and
take no virtio letter from the real disks.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Iterable, Iterator
from typing import Optional

from ..facts import DiskRef, Unreadable
from ..targets import Target
from ._read import read_guest_text
from .devnames import classify_device, real_files
from .grubenv import GRUBENVS, grubenv_refs
from .grubplaces import GRUB2_CONFIGS, grub2_configs, is_esp_file
from .livedisks import optical_from_dev_links, optical_from_live, resolve_links, with_uuids
from .newnames import Disk, legacy_disk, propose_names

__all__ = [
    "detect_disk_refs",
    "initramfs_confs",
    "is_disk_config",
    "GRUB_LEGACY_CONFIGS",
    "DISK_CONFIG_FILES",
]

#: grub legacy's config under its two names; /etc/grub.conf is usually a link to the first.
GRUB_LEGACY_CONFIGS: tuple[str, ...] = (
    "/boot/grub/grub.conf",
    "/boot/grub/menu.lst",
    "/etc/grub.conf",
)
DEVICE_MAPS: tuple[str, ...] = ("/boot/grub/device.map", "/boot/grub2/device.map")
#: grub-mkconfig's input; RHEL 7's /etc/sysconfig/grub is usually a link to it.
DEFAULT_GRUBS: tuple[str, ...] = ("/etc/default/grub", "/etc/sysconfig/grub")
BLS_ENTRIES = "/boot/loader/entries"
#: initramfs-tools bakes RESUME= into every image it builds (initramfs-tools(7)).
#: mkinitramfs sources initramfs.conf, then each file in conf.d (the last
#: assignment wins); conf.d/resume is where the installer writes it.
INITRAMFS_CONF = "/etc/initramfs-tools/initramfs.conf"
INITRAMFS_CONF_DIR = "/etc/initramfs-tools/conf.d"
INITRAMFS_RESUME = f"{INITRAMFS_CONF_DIR}/resume"
#: The conf.d names mkinitramfs sources (its ``maybe_add_conf``): no editor
#: backups (``resume~``), no hidden files, no dpkg leftovers.
_INITRAMFS_CONF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: SUSE's perl-Bootloader keeps the kernel arguments here (DEFAULT_APPEND, ...).
SUSE_BOOTLOADER = "/etc/sysconfig/bootloader"
MDADM_CONFS: tuple[str, ...] = ("/etc/mdadm.conf", "/etc/mdadm/mdadm.conf")
DRACUT_CONF = "/etc/dracut.conf"
DRACUT_CONF_DIR = "/etc/dracut.conf.d"
KERNEL_CMDLINE = "/etc/kernel/cmdline"
#: Every file whose disk names a rename edits (the runtime ones aside): one the
#: plan cannot read may hold names it must change, so the plan refuses it
#: (``is_disk_config`` adds the ones found by folder: the ESP's, conf.d's).
#: (BLS entries and dracut's add_device files are read when found, not required:
#: dracut.conf is mostly about modules, and an unusable one only loses add_device.)
DISK_CONFIG_FILES: tuple[str, ...] = (
    "/etc/fstab",
    "/etc/crypttab",
    *GRUB_LEGACY_CONFIGS,
    *GRUB2_CONFIGS,
    *DEVICE_MAPS,
    *DEFAULT_GRUBS,
    KERNEL_CMDLINE,
    INITRAMFS_CONF,
    INITRAMFS_RESUME,
    SUSE_BOOTLOADER,
    *MDADM_CONFS,
    *GRUBENVS,
)
_KERNEL_ARGS = {"root": "root", "resume": "resume"}
#: File systems and mount points that mark an optical drive in fstab/mtab.
_OPTICAL_FS = frozenset({"iso9660", "udf"})
_OPTICAL_MOUNT = re.compile(r"cdrom|cdrw|dvd|/cd\d*$", re.IGNORECASE)
_DEFAULT_GRUB_KEYS = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")


log = logging.getLogger(__name__)


def detect_disk_refs(
    target: Target, problems: Optional[list[Unreadable]] = None
) -> tuple[DiskRef, ...]:
    """Every disk reference in the guest's boot and mount configuration.

    Files that are absent are skipped; files that cannot be used are noted in
    ``problems``. Legacy names get a ``proposed`` virtio name; the file
    system's UUID is asked of ``blkid`` only on the local, live system.
    On a live local or SSH guest, bus-specific ``/dev/disk/...`` links are
    read to the kernel name they point at (``../../sda2``), which names the
    disk for certain.
    """
    refs: list[DiskRef] = []
    optical: set[Disk] = set()
    refs += _fstab(target, problems, optical)
    refs += _crypttab(target, problems)
    for path in real_files(target, GRUB_LEGACY_CONFIGS):
        refs += _grub_conf(target, path, problems)
    for path in real_files(target, grub2_configs(target)):
        refs += _grub2_cfg(target, path, problems)
    for path in real_files(target, DEVICE_MAPS):
        refs += _device_map(target, problems, path)
    for path in real_files(target, DEFAULT_GRUBS):
        refs += _default_grub(target, problems, path)
    refs += _bls_entries(target, problems)
    refs += grubenv_refs(target, problems)
    refs += _args_file(target, KERNEL_CMDLINE, "kernel-cmdline", problems)
    refs += _initramfs_resume(target, problems)
    refs += _suse_bootloader(target, problems)
    for path in real_files(target, MDADM_CONFS):
        refs += _mdadm(target, path, problems)
    for path in _dracut_confs(target):
        refs += _dracut_conf(target, path, problems)
    if target.live:
        refs += _cmdline(target, problems)
        refs += _swaps(target, problems)
    refs += _mtab(target, problems, optical)
    optical |= optical_from_dev_links(target) | optical_from_live(target, refs)
    refs = propose_names(refs, optical, resolve_links(target, refs))
    return tuple(with_uuids(target, refs))


# ---- the files ---------------------------------------------------------------------


def _lines(
    target: Target, path: str, problems: Optional[list[Unreadable]]
) -> Iterator[tuple[int, str]]:
    """(1-based number, text) of each non-blank, non-comment line.

    Lines are split on ``\\n`` only, as the planner splits them
    (``plan.edits.split_lines``): ``str.splitlines`` also breaks at a form
    feed or a Latin-1 ``\\x85``, which would shift every later line number
    and leave those references unfixed.
    """
    text = read_guest_text(target, path, problems)
    for number, raw in enumerate((text or "").split("\n"), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _ref(file: str, line: int, device: str, context: str, **kw) -> Optional[DiskRef]:
    scheme = classify_device(device)
    if scheme is None:
        return None
    return DiskRef(file=file, line=line, device=device, scheme=scheme, context=context, **kw)


def _refs(file: str, line: int, devices: Iterable[str], context: str) -> list[DiskRef]:
    """The references among the ``devices`` one line names: those that name a disk."""
    found = (_ref(file, line, device, context) for device in devices)
    return [ref for ref in found if ref is not None]


def _arg_refs(
    file: str, line: int, tokens: Iterable[str], context: str, keyed: bool = False
) -> list[DiskRef]:
    """The ``root=``/``resume=`` references among one line's kernel arguments.

    ``keyed``: the context names the argument too (``grub-root``, ``grub-resume``).
    """
    refs = []
    for key, device in _kernel_args(tokens):
        refs += _refs(file, line, (device,), f"{context}-{key}" if keyed else context)
    return refs


def _table(
    target: Target,
    path: str,
    problems: Optional[list[Unreadable]],
    *,
    column: int,
    context: str,
    mountpoint_column: Optional[int] = None,
    optical: Optional[set[Disk]] = None,
) -> list[DiskRef]:
    """References in one column of a whitespace table (fstab, crypttab, mtab).

    With ``optical``, mount tables (device, mount point, type, ...) also add
    the legacy disks they mount as optical drives.
    """
    refs = []
    for number, line in _lines(target, path, problems):
        fields = line.split()
        if len(fields) <= column:
            continue
        mountpoint = None
        if mountpoint_column is not None and len(fields) > mountpoint_column:
            mountpoint = fields[mountpoint_column]
        ref = _ref(path, number, fields[column], context, mountpoint=mountpoint)
        if ref is None:
            continue
        refs.append(ref)
        disk = legacy_disk(ref.device)
        if optical is not None and disk is not None and len(fields) > 2:
            types = set(fields[2].lower().split(","))
            if types & _OPTICAL_FS or _OPTICAL_MOUNT.search(fields[1]):
                optical.add(disk)
    return refs


def _fstab(
    target: Target, problems: Optional[list[Unreadable]], optical: Optional[set[Disk]] = None
) -> list[DiskRef]:
    return _mounts(target, "/etc/fstab", "fstab", problems, optical)


def _mounts(
    target: Target,
    path: str,
    context: str,
    problems: Optional[list[Unreadable]],
    optical: Optional[set[Disk]],
) -> list[DiskRef]:
    """A table laid out as fstab(5) (device, mount point, type, ...): fstab and mtab."""
    return _table(
        target, path, problems, column=0, context=context, mountpoint_column=1, optical=optical
    )


def _crypttab(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    return _table(target, "/etc/crypttab", problems, column=1, context="crypttab")


def _mtab(
    target: Target, problems: Optional[list[Unreadable]], optical: Optional[set[Disk]] = None
) -> list[DiskRef]:
    """A real /etc/mtab only: the modern link to /proc/self/mounts is the kernel's."""
    if not target.exists("/etc/mtab"):
        return []
    try:
        real = target.resolve("/etc/mtab")
    except OSError:
        return []
    if real.startswith("/proc/"):
        return []
    return _mounts(target, "/etc/mtab", "mtab", problems, optical)


def _swaps(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    refs = _table(target, "/proc/swaps", problems, column=0, context="swaps")
    return [r for r in refs if r.device != "Filename"]


def _kernel_args(tokens: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(root|resume, device) for each ``root=``/``resume=`` argument."""
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key in _KERNEL_ARGS and value:
            yield _KERNEL_ARGS[key], value


def _command_args(
    target: Target,
    path: str,
    problems: Optional[list[Unreadable]],
    commands: tuple[str, ...],
    context: str,
) -> list[DiskRef]:
    """root=/resume= on the lines of a boot config that start with one of ``commands``."""
    refs = []
    for number, line in _lines(target, path, problems):
        tokens = line.split()
        if tokens[0] in commands:
            refs += _arg_refs(path, number, tokens[1:], context, keyed=True)
    return refs


def _grub_conf(target: Target, path: str, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """``kernel`` lines' root=/resume=; grub's own ``root (hd0,0)`` names no Linux device."""
    return _command_args(target, path, problems, ("kernel",), "grub")


_LINUX_CMDS = ("linux", "linux16", "linuxefi")


def _grub2_cfg(target: Target, path: str, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """root=/resume= on grub2's ``linux`` lines (grub-mkconfig writes ``root=/dev/sda1``
    when ``GRUB_DISABLE_LINUX_UUID=true`` or no UUID is known)."""
    return _command_args(target, path, problems, _LINUX_CMDS, "grub2")


def _bls_entries(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """root=/resume= in the ``options`` line of each BLS entry."""
    refs = []
    for name in sorted(target.listdir(BLS_ENTRIES)):
        if not name.endswith(".conf"):
            continue
        refs += _command_args(target, f"{BLS_ENTRIES}/{name}", problems, ("options",), "bls")
    return refs


def _args_file(
    target: Target, path: str, context: str, problems: Optional[list[Unreadable]]
) -> list[DiskRef]:
    """A file that is all kernel arguments (``/etc/kernel/cmdline``, read by kernel-install)."""
    refs = []
    for number, line in _lines(target, path, problems):
        refs += _arg_refs(path, number, line.split(), context)
    return refs


def initramfs_confs(target: Target) -> list[str]:
    """The files mkinitramfs sources, in its order: initramfs.conf, then conf.d's.

    conf.d's files are taken as its shell glob lists them (sorted), by the
    names ``maybe_add_conf`` accepts; a folder there is skipped, as it does.
    """
    dropins = [
        f"{INITRAMFS_CONF_DIR}/{n}"
        for n in sorted(target.listdir(INITRAMFS_CONF_DIR))
        if _sourced(n) and not target.is_dir(f"{INITRAMFS_CONF_DIR}/{n}")
    ]
    return [INITRAMFS_CONF, *dropins]


def _sourced(name: str) -> bool:
    return bool(_INITRAMFS_CONF_NAME.match(name)) and ".dpkg-" not in name


def is_disk_config(path: str) -> bool:
    """True for a file whose disk names a rename edits: one of
    ``DISK_CONFIG_FILES``, a conf.d file initramfs-tools reads, or grub2's
    grub.cfg or grubenv on the EFI system partition."""
    folder, _, name = path.rpartition("/")
    if path in DISK_CONFIG_FILES or is_esp_file(path):
        return True
    return folder == INITRAMFS_CONF_DIR and _sourced(name)


#: ``RESUME=/dev/sda2``, ``RESUME="/dev/sda2"``, with a comment after it or not.
_RESUME_RE = re.compile(r"""^RESUME=(["']?)([^\s"'#]+)\1(?:\s|#|;|$)""")


def _initramfs_resume(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """``RESUME=/dev/sda2`` in each file initramfs-tools reads: baked into the
    image; a stale one makes the initramfs wait ("Gave up waiting for
    suspend/resume device"). Only the shell assignment itself, not
    ``resume=`` elsewhere or a commented-out line."""
    refs = []
    for path in real_files(target, initramfs_confs(target)):
        for number, line in _lines(target, path, problems):
            m = _RESUME_RE.match(line)
            if m:
                refs += _refs(path, number, (m.group(2),), "initramfs-resume")
    return refs


def _suse_bootloader(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """root=/resume= in SUSE's ``*_APPEND`` kernel arguments."""
    refs = []
    for number, line in _lines(target, SUSE_BOOTLOADER, problems):
        key, sep, value = line.partition("=")
        if sep and key.strip().endswith("APPEND"):
            refs += _arg_refs(SUSE_BOOTLOADER, number, _shell_words(value), "suse-bootloader")
    return refs


def _shell_words(value: str) -> list[str]:
    try:
        words = shlex.split(value)
        return [t for word in words for t in word.split()]
    except ValueError:
        return value.strip("\"'").split()


def _mdadm(target: Target, path: str, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """Member disks on ``DEVICE`` lines and in ``devices=`` (mdadm.conf(5)).

    A line starting with white space continues the one before it.
    """
    refs = []
    text = read_guest_text(target, path, problems) or ""
    keyword = ""
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        words = line.split()
        if not raw[:1].isspace():
            keyword = words[0].upper()
            words = words[1:]
        devices: list[str] = []
        if keyword == "DEVICE":
            devices = words
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key.lower() == "devices":
                devices += [d for d in value.split(",") if d]
        refs += [r for r in _refs(path, number, devices, "mdadm") if r.scheme != "other"]
    return refs


def _dracut_confs(target: Target) -> list[str]:
    paths = [DRACUT_CONF] if target.is_file(DRACUT_CONF) else []
    paths += [
        f"{DRACUT_CONF_DIR}/{n}"
        for n in sorted(target.listdir(DRACUT_CONF_DIR))
        if n.endswith(".conf")
    ]
    return paths


_DRACUT_DEVICE_RE = re.compile(r"""^\s*add_device\+?=\s*(["']?)(.*?)\1\s*(?:#.*)?$""")


def _dracut_conf(target: Target, path: str, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    """``add_device+=" /dev/sda2 "``: dracut puts that device (a resume swap) in every image."""
    refs = []
    for number, line in _lines(target, path, problems):
        m = _DRACUT_DEVICE_RE.match(line)
        if m:
            refs += _refs(path, number, m.group(2).split(), "dracut-conf")
    return refs


def _device_map(
    target: Target, problems: Optional[list[Unreadable]], path: str = "/boot/grub/device.map"
) -> list[DiskRef]:
    """``(hd0) /dev/hda`` lines; floppies are not disks to rename."""
    refs = []
    for number, line in _lines(target, path, problems):
        match = re.match(r"^\((hd\d+)\)\s+(\S+)", line)
        if match:
            refs += _refs(path, number, (match.group(2),), "device.map")
    return refs


def _default_grub(
    target: Target, problems: Optional[list[Unreadable]], path: str = "/etc/default/grub"
) -> list[DiskRef]:
    refs = []
    for number, line in _lines(target, path, problems):
        key, sep, value = line.partition("=")
        if not sep or key.strip() not in _DEFAULT_GRUB_KEYS:
            continue
        try:
            words = shlex.split(value)
            tokens = [t for word in words for t in word.split()]
        except ValueError:
            tokens = value.strip("\"'").split()
        refs += _arg_refs(path, number, tokens, "default-grub")
    return refs


def _cmdline(target: Target, problems: Optional[list[Unreadable]]) -> list[DiskRef]:
    path = "/proc/cmdline"
    text = read_guest_text(target, path, problems, limit=64 * 1024) or ""
    return _arg_refs(path, 1, text.split(), "cmdline")
