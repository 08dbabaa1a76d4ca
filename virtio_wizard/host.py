"""The hypervisor half: the VM definition changed to virtio, and the steps around it.

Preparing the guest is half the job; the VM must then present its disks and
NICs as virtio, and that is where guests are lost: a reboot does not apply a
changed bus (it needs a power-off and a start), q35 hides legacy-only virtio
devices from old kernels, a new MAC renames the interface. This module turns
a libvirt domain XML (``virsh dumpxml NAME``) into the virtio one, for
``virtio-wizard host``; ``host_steps.py`` says the steps around it (also for
the TUI's Done screen and the report).

The XML is edited as text, not re-serialised (``xmltext.py``): comments, the
XML declaration, attribute order and quoting, namespaced elements
(``qemu:commandline``) and whitespace stay byte for byte. The one re-written
piece: an interface without ``<model>`` gets a new ``<model type='virtio'/>``
line, indented like its ``<mac>`` line.

No Textual. The transform is pure (Facts in, text out); ``guest_view_of``
alone reads the guest, through its Target (the journal's choices, the NICs'
MACs).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from .detect.newnames import disk_letters
from .knowledge import LEGACY_DISK_RE, legacy_only_virtio
from .xmltext import ByteEdits, Element, XMLTextError, parse

if TYPE_CHECKING:
    from .facts import Facts
    from .targets import Target

__all__ = [
    "DomainXMLError",
    "DomainRefused",
    "GuestView",
    "DiskChange",
    "NicChange",
    "HostResult",
    "guest_view",
    "guest_view_of",
    "transform_domain",
    "unified_diff",
    "KVM_TYPES",
]

#: Domain types run by QEMU: ``kvm``, and ``qemu`` (the same driver without
#: KVM acceleration). Xen, LXC, VMware, Hyper-V, ... have no virtio to move to.
KVM_TYPES = ("kvm", "qemu")
#: Buses an emulated system disk sits on; ``usb``/``sd``/``fdc`` disks stay.
EMULATED_BUSES = ("ide", "sata", "scsi")
#: Disk children libvirt accepts only on IDE/SCSI disks (domaincommon.rng,
#: qemu_validate.c): a virtio disk with them is refused at define time.
SCSI_ONLY_CHILDREN = ("wwn", "vendor", "product")
#: Disk references of the running state, not files the next boot reads.
_RUNTIME_CONTEXTS = ("cmdline", "swaps", "mtab")
EMULATED_NICS = ("e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet", "i82551", "i82557b")


class DomainXMLError(ValueError):
    """The input is not a libvirt domain XML we can read (exit 2)."""


class DomainRefused(ValueError):
    """A domain the wizard will not change (not run by QEMU/KVM; exit 3)."""


@dataclass(frozen=True)
class GuestView:
    """What the guest's facts say the host half needs.

    ``disk_map`` maps each old kernel disk name (``hda``) to the virtio name
    the plan's disk-name edits assumed (``vda``); ``legacy_only`` is None when
    the guest's kernel is unknown. ``block``/``net``/``boot_disk`` are the
    plan's choices (from the journal) or the defaults.
    """

    disk_map: dict[str, str] = field(default_factory=dict)
    guessed: bool = False
    legacy_only: Optional[bool] = None
    legacy_reason: str = "no guest facts were given"
    block: bool = True
    net: bool = True
    boot_disk: str = "virtio"
    #: (name, MAC) of the guest's NICs as the guest knows them, when known.
    nics: tuple[tuple[str, str], ...] = ()
    demo: bool = False
    #: Guest files whose disk names hold on one bus only (/dev/hdX to be
    #: rewritten, or /dev/vdX already written); None when no facts were given.
    bus_named_files: Optional[tuple[str, ...]] = None
    #: (image, backup) of each initrd the plan rebuilt: the old one to boot from grub.
    initrd_backups: tuple[tuple[str, str], ...] = ()


def guest_view(
    facts: Optional[Facts],
    plan: Optional[dict] = None,
    nics: tuple[tuple[str, str], ...] = (),
    demo: bool = False,
) -> GuestView:
    """The host half's view of a guest: its disk mapping and driver generation.

    ``plan`` is a plan document (``Plan.to_dict()``, as a journal keeps it)
    whose choices say which drivers move and whether the boot disk stays.
    """
    choices = (plan or {}).get("choices") or {}
    drivers = choices.get("drivers")
    block = choices.get("block", True) if drivers is None else "block" in drivers
    net = choices.get("net", True) if drivers is None else "net" in drivers
    boot_disk = choices.get("boot_disk") or "virtio"
    backups = tuple(
        (step["path"], step["to"])
        for step in (plan or {}).get("steps") or ()
        if step.get("kind") == "backup"
        and step.get("path")
        and step.get("to")
        and "/boot/" in step["path"]
    )
    if facts is None:
        return GuestView(
            block=block, net=net, boot_disk=boot_disk, nics=nics, demo=demo, initrd_backups=backups
        )
    disk_map: dict[str, str] = {}
    guessed = False
    files: list[str] = []
    # Old names count only where the plan rewrites them (not with --keep-disk-names
    # or a boot disk kept emulated); names already /dev/vdX always count.
    rewrites = choices.get("fix_disk_names") is not False and boot_disk != "emulated" and block
    for ref in facts.disk_refs:
        legacy = ref.scheme == "legacy" and bool(ref.proposed) and rewrites
        bus_named = legacy or ref.scheme == "virtio"
        if bus_named and ref.context not in _RUNTIME_CONTEXTS and ref.file not in files:
            files.append(ref.file)
        if ref.scheme != "legacy" or not ref.proposed:
            continue
        old = LEGACY_DISK_RE.match(ref.device)
        new = re.match(r"^/dev/(vd[a-z]+)\d*$", ref.proposed)
        if old and new:
            disk_map.setdefault(old.group(1) + old.group(2), new.group(1))
            guessed = guessed or ref.guessed
    kernel = facts.default_kernel()
    legacy, why = legacy_only_virtio(
        facts.distro.id, facts.distro.version, kernel.version if kernel else None
    )
    return GuestView(
        disk_map=disk_map,
        guessed=guessed,
        legacy_only=legacy,
        legacy_reason=why,
        block=block,
        net=net,
        boot_disk=boot_disk,
        nics=nics,
        demo=demo,
        bus_named_files=tuple(files),
        initrd_backups=backups,
    )


def guest_view_of(
    target: Target, facts: Optional[Facts] = None, plan: Optional[dict] = None
) -> GuestView:
    """``guest_view`` with what only the guest can say: its NICs' MACs and,
    when no ``plan`` is given, the choices of its last apply (the journal).

    A running guest's MACs come from ``/sys/class/net``, else from the names
    its network configuration pins (ifcfg ``HWADDR=``, udev rules).
    """
    from .detect.nics import expected_nics, live_nics
    from .journal import latest_journal

    if plan is None:
        try:
            journal = latest_journal(target)
        except OSError:
            journal = None
        plan = journal.get("plan") if journal and not journal.get("undone") else None
    nics: list[tuple[str, str]] = []
    if getattr(target, "live", False) and not getattr(target, "temporary", False):
        nics = [(n.name, n.mac) for n in live_nics(target) if n.mac]
    if not nics:
        nics = [(n.name, n.mac) for n in expected_nics(target) if n.mac]
    demo = bool(getattr(target, "temporary", False))
    return guest_view(facts, plan, tuple(nics), demo=demo)


# ---- the transform --------------------------------------------------------------


@dataclass(frozen=True)
class DiskChange:
    """One disk: its old and new target and bus, its image and format."""

    old_target: str
    new_target: str
    old_bus: str
    source: Optional[str]
    fmt: Optional[str]
    model: Optional[str] = None
    #: False when the disk stays on its bus (the boot disk with --boot-disk emulated).
    moved: bool = True


@dataclass(frozen=True)
class NicChange:
    """One NIC: its MAC (kept) and its model before and after."""

    mac: Optional[str]
    old_model: Optional[str]
    new_model: str
    source: str = ""


@dataclass
class HostResult:
    """The new domain XML and what changed, in words."""

    name: str
    machine: str
    new_text: str
    old_text: str
    disks: list[DiskChange] = field(default_factory=list)
    nics: list[NicChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transitional: bool = False

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text


def _disk_order(name: str) -> tuple[int, int, str]:
    """Old names in the order detection maps them: hd* before sd*, then by letters."""
    family = {"hd": 0, "sd": 1, "xvd": 2}
    match = re.match(r"^(hd|sd|xvd)([a-z]+)$", name)
    if not match:
        return (9, len(name), name)
    return (family[match.group(1)], len(match.group(2)), match.group(2))


def _new_targets(old_names: list[str], view: GuestView, notes: list[str]) -> dict[str, str]:
    """Each old target -> its vdX name: the guest's mapping first, the rest after it."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for old in old_names:
        new = view.disk_map.get(old)
        if new and new not in used:
            mapping[old] = new
            used.add(new)
    unknown = [n for n in view.disk_map if n not in old_names]
    if unknown:
        notes.append(
            "the guest's files name "
            + ", ".join(f"/dev/{n}" for n in sorted(unknown))
            + " but the domain has no such disk: check that this is the right domain"
        )
    index = 0
    for old in sorted((n for n in old_names if n not in mapping), key=_disk_order):
        while "vd" + disk_letters(index) in used:
            index += 1
        mapping[old] = "vd" + disk_letters(index)
        used.add(mapping[old])
    return mapping


