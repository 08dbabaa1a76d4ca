"""What detection found out about a guest, as plain frozen data.

Facts carry no behaviour: ``detect`` fills them from a Target, ``checks`` and
``plan`` read them, and ``to_dict``/``from_dict`` give the JSON form printed by
``virtio-wizard detect --json`` (schema ``virtio-wizard/facts/1``, documented in
``docs/facts.md``). Keeping them inert is what lets the tests build Facts by
hand and the TUI show a saved report without a guest.

Why this file is long: it is the one schema of ``detect --json``; every record
of it sits beside the others and beside ``_build``, the one reader that turns
the JSON back into them, so a new field is added (and read back) in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = [
    "SCHEMA",
    "TargetInfo",
    "Distro",
    "Cpu",
    "Kernel",
    "PciDevice",
    "DiskRef",
    "Sysinit",
    "ModuleListEntry",
    "ModuleList",
    "Unreadable",
    "GuestLine",
    "Continuity",
    "BootEntry",
    "BootMenu",
    "RootStack",
    "Multipath",
    "Facts",
    "FactsError",
]

SCHEMA = "virtio-wizard/facts/1"

#: Values of ``Kernel.virtio``: how a kernel provides one driver.
MODULE, BUILTIN, MISSING = "module", "builtin", "missing"


class FactsError(ValueError):
    """A JSON document is not a valid facts document; ``context`` names the key."""

    def __init__(self, message: str, context: str = "") -> None:
        super().__init__(message)
        self.context = context


@dataclass(frozen=True)
class TargetInfo:
    """Which guest the facts describe.

    ``kind`` is ``local`` (the running system, root ``/``), ``root`` (an
    offline guest tree given with ``--root``) or ``ssh`` (a remote guest).
    """

    kind: str
    root: str
    #: True when a kernel of this guest is running and ``proc``/``sys`` are live.
    live: bool = False
    #: The Target keeps extended attributes (SELinux labels, ACLs) when it
    #: replaces a file; when not, an SELinux guest gets ``/.autorelabel``.
    keeps_xattrs: bool = False


@dataclass(frozen=True)
class Distro:
    """The guest's distribution, as the user would name it.

    ``id`` follows os-release (``rhel``, ``centos``, ``fedora``, ``sles``,
    ``opensuse``, ``debian``, ``ubuntu``, ``arch``, ``unknown``); ``version`` is
    what a sysadmin says (``"3.9"`` for "release 3 (Taroon Update 9)");
    ``source`` is the guest path the answer came from.
    """

    id: str = "unknown"
    name: str = ""
    version: str = ""
    family: str = "unknown"
    source: Optional[str] = None
    #: The release line exactly as read (after decoding), for the report.
    release_line: str = ""


@dataclass(frozen=True)
class Cpu:
    """Machine architecture, CPU vendor and the driver package that fits them.

    ``package_arch`` is the guide's choice (``ia32e`` on Intel 64, ``x86_64`` on
    AMD64, ``i686``/``athlon`` on 32-bit) or None when it cannot be known.
    ``kernel_variant`` is the installed kernel package's arch when it can be
    read (e.g. ``ia32e`` from a RHEL 3 kernel), else None: never a guess.
    """

    machine: Optional[str] = None
    machine_source: Optional[str] = None
    vendor: Optional[str] = None
    #: ``target`` (the guest's proc/cpuinfo) or ``host`` (the machine running the wizard).
    vendor_source: Optional[str] = None
    package_arch: Optional[str] = None
    kernel_variant: Optional[str] = None
    kernel_variant_source: Optional[str] = None


@dataclass(frozen=True)
class Kernel:
    """One installed kernel and what it (and its initrd) can do for virtio."""

    version: str
    running: bool = False
    image: Optional[str] = None
    initrd: Optional[str] = None
    #: gzip, xz, lzma, bzip2, zstd, lz4, lzo, cpio, early+gzip, ..., ext2, unknown
    initrd_format: Optional[str] = None
    #: Sorted virtio module names inside the initrd; () when readable and none
    #: are inside; None when the image cannot be read (or there is no image).
    initrd_virtio: Optional[tuple[str, ...]] = None
    #: Why the initrd could not be read, when it could not.
    initrd_error: Optional[str] = None
    #: Each of the five seed modules -> "module" | "builtin" | "missing".
    virtio: dict[str, str] = field(default_factory=dict)
    #: virtio_scsi the same way (virt-v2v adds it when present); not a module of the guide's list.
    virtio_scsi: str = MISSING
    #: The guide's package-made backup, ``/boot/initrd-KVER.img.virtio.orig``, if present.
    virtio_orig: Optional[str] = None
    #: Where the answers in ``virtio`` came from (config, modules dir, sysfs).
    virtio_sources: tuple[str, ...] = ()
    #: Modules answered ``module`` whose module tree has a ``modules.dep`` that
    #: does not list them (installed without depmod): modprobe cannot load them.
    virtio_unlisted: tuple[str, ...] = ()
    #: A Xen paravirtual-only kernel (CONFIG_X86_XEN / CONFIG_X86_64_XEN in its
    #: config, as libguestfs-common's linux_kernels.ml tests): it cannot run on
    #: KVM, so it is never prepared for virtio.
    xen_pv_only: bool = False

    def supports(self, module: str) -> bool:
        """True when the kernel has ``module`` as a module or built in."""
        return self.virtio.get(module, MISSING) != MISSING


@dataclass(frozen=True)
class PciDevice:
    """A PCI function seen in the guest's sysfs, classified for this wizard."""

    slot: str
    vendor: str
    device: str
    #: virtio-net, virtio-blk, virtio-scsi, virtio-balloon, virtio-console,
    #: virtio-rng, virtio-vsock, virtio-other, ide, ahci, e1000, rtl8139, other
    kind: str
    driver: Optional[str] = None
    subsystem_device: Optional[str] = None
    pci_class: Optional[str] = None


