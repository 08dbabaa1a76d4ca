"""The hypervisor half: the VM definition changed to virtio, and the steps around it.

Preparing the guest is half the job; the VM must then present its disks and
NICs as virtio, and that is where guests are lost: a reboot does not apply a
changed bus (it needs a power-off and a start), q35 hides legacy-only virtio
devices from old kernels, a new MAC renames the interface. This module turns
a libvirt domain XML (``virsh dumpxml NAME``) into the virtio one and says the
steps, for ``virtio-wizard host``, the TUI's Done screen and the report.

The XML is edited as text, not re-serialised: expat (stdlib) gives the byte
offset of every element, and only the bytes that must change are replaced
(an attribute value inside its own quotes, an element removed with its line,
an attribute added before a tag's ``>``). So comments, the XML declaration,
attribute order and quoting, namespaced elements (``qemu:commandline``) and
whitespace stay byte for byte, which ``xml.etree`` cannot promise (it drops
the declaration, rewrites quotes and renames namespace prefixes). The one
re-written piece: an interface without ``<model>`` gets a new
``<model type='virtio'/>`` line, indented like its ``<mac>`` line.

No Textual. The transform and the steps are pure (Facts in, text out);
``guest_view_of`` alone reads the guest, through its Target (the journal's
choices, the NICs' MACs), for ``host``, the Done screen and the report.
"""

from __future__ import annotations

import difflib
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from .knowledge import LEGACY_DISK_RE, legacy_only_virtio

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
    "after_switch",
    "transform_domain",
    "unified_diff",
    "host_steps",
    "generic_steps",
    "way_back",
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
    if getattr(target, "live", False) and getattr(target, "kind", "") != "demo":
        nics = [(n.name, n.mac) for n in live_nics(target) if n.mac]
    if not nics:
        nics = [(n.name, n.mac) for n in expected_nics(target) if n.mac]
    demo = getattr(target, "kind", "") == "demo"
    return guest_view(facts, plan, tuple(nics), demo=demo)


def after_switch(
    target: Target, facts: Optional[Facts], plan: Optional[dict] = None, name: str = "VM"
) -> dict[str, list[str]]:
    """The host steps and the way back for a prepared guest (Done screen, report)."""
    view = guest_view_of(target, facts, plan)
    return {"host_steps": host_steps(view, None, name), "way_back": way_back(view)}


# ---- reading the XML with byte offsets -----------------------------------------


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    start: int
    #: Offset just after the start tag's ``>``.
    tag_end: int = 0
    #: Offset just after the element (its end tag, or the start tag if empty).
    end: int = 0
    parent: Optional[_Node] = None
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Optional[_Node]:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]


def _tag_end(data: bytes, start: int) -> int:
    """Offset after the ``>`` closing the tag that starts at ``start`` (quotes respected)."""
    quote = 0
    for i in range(start, len(data)):
        ch = data[i]
        if quote:
            if ch == quote:
                quote = 0
        elif ch in (0x22, 0x27):
            quote = ch
        elif ch == 0x3E:
            return i + 1
    raise DomainXMLError("unterminated tag")


def _parse(data: bytes) -> _Node:
    """Elements with their byte ranges; DomainXMLError with line and column when malformed."""
    parser = xml.parsers.expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        pos = parser.CurrentByteIndex
        node = _Node(name, dict(attrs), pos, _tag_end(data, pos))
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(name: str) -> None:
        node = stack.pop()
        pos = parser.CurrentByteIndex
        if data[node.tag_end - 2 : node.tag_end] == b"/>":
            node.end = node.tag_end
        else:
            node.end = _tag_end(data, pos)

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise DomainXMLError(f"not well-formed XML: {exc}") from exc
    if not root:
        raise DomainXMLError("no element in the file")
    return root[0]


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