def _boot_disk(disks: list[Element], os_node: Optional[Element]) -> Optional[Element]:
    """The disk the VM boots from: the lowest ``<boot order>``, else the first disk."""
    ordered = []
    for disk in disks:
        boot = disk.find("boot")
        if boot is not None and boot.attrs.get("order", "").isdigit():
            ordered.append((int(boot.attrs["order"]), disk))
    if ordered:
        return min(ordered, key=lambda t: t[0])[1]
    return disks[0] if disks else None


def transform_domain(text: bytes, view: GuestView) -> HostResult:
    """The domain XML with the system disks and NICs on virtio.

    Raises DomainXMLError (malformed, not a ``<domain>``) or DomainRefused
    (not a QEMU/KVM domain). The input bytes are never changed in place.
    """
    try:
        root = parse(text)
    except XMLTextError as exc:
        raise DomainXMLError(str(exc)) from exc
    name = _kvm_domain_name(root)
    os_node = root.find("os")
    os_type = os_node.find("type") if os_node is not None else None
    machine = os_type.attrs.get("machine", "") if os_type is not None else ""
    notes: list[str] = []
    transitional = _transitional("q35" in machine, view, notes)
    result = HostResult(
        name, machine, text.decode("utf-8", "replace"), "", transitional=transitional
    )
    result.old_text = result.new_text
    devices = root.find("devices")
    if devices is None:
        notes.append("the domain has no <devices>: nothing to change")
        result.notes = notes
        return result
    edits = ByteEdits(text)
    model = "virtio-transitional" if transitional else None
    if view.block:
        _move_disks(devices, os_node, view, model, edits, result, notes)
    if view.net:
        for iface in devices.findall("interface"):
            nic = _move_nic(iface, model, edits, notes)
            if nic is not None:
                result.nics.append(nic)
    result.new_text = edits.result().decode("utf-8", "replace")
    result.notes = notes
    return result