@dataclass(frozen=True)
class DiskRef:
    """One reference to a disk device in a guest file.

    ``scheme`` is ``legacy`` (a name that changes under virtio: /dev/hd*,
    /dev/sd*, bus-specific /dev/disk/by-id/ata-* or by-path names),
    ``virtio`` (/dev/vd*), ``label``, ``uuid``, ``lvm`` or ``other``;
    ``proposed`` is the virtio name it should become, or None when nothing
    must change or no safe mapping exists.
    """

    file: str
    line: int
    device: str
    scheme: str
    proposed: Optional[str] = None
    #: fstab, crypttab, grub-root, grub-resume, grub-kernel-root, device.map,
    #: default-grub, cmdline, swaps, mtab
    context: str = ""
    #: The mount point for fstab lines ("/", "/boot", "swap"), else None.
    mountpoint: Optional[str] = None
    #: The file system's UUID when it can be read (blkid), for "convert to UUID=".
    uuid: Optional[str] = None
    #: True when the vdX letter is a guess from the old name's order.
    guessed: bool = False


@dataclass(frozen=True)
class Sysinit:
    """The guide's hook point in ``/etc/rc.d/rc.sysinit``.

    ``hook_line`` is the 1-based line of the ``fi`` that closes the
    ``if [ -f /etc/rc.modules ]`` block; new lines go right after it. None when
    the file has no such block.
    """

    file: str = "/etc/rc.d/rc.sysinit"
    hook_line: Optional[int] = None
    #: modprobe lines for virtio modules already present after the hook, in order.
    modprobes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModuleListEntry:
    """A module named at one line of a module list."""

    line: int
    module: str


@dataclass(frozen=True)
class ModuleList:
    """An existing list of modules to load: rc.sysinit, /etc/modules, a dracut
    conf, ... ``kind`` says which syntax it was read with."""

    file: str
    kind: str
    entries: tuple[ModuleListEntry, ...] = ()