class _Edits:
    """Byte-range replacements, applied back to front."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.items: list[tuple[int, int, bytes]] = []

    def replace(self, start: int, end: int, new: bytes) -> None:
        self.items.append((start, end, new))

    def set_attr(self, node: _Node, name: str, value: str) -> None:
        """Change an attribute's value inside its quotes, or add it before ``>``/``/>``."""
        tag = self.data[node.start : node.tag_end]
        match = re.search(rb"\s" + re.escape(name.encode()) + rb"\s*=\s*(['\"])(.*?)\1", tag)
        if match:
            self.replace(node.start + match.start(2), node.start + match.end(2), value.encode())
            return
        close = node.tag_end - (2 if tag.endswith(b"/>") else 1)
        quote = b'"' if b'="' in tag and b"='" not in tag else b"'"
        self.replace(close, close, b" " + name.encode() + b"=" + quote + value.encode() + quote)

    def remove(self, node: _Node) -> None:
        """Remove an element; with its line when it stands alone on it."""
        start, end = node.start, node.end
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", end)
        line_end = len(self.data) if line_end < 0 else line_end
        if not self.data[line_start:start].strip() and not self.data[end:line_end].strip():
            start, end = line_start, min(line_end + 1, len(self.data))
        self.replace(start, end, b"")

    def insert_line_after(self, node: _Node, text: str) -> None:
        """A new line after ``node``'s line, indented as that line is."""
        line_start = self.data.rfind(b"\n", 0, node.start) + 1
        indent = self.data[line_start : node.start]
        if indent.strip():
            indent = b""
        self.replace(node.end, node.end, b"\n" + indent + text.encode())

    def result(self) -> bytes:
        out = self.data
        for start, end, new in sorted(self.items, key=lambda t: (t[0], t[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out


def _letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (the kernel's disk naming)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(ord("a") + rem) + out
    return out


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
        while "vd" + _letters(index) in used:
            index += 1
        mapping[old] = "vd" + _letters(index)
        used.add(mapping[old])
    return mapping


def _boot_disk(disks: list[_Node], os_node: Optional[_Node]) -> Optional[_Node]:
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
    root = _parse(text)
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
    edits = _Edits(text)
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


def _kvm_domain_name(root: _Node) -> str:
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
    devices: _Node,
    os_node: Optional[_Node],
    view: GuestView,
    model: Optional[str],
    edits: _Edits,
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
    keep: Optional[_Node] = None
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
    disk: _Node,
    target: _Node,
    new: str,
    model: Optional[str],
    edits: _Edits,
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
    iface: _Node, model: Optional[str], edits: _Edits, notes: list[str]
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


# ---- the steps in words -------------------------------------------------------------


def _mac_lines(view: GuestView, result: Optional[HostResult]) -> list[str]:
    macs = [n.mac for n in result.nics if n.mac] if result is not None else []
    if not macs and view.nics:
        return [f"keep the MAC of {name}: {mac}" for name, mac in view.nics if mac]
    return [f"keep the MAC {mac} (the guest names its NIC by it)" for mac in macs]


def host_steps(
    view: GuestView, result: Optional[HostResult] = None, name: str = "GUEST", xml_out: str = ""
) -> list[str]:
    """The sequence on the host: power off, change the definition, start.

    With a ``result`` (a domain XML was given) the steps name its disks and
    the file to define; without one they are the generic ``virsh`` steps.
    """
    which = " (VM: the guest's name in virsh list)" if name == "VM" else ""
    out = [
        f"power the VM off, do not just reboot it (a changed bus needs a new QEMU process): "
        f"virsh shutdown {name}, then wait until virsh domstate {name} says 'shut off'{which}",
    ]
    if result is not None and xml_out:
        out.append(f"define the new XML: virsh define {xml_out}")
    elif result is not None:
        out.append("save the new XML with -o FILE, then: virsh define FILE")
    else:
        out.append(
            f"make the new definition: virsh dumpxml {name} > {name}.xml; "
            f"virtio-wizard host --domain-xml {name}.xml -o {name}-virtio.xml; "
            f"virsh define {name}-virtio.xml (or by hand in virsh edit {name})"
        )
    out.extend(_disk_lines(view, result))
    out.extend(_mac_lines(view, result))
    out.append(f"start it: virsh start {name}; then run virtio-wizard verify in the guest")
    return out


def _disk_lines(view: GuestView, result: Optional[HostResult]) -> list[str]:
    if result is not None:
        return [
            f"disk {d.old_target} ({d.old_bus}) becomes {d.new_target} (virtio)"
            if d.moved
            else f"disk {d.old_target} stays on {d.old_bus} (the boot disk stays emulated)"
            for d in result.disks
        ]
    if not view.block:
        return []
    lines = [
        f"each system disk: <target dev='{old}' bus='...'/> becomes "
        f"<target dev='{new}' bus='virtio'/>, and its <address type='drive' .../> goes"
        for old, new in sorted(view.disk_map.items(), key=lambda kv: kv[1])
    ] or [
        "each system disk: bus='virtio', target vda, vdb, ... in the old order; "
        "drop its <address type='drive'>"
    ]
    if view.legacy_only:
        lines.append(
            f"on a q35 VM add model='virtio-transitional' to each <disk> and NIC <model> "
            f"({view.legacy_reason}), or keep the VM on i440fx"
        )
    return lines


def generic_steps(view: GuestView, name: str = "GUEST") -> list[str]:
    """``host`` without a domain XML: virsh steps, qemu flags and a safe trial."""
    disks = sorted(view.disk_map.items(), key=lambda kv: kv[1]) or [("hda", "vda")]
    legacy = {None: "unknown", True: "yes", False: "no"}[view.legacy_only]
    trans = "-transitional" if view.legacy_only else ""
    out = [
        "Steps with libvirt (virsh):",
        *(f"  {i}. {s}" for i, s in enumerate(host_steps(view, None, name), 1)),
        "",
        "The same with a plain qemu command line (power the VM off first, start it again after):",
    ]
    for i, (old, new) in enumerate(disks):
        boot = ",bootindex=1" if i == 0 else ""
        out.append(
            f"  -drive file=DISK{i + 1},format=FMT,if=none,id=disk{i} "
            f"-device virtio-blk-pci{trans},drive=disk{i}{boot}"
        )
        out.append(
            f"     (was {old}, the guest sees /dev/{new}; "
            f"short form: -drive file=DISK{i + 1},format=FMT,if=virtio)"
        )
    if view.net:
        macs = [mac for _n, mac in view.nics if mac] or ["52:54:00:XX:XX:XX"]
        for i, mac in enumerate(macs):
            out.append(
                f"  -netdev tap,id=net{i} -device virtio-net-pci{trans},netdev=net{i},mac={mac}"
            )
        out.append(
            "  (keep the MAC the NIC has now: a new one renames the interface in old guests)"
        )
    out.append(f"  legacy-only virtio drivers: {legacy} ({view.legacy_reason})")
    out.extend(
        [
            "",
            "A safe trial first (the real disk is only read):",
            "  qemu-img create -f qcow2 -b DISK -F FMT trial.qcow2",
            "  boot the VM once with trial.qcow2 as its disk on virtio (writes go to trial.qcow2);",
            "  if it comes up, run virtio-wizard verify in it, power it off, delete trial.qcow2,",
            "  then switch the real definition.",
        ]
    )
    return out


def trial_commands(result: HostResult) -> list[str]:
    """One throwaway overlay per moved disk, for a first boot on virtio."""
    out = []
    for disk in result.disks:
        if not disk.moved or not disk.source:
            continue
        fmt = disk.fmt or "raw"
        out.append(
            f"qemu-img create -f qcow2 -b {disk.source} -F {fmt} trial-{disk.new_target}.qcow2"
        )
    return out


def way_back(view: GuestView) -> list[str]:
    """What to do when the guest does not boot after the switch.

    Whether the old bus still boots depends on the disk names: once the
    apply rewrote them to ``/dev/vdX``, the old bus finds no such disk.
    """
    files = view.bus_named_files
    if files is None:
        bus_back = (
            "whether the old bus still boots depends on the disk names: where the apply "
            "rewrote /dev/hdX or /dev/sdX to /dev/vdX (fstab, grub's root= and resume=), the "
            "old bus finds no such disk; with UUID=, LABEL= or LVM names it boots"
        )
    elif files:
        bus_back = (
            "the old bus does not boot cleanly: it has no /dev/vdX, so expect trouble from "
            + ", ".join(files)
            + " (root=, resume=, fstab lines); undo first (below), then switch back"
        )
    else:
        bus_back = "the guest names its disks by UUID=, LABEL= or LVM, so the old bus still boots"
    if view.initrd_backups:
        kept = "the apply kept " + ", ".join(
            f"{image} as {backup}" for image, backup in view.initrd_backups
        )
    else:
        kept = (
            "an apply that rebuilds the initrd keeps the old one as "
            "/boot/initrd-KVER.img.virtio.orig (or .virtio-wizard.bak)"
        )
    lines = [
        f"switch the bus back (power off, define the old XML again, start); {bus_back}",
        "or boot a rescue system, mount the guest's root at /mnt/guest (and its /boot), "
        "and run: virtio-wizard --root /mnt/guest undo",
        f"or boot the old initrd from grub: {kept}; at the grub menu press e on the entry and "
        "change its initrd line to that file (grub legacy: e, then e on the initrd line, Enter, "
        "b to boot; grub2: e, edit the initrd line, Ctrl+X). It has no virtio drivers: "
        "use it on the old bus",
    ]
    if view.demo:
        demo = (
            "in this demo: the guest is a temporary copy made for this run, never booted and "
            "gone when the wizard exits; undo works here with u before you quit (a new "
            "virtio-wizard --demo run starts from a fresh copy with nothing to undo). "
            "On a real guest:"
        )
        return [demo] + lines
    return lines