def _kvm_domain_name(root: Element) -> str:
    """The domain's name, once it is known to be a domain QEMU/KVM runs (else it raises)."""
    if root.tag != "domain":
        raise DomainXMLError(f"the root element is <{root.tag}>, not <domain>: not a domain XML")
    kind = root.attrs.get("type", "")
    name_node = root.find("name")
    name = (name_node.text.strip() if name_node is not None else "") or "GUEST"
    if kind not in KVM_TYPES:
        raise DomainRefused(
            f"domain {name} is of type '{kind or '?'}', not kvm or qemu: virtio disks and NICs "
            "are a QEMU/KVM feature; nothing was written"
        )
    return name


def _transitional(q35: bool, view: GuestView, notes: list[str]) -> bool:
    """Whether the devices must be virtio-transitional (q35 unless the guest is known modern)."""
    transitional = bool(q35 and view.legacy_only is not False)
    if q35 and view.legacy_only is None:
        notes.append(
            "machine type q35 and the guest's kernel is not known: virtio-transitional is used, "
            "which legacy (pre-virtio-1.0) and modern drivers both see"
        )
    elif transitional:
        notes.append(
            f"machine type q35 and {view.legacy_reason}: virtio-transitional, because q35 puts "
            "model='virtio' devices on PCIe ports where the legacy interface is off"
        )
    return transitional