@dataclass(frozen=True)
class Unreadable:
    """A guest file detection could not use (binary, malformed, not a regular
    file, too large); detection goes on without it."""

    path: str
    reason: str


@dataclass(frozen=True)
class GuestLine:
    """One line of a guest file that matters, with what it says (a MAC, a tty, a value)."""

    file: str
    line: int
    value: str
    #: What the line is about: an interface name (eth0), a variable, a tty.
    about: str = ""


@dataclass(frozen=True)
class Continuity:
    """What decides whether the guest keeps its network and stops being a Xen guest.

    Red Hat's kudzu reconfigures a new NIC at first boot; ``HWADDR=`` and
    udev's persistent-net rules pin interface names to MACs; a guest that came
    from Xen keeps ``DEFAULTKERNEL=kernel-xen`` and Xen consoles (virt-v2v).
    """

    #: kudzu is installed and started in a runlevel (``/etc/rc.d/rc[35].d/S*kudzu``).
    kudzu: bool = False
    #: ``HWADDR=`` in ifcfg-eth*, ``ATTR{address}==`` in 70-persistent-net.rules.
    pinned_macs: tuple[GuestLine, ...] = ()
    #: ``DEFAULTKERNEL=`` in /etc/sysconfig/kernel (value: the package name).
    default_kernel_pkg: Optional[GuestLine] = None
    #: xvc0/hvc0 consoles in /etc/inittab, /etc/securetty and grub's kernel lines.
    xen_consoles: tuple[GuestLine, ...] = ()


@dataclass(frozen=True)
class BootEntry:
    """One entry of the guest's boot menu.

    ``kernel`` and ``initrd`` are guest paths (a path grub reads from a
    separate ``/boot`` partition is given under ``/boot``); ``version`` is the
    installed kernel the entry boots, None when none matches; ``index`` is
    where the boot loader counts it (``"2"``, ``"1>0"`` inside a submenu).
    """

    title: str
    kernel: Optional[str] = None
    initrd: Optional[str] = None
    #: The kernel arguments as the boot loader passes them.
    args: str = ""
    version: Optional[str] = None
    #: grub2's menuentry id, or the BLS entry's file name without ``.conf``.
    id: Optional[str] = None
    index: str = ""
    #: The entry the boot loader boots next.
    default: bool = False
    #: grub legacy's ``fallback`` entry.
    fallback: bool = False


@dataclass(frozen=True)
class BootMenu:
    """The guest's boot loader configuration as far as it picks a kernel.

    ``loader`` is ``grub-legacy``, ``grub2`` or ``bls``; ``config`` the file
    (or folder) read; ``default_from`` says how the default was found
    (``"default saved; /boot/grub/default holds 1"``); ``default_problem``
    says why none could be, when so.
    """

    loader: str
    config: str
    boot_entries: tuple[BootEntry, ...] = ()
    default_from: str = ""
    default_problem: Optional[str] = None

    def default_entry(self) -> Optional[BootEntry]:
        """The entry booted next, or None when it cannot be told."""
        return next((e for e in self.boot_entries if e.default), None)


@dataclass(frozen=True)
class RootStack:
    """What the root file system sits on: what an initrd must set up to mount it.

    Read from ``/etc/fstab`` (the ``/`` line), ``/etc/crypttab``,
    ``/etc/mdadm.conf`` and LVM's metadata backups (``/etc/lvm/backup/VG``,
    whose ``device =`` hints name the physical volumes). ``lvm``, ``md`` and
    ``crypt`` are True only on evidence; a root named by ``UUID=`` tells its
    file system type, not what lies below.
    """

    #: The ``/`` line's device as written (``/dev/mapper/vg-root``, ``UUID=...``).
    device: Optional[str] = None
    fstype: Optional[str] = None
    lvm: bool = False
    md: bool = False
    #: RAID levels of the arrays under the root (``raid1``), from mdadm.conf's ARRAY lines.
    md_levels: tuple[str, ...] = ()
    crypt: bool = False
    #: One line per answer: what said so (``/etc/lvm/backup/vg: PV /dev/md0``).
    evidence: tuple[str, ...] = ()
    #: Kernel version -> {module: "module" | "builtin" | "missing"} for the
    #: modules the root needs (file system, dm_mod, dm_crypt, md_mod, raid*).
    kernel_modules: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Multipath:
    """device-mapper multipath as configured in the guest (multipath.conf(5)).

    ``on_multipath`` lists the fstab lines (and the root's LVM physical
    volumes) whose device is a multipath map: ``/dev/mapper/mpathX``, a
    ``bindings`` alias or a ``multipath.conf`` alias (``about`` holds the mount point).
    """

    #: ``/etc/multipath/bindings``: alias -> WWID (value ``alias wwid``).
    bindings: tuple[GuestLine, ...] = ()
    #: WWIDs in ``/etc/multipath/wwids`` (the disks multipathd claims).
    wwids: tuple[str, ...] = ()
    #: ``alias`` names of ``multipaths`` sections in ``/etc/multipath.conf``.
    aliases: tuple[str, ...] = ()
    #: ``blacklist`` entries of multipath.conf (``devnode ^vd[a-z]``, ``wwid *``).
    blacklist: tuple[str, ...] = ()
    on_multipath: tuple[GuestLine, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Everything detection knows about one guest."""

    target: TargetInfo
    distro: Distro = field(default_factory=Distro)
    cpu: Cpu = field(default_factory=Cpu)
    kernels: tuple[Kernel, ...] = ()
    #: The running kernel's version, None on an offline root.
    running_kernel: Optional[str] = None
    #: The guide's rule: RHEL 3.9+/4.8+/5.3+/6+, or a kernel >= 2.6.27.
    drivers_auto: bool = False
    drivers_auto_reason: str = ""
    #: Names from proc/modules; None when there is no running kernel to ask.
    loaded_modules: Optional[tuple[str, ...]] = None
    #: Drivers registered on the virtio bus (sys/bus/virtio/drivers), live only.
    virtio_bus_drivers: tuple[str, ...] = ()
    devices: tuple[PciDevice, ...] = ()
    disk_refs: tuple[DiskRef, ...] = ()
    #: mkinitrd, dracut, suse-mkinitrd, initramfs-tools, mkinitcpio or None.
    initrd_tool: Optional[str] = None
    #: Extra detail of the initrd tool's setup, e.g. {"MODULES": "dep"}.
    initrd_tool_config: dict[str, str] = field(default_factory=dict)
    sysinit: Optional[Sysinit] = None
    #: What loads modules at boot on this guest, from the files present:
    #: ``rc.modules`` (rc.sysinit's /etc/rc.modules block), ``sysconfig-modules``
    #: (rc.sysinit runs /etc/sysconfig/modules/*.modules), ``systemd-modules-load``,
    #: ``etc-modules`` (Debian's /etc/modules reader: kmod/module-init-tools
    #: init script or systemd's modules-load.d/modules.conf link).
    module_loaders: tuple[str, ...] = ()
    module_lists: tuple[ModuleList, ...] = ()
    continuity: Continuity = field(default_factory=Continuity)
    #: The boot menu (grub legacy, grub2 or BLS entries); None when none was found.
    boot: Optional[BootMenu] = None
    #: ``SELINUX=`` of /etc/selinux/config (enforcing, permissive, disabled);
    #: None when the guest has no SELinux config.
    selinux: Optional[str] = None
    #: What the root sits on (file system, LVM, MD, crypt); None when no fstab root line.
    root_stack: Optional[RootStack] = None
    #: multipath configuration; None when the guest has none.
    multipath: Optional[Multipath] = None
    unreadable: tuple[Unreadable, ...] = ()
    #: Set when the root is not a Linux guest this wizard can help (e.g. Windows).
    not_linux: Optional[str] = None
    schema: str = SCHEMA

    # ---- convenience (derived, never stored) ------------------------------

    def kernel(self, version: Optional[str]) -> Optional[Kernel]:
        """The installed kernel with this version, or None."""
        for k in self.kernels:
            if k.version == version:
                return k
        return None

    def default_kernel(self) -> Optional[Kernel]:
        """The kernel to prepare when the user names none: the one booted next.

        The boot loader's default entry when it boots an installed kernel that
        can run on KVM (not a Xen PV-only kernel); else the running kernel;
        else the newest installed non-Xen kernel (``kernels`` is newest first,
        by the guest's own version rule, ties by name: never by chance).
        """
        from .knowledge import is_xen_kernel

        # Xen paravirtual kernels never get virtio: left out while another exists.
        usable = [
            k for k in self.kernels if not (k.xen_pv_only or is_xen_kernel(k.version))
        ] or list(self.kernels)
        entry = self.boot.default_entry() if self.boot is not None else None
        if entry is not None:
            booted = self.kernel(entry.version)
            if booted is not None and booted in usable:
                return booted
        running = self.kernel(self.running_kernel)
        if running is not None and running in usable:
            return running
        if not usable:
            return None
        from .vercmp import sort_newest_first

        return sort_newest_first(usable, self.distro.family, key=lambda k: k.version)[0]

    def boot_kernels(self) -> tuple[Kernel, ...]:
        """Installed kernels with a boot entry, in the boot menu's order, each once."""
        if self.boot is None:
            return ()
        out: list[Kernel] = []
        for entry in self.boot.boot_entries:
            k = self.kernel(entry.version)
            if k is not None and k not in out:
                out.append(k)
        return tuple(out)

    # ---- JSON ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema ``virtio-wizard/facts/1``)."""
        d = _plain(self)
        # Put the schema first, as readers expect.
        return {"schema": d.pop("schema"), **d}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Facts:
        """Rebuild Facts from ``to_dict`` output; raises FactsError when invalid."""
        if not isinstance(data, dict):
            raise FactsError("facts must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise FactsError(f"not a {SCHEMA} document", "schema")
        try:
            return _build(cls, data)
        except (TypeError, KeyError, ValueError) as exc:
            raise FactsError(f"invalid facts: {exc}") from exc


def _plain(value: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, recursively (JSON-ready)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_NESTED: dict[str, Any] = {}


def _build(cls: Any, data: dict[str, Any]) -> Any:
    """Inverse of ``_plain`` for the Facts types (only known keys are used)."""
    if not _NESTED:
        _NESTED.update(
            {
                "target": TargetInfo,
                "distro": Distro,
                "cpu": Cpu,
                "kernels": (Kernel,),
                "devices": (PciDevice,),
                "disk_refs": (DiskRef,),
                "sysinit": Sysinit,
                "module_lists": (ModuleList,),
                "entries": (ModuleListEntry,),
                "unreadable": (Unreadable,),
                "continuity": Continuity,
                "pinned_macs": (GuestLine,),
                "default_kernel_pkg": GuestLine,
                "xen_consoles": (GuestLine,),
                "boot": BootMenu,
                "boot_entries": (BootEntry,),
                "root_stack": RootStack,
                "multipath": Multipath,
                "bindings": (GuestLine,),
                "on_multipath": (GuestLine,),
            }
        )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        nested = _NESTED.get(f.name)
        if value is None:
            kwargs[f.name] = None
        elif isinstance(nested, tuple):
            kwargs[f.name] = tuple(_build(nested[0], v) for v in value)
        elif nested is not None:
            kwargs[f.name] = _build(nested, value)
        elif isinstance(value, list):
            kwargs[f.name] = tuple(value)
        else:
            kwargs[f.name] = value
    return cls(**kwargs)