def _move_disks(
    devices: Element,
    os_node: Optional[Element],
    view: GuestView,
    model: Optional[str],
    edits: ByteEdits,
    result: HostResult,
    notes: list[str],
) -> None:
    """Every disk on an emulated bus onto virtio, but the boot disk where it must stay."""
    disks = [d for d in devices.findall("disk") if d.attrs.get("device", "disk") == "disk"]
    movable = []
    for disk in disks:
        target = disk.find("target")
        if target is not None and target.attrs.get("bus", "") in EMULATED_BUSES:
            movable.append(disk)
    keep: Optional[Element] = None
    if view.boot_disk == "emulated":
        keep = _boot_disk(movable, os_node)
    olds = [d.find("target").attrs.get("dev", "") for d in movable if d is not keep]
    mapping = _new_targets(olds, view, notes)
    for disk in movable:
        target = disk.find("target")
        old = target.attrs.get("dev", "")
        bus = target.attrs.get("bus", "")
        source = disk.find("source")
        driver = disk.find("driver")
        path = None
        if source is not None:
            path = source.attrs.get("file") or source.attrs.get("dev") or source.attrs.get("name")
        fmt = driver.attrs.get("type") if driver is not None else None
        if disk is keep:
            result.disks.append(DiskChange(old, old, bus, path, fmt, moved=False))
            continue
        _move_disk(disk, target, mapping[old], model, edits, notes)
        result.disks.append(DiskChange(old, mapping[old], bus, path, fmt, model))


def _move_disk(
    disk: Element,
    target: Element,
    new: str,
    model: Optional[str],
    edits: ByteEdits,
    notes: list[str],
) -> None:
    """One disk's edits: its new name on bus virtio, without what only IDE/SCSI allow."""
    old = target.attrs.get("dev", "")
    edits.set_attr(target, "dev", new)
    edits.set_attr(target, "bus", "virtio")
    address = disk.find("address")
    if address is not None:
        edits.remove(address)
    for child in disk.children:
        if child.tag in SCSI_ONLY_CHILDREN:
            edits.remove(child)
            notes.append(
                f"<{child.tag}> of disk {old} removed: libvirt allows it on IDE/SCSI disks only"
            )
    if model:
        edits.set_attr(disk, "model", model)


def _move_nic(
    iface: Element, model: Optional[str], edits: ByteEdits, notes: list[str]
) -> Optional[NicChange]:
    """One interface onto virtio (None when it is virtio already or a passed-through device)."""
    mac_node = iface.find("mac")
    mac = mac_node.attrs.get("address") if mac_node is not None else None
    model_node = iface.find("model")
    old_model = model_node.attrs.get("type") if model_node is not None else None
    if old_model is not None and old_model.startswith("virtio"):
        return None
    if iface.attrs.get("type") == "hostdev":
        return None
    new_model = model or "virtio"
    if model_node is not None:
        edits.set_attr(model_node, "type", new_model)
    elif mac_node is not None:
        edits.insert_line_after(mac_node, f"<model type='{new_model}'/>")
    else:
        edits.replace(iface.tag_end, iface.tag_end, f"<model type='{new_model}'/>".encode())
    if mac is None:
        notes.append(
            "an interface has no <mac>: libvirt will make a new one, and the guest may "
            "rename the NIC (70-persistent-net.rules, HWADDR=); copy the MAC the guest "
            "has now (ip link) into a <mac address=.../> line"
        )
    address = iface.find("address")
    if model and address is not None:
        # A transitional device needs a conventional PCI slot; the old
        # address is likely on a PCIe root port. libvirt picks a new one.
        edits.remove(address)
    source = iface.find("source")
    where = ""
    if source is not None:
        where = next(
            (source.attrs[k] for k in ("bridge", "network", "dev") if k in source.attrs), ""
        )
    return NicChange(mac, old_model, new_model, where)


def unified_diff(old: str, new: str, name: str) -> str:
    """The change as a unified diff (what ``host`` prints)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{name} (as it is)",
        tofile=f"{name} (virtio)",
    )
    return "".join(lines)
