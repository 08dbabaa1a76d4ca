"""Hypothesis fuzzing of every guest-file parser in detection and planning.

Each test writes fuzzed bytes where a guest keeps the file, in a real
temporary guest root, and runs the *public* detector (or ``detect()`` /
``make_plan()``) through a LocalTarget, exactly as the wizard does. The
claims: nothing a guest file holds makes an exception escape; a file that
cannot be used (NUL bytes = binary) is *reported* as ``Unreadable`` rather
than silently dropped; what is parsed points back at the bytes it came from
(a disk reference's line holds its device); and the planner's edits keep
every byte they do not mean to change, also in Latin-1 and garbage files.

The byte strategy mixes the tokens each parser looks for with the bytes
that break naive parsers: NUL, lone CR, form feed, Latin-1 NEL (``\\x85``),
UTF-8 LINE SEPARATOR, invalid UTF-8, quotes and backslashes.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtio_wizard.detect import detect
from virtio_wizard.detect.cpu import detect_cpu
from virtio_wizard.detect.devices import detect_devices
from virtio_wizard.detect.disks import detect_disk_refs
from virtio_wizard.detect.distro import detect_distro
from virtio_wizard.detect.initrd_tool import detect_initrd_tool
from virtio_wizard.detect.kernels import detect_kernels
from virtio_wizard.detect.modlists import detect_module_lists
from virtio_wizard.detect.modules import detect_loaded_modules
from virtio_wizard.detect.sysinit import detect_sysinit
from virtio_wizard.facts import BUILTIN, MISSING, MODULE, Distro, Facts, Unreadable
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.targets import LocalTarget, decode_text

ROOTS = Path(__file__).parent / "roots"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Bytes that break naive line splitting and decoding.
NASTY = [
    b"\x00",
    b"\r",
    b"\r\n",
    b"\n",
    b"\x0c",
    b"\x0b",
    b"\x1c",
    b"\x85",
    b"\xe2\x80\xa8",
    b"\xe9",
    b"\xc3\xa9",
    b"\xff\xfe",
    b"\t",
    b" ",
    b"#",
    b"=",
    b'"',
    b"'",
    b"\\",
    b"(",
    b")",
    b";",
]


def fuzz_bytes(*tokens: str, max_size: int = 40) -> st.SearchStrategy[bytes]:
    """Bytes made of parser-relevant tokens, nasty bytes and random bytes."""
    words = [t.encode() for t in tokens] + NASTY
    piece = st.one_of(st.sampled_from(words), st.binary(max_size=4))
    return st.lists(piece, max_size=max_size).map(b"".join)


def text_lines(*tokens: str) -> st.SearchStrategy[bytes]:
    """Line-structured fuzz: several lines of tokens, with nasty bytes inside."""
    line = fuzz_bytes(*tokens, max_size=8)
    return st.lists(line, max_size=12).map(lambda ls: b"\n".join(ls))


def new_root(files: dict[str, bytes] | None = None, live: bool = False) -> str:
    """A fresh guest root in a temp dir: a minimal Linux tree plus ``files``."""
    root = tempfile.mkdtemp(prefix="vw-fuzz-")
    for folder in ("etc", "bin", "boot", "proc", "sys", "dev"):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    if live:
        os.makedirs(os.path.join(root, "proc", "self"), exist_ok=True)
    for rel, data in (files or {}).items():
        put(root, rel, data)
    return root


def put(root: str, guest_path: str, data: bytes) -> None:
    host = os.path.join(root, guest_path.lstrip("/"))
    os.makedirs(os.path.dirname(host), exist_ok=True)
    with open(host, "wb") as fh:
        fh.write(data)


def binary_reported(problems: list[Unreadable], path: str, data: bytes) -> bool:
    """A file holding NUL was reported as unreadable (and only then)."""
    noted = any(p.path == path for p in problems)
    return noted if b"\x00" in data else True


# ---- release files --------------------------------------------------------------

RELEASE_TOKENS = (
    "ID=",
    "VERSION_ID=",
    "NAME=",
    "ID_LIKE=",
    "PRETTY_NAME=",
    "rhel",
    "centos",
    "debian",
    "Red Hat Enterprise Linux",
    "release",
    "5.2",
    "3",
    "(Taroon Update 9)",
    "Update",
    "SUSE Linux Enterprise Server",
    "VERSION = ",
    "PATCHLEVEL = ",
    "11",
    "DISTRIB_ID=Ubuntu",
    "DISTRIB_RELEASE=",
    "squeeze/sid",
    "6.0.10",
)

RELEASE_PATHS = (
    "/etc/os-release",
    "/etc/lsb-release",
    "/etc/redhat-release",
    "/etc/SuSE-release",
    "/etc/debian_version",
)


@FUZZ
@given(path=st.sampled_from(RELEASE_PATHS), data=text_lines(*RELEASE_TOKENS))
def test_release_files_never_crash_and_binary_is_reported(path, data):
    root = new_root({path: data})
    try:
        problems: list[Unreadable] = []
        distro = detect_distro(LocalTarget(root), problems=problems)
        assert isinstance(distro, Distro)
        assert all(isinstance(v, str) for v in (distro.id, distro.version, distro.name))
        assert binary_reported(problems, path, data)
        if distro.source is not None:
            assert distro.source == path
    finally:
        shutil.rmtree(root)


# ---- /proc/cpuinfo and /proc/modules (live roots) ----------------------------------


@FUZZ
@given(
    data=text_lines(
        "vendor_id", ":", "GenuineIntel", "AuthenticAMD", "processor", "flags", "lm", "0"
    )
)
def test_proc_cpuinfo(data):
    root = new_root({"/proc/cpuinfo": data}, live=True)
    try:
        host = os.path.join(root, "host-cpuinfo")
        put(root, "/host-cpuinfo", b"vendor_id\t: HostVendor\n")
        problems: list[Unreadable] = []
        cpu = detect_cpu(LocalTarget(root, live=True), (), Distro(), problems, host_cpuinfo=host)
        assert binary_reported(problems, "/proc/cpuinfo", data)
        if cpu.vendor_source == "target":
            assert (
                cpu.vendor is not None
                and cpu.vendor.encode("latin-1", "replace") in data
                or (cpu.vendor in decode_text(data))
            )
        if b"\x00" in data:
            # Unreadable guest cpuinfo: the host's answer, said to be the host's.
            assert (cpu.vendor, cpu.vendor_source) == ("HostVendor", "host")
    finally:
        shutil.rmtree(root)


@FUZZ
@given(data=text_lines("virtio_blk", "virtio_net", "12345", "0", "-", "Live", "0xffffffffa0000000"))
def test_proc_modules(data):
    root = new_root({"/proc/modules": data}, live=True)
    try:
        problems: list[Unreadable] = []
        loaded = detect_loaded_modules(LocalTarget(root, live=True), problems)
        assert binary_reported(problems, "/proc/modules", data)
        if b"\x00" in data:
            assert loaded is None
        else:
            assert loaded is not None
            assert len(set(loaded)) == len(loaded)
            assert all(name and not any(c.isspace() for c in name) for name in loaded)
        # The whole detection on a live root reads it again (kernel sysfs answers).
        facts = detect(LocalTarget(root), read_initrds=False)
        assert isinstance(facts, Facts)
    finally:
        shutil.rmtree(root)


# ---- disk references: fstab, crypttab, grub, device.map, /etc/default/grub ---------

DISK_TOKENS = (
    "/dev/hda1",
    "/dev/hda",
    "/dev/sdb2",
    "/dev/vda1",
    "/dev/hda10",
    "UUID=0a1b-2c3d",
    "LABEL=/boot",
    "/dev/VolGroup00/LogVol00",
    "/",
    "/boot",
    "swap",
    "ext3",
    "defaults",
    "1",
    "0",
    "proc",
    "kernel",
    "root=",
    "resume=",
    "ro",
    "title",
    "(hd0)",
    "(hd0,0)",
    "GRUB_CMDLINE_LINUX=",
    "GRUB_CMDLINE_LINUX_DEFAULT=",
    "quiet",
)

DISK_FILES = (
    "/etc/fstab",
    "/etc/crypttab",
    "/boot/grub/grub.conf",
    "/boot/grub/menu.lst",
    "/boot/grub/device.map",
    "/etc/default/grub",
)


@FUZZ
@given(path=st.sampled_from(DISK_FILES), data=text_lines(*DISK_TOKENS))
def test_disk_reference_files(path, data):
    root = new_root({path: data})
    try:
        problems: list[Unreadable] = []
        refs = detect_disk_refs(LocalTarget(root), problems)
        assert binary_reported(problems, path, data)
        lines = decode_text(data).split("\n")
        for ref in refs:
            assert ref.file == path
            # The reference points at the line the planner will edit (split on
            # \n only, as plan.edits does), and that line holds the device.
            assert 1 <= ref.line <= len(lines), (ref, lines)
            assert ref.device in lines[ref.line - 1], (ref, lines)
            if ref.scheme == "legacy":
                assert ref.proposed is None or ref.proposed.startswith("/dev/vd")
    finally:
        shutil.rmtree(root)


def test_form_feed_and_nel_do_not_shift_disk_reference_lines(tmp_path):
    """A Latin-1 comment with ``\\x85`` (cp1252 '...') or a form feed is one line.

    ``str.splitlines`` splits there; the planner splits on ``\\n`` only, so a
    reference counted the other way lands on the wrong line and is never fixed.
    """
    data = (
        b"# old disks \x85 see notes\x0cend\n"
        b"/dev/hda1 / ext3 defaults 1 1\n"
        b"/dev/hda3 swap swap defaults 0 0\n"
    )
    root = new_root({"/etc/fstab": data})
    try:
        refs = detect_disk_refs(LocalTarget(root))
        assert [(r.line, r.device) for r in refs] == [(2, "/dev/hda1"), (3, "/dev/hda3")]
    finally:
        shutil.rmtree(root)


def test_form_feed_does_not_shift_module_list_lines():
    """The line a module list names a module on is the file's ``\\n`` line."""
    root = new_root({"/etc/modules": b"# a\x0cb \x85 c\nvirtio_blk\n"})
    try:
        (found,) = detect_module_lists(LocalTarget(root))
        assert [(e.line, e.module) for e in found.entries] == [(2, "virtio_blk")]
    finally:
        shutil.rmtree(root)


# ---- rc.sysinit and module lists -----------------------------------------------------

SYSINIT_TOKENS = (
    "if [ -f /etc/rc.modules ]; then",
    "if [ -f /etc/rc.modules ]",
    "then",
    "/etc/rc.modules",
    ". /etc/rc.modules",
    "fi",
    "modprobe virtio",
    "modprobe virtio_ring",
    "modprobe virtio_blk",
    "modprobe virtio_net",
    "modprobe virtio_pci",
    "/sbin/modprobe -q virtio_pci >/dev/null 2>&1",
    "insmod /lib/modules/x/virtio.ko",
    "# comment",
)


@FUZZ
@given(data=text_lines(*SYSINIT_TOKENS))
def test_rc_sysinit(data):
    root = new_root({"/etc/rc.d/rc.sysinit": data})
    try:
        problems: list[Unreadable] = []
        target = LocalTarget(root)
        found = detect_sysinit(target, problems)
        assert found is not None and found.file == "/etc/rc.d/rc.sysinit"
        assert binary_reported(problems, "/etc/rc.d/rc.sysinit", data)
        if found.hook_line is not None:
            assert found.hook_line >= 1
            assert "fi" in decode_text(data)
        lists = detect_module_lists(target, problems)
        for ml in lists:
            for entry in ml.entries:
                assert entry.line >= 1 and re.fullmatch(r"[A-Za-z0-9_-]+", entry.module)
    finally:
        shutil.rmtree(root)


LIST_TOKENS = (
    "virtio",
    "virtio_ring",
    "virtio_blk",
    "virtio-net",
    "virtio_pci",
    "e1000",
    "add_drivers+=",
    "force_drivers=",
    "MODULES=",
    "MODULES=(",
    ")",
    "INITRD_MODULES=",
    "MODULES_LOADED_ON_BOOT=",
    "alias scsi_hostadapter",
    "alias eth0",
    "options",
    "modprobe",
    "insmod",
    "export",
    "$MODULES",
    "${x}",
    "+=",
)

LIST_FILES = (
    "/etc/modules",
    "/etc/modules-load.d/virtio.conf",
    "/etc/initramfs-tools/modules",
    "/etc/dracut.conf",
    "/etc/dracut.conf.d/virtio.conf",
    "/etc/mkinitcpio.conf",
    "/etc/sysconfig/kernel",
    "/etc/modprobe.conf",
    "/etc/modules.conf",
    "/etc/rc.modules",
    "/etc/sysconfig/modules/virtio.modules",
)


@FUZZ
@given(path=st.sampled_from(LIST_FILES), data=text_lines(*LIST_TOKENS))
def test_module_lists(path, data):
    tool_files = {
        "/usr/sbin/update-initramfs": b"#!/bin/sh\n",
        "/usr/bin/dracut": b"#!/bin/sh\n",
        "/usr/bin/mkinitcpio": b"#!/bin/sh\n",
    }
    root = new_root({path: data, **tool_files})
    try:
        problems: list[Unreadable] = []
        target = LocalTarget(root)
        lists = detect_module_lists(target, problems)
        assert binary_reported(problems, path, data)
        nlines = len(decode_text(data).split("\n"))
        for ml in lists:
            assert ml.file == path
            for entry in ml.entries:
                assert 1 <= entry.line <= nlines
                assert re.fullmatch(r"[A-Za-z0-9_-]+", entry.module), entry
        # The initrd tools read the same configs for their settings.
        for distro in (Distro(), Distro("sles", "SLES", "11", "suse")):
            tool, settings_ = detect_initrd_tool(target, distro, problems=[])
            assert tool is None or isinstance(tool, str)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in settings_.items())
    finally:
        shutil.rmtree(root)


# ---- kernel config and modules.builtin ---------------------------------------------

KVER = "2.6.32-fuzz"
CONFIG_TOKENS = (
    "CONFIG_VIRTIO=y",
    "CONFIG_VIRTIO=m",
    "CONFIG_VIRTIO_RING=y",
    "CONFIG_VIRTIO_BLK=m",
    "CONFIG_VIRTIO_NET=",
    "CONFIG_VIRTIO_PCI=y",
    "CONFIG_SCSI_VIRTIO=m",
    "# CONFIG_VIRTIO_BLK is not set",
    "CONFIG_MK7=y",
    "CONFIG_X86_64=y",
    '"y"',
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "virtio_net.ko",
    "virtio-pci",
)


@FUZZ
@given(
    which=st.sampled_from(("config", "builtin")),
    data=text_lines(*CONFIG_TOKENS),
)
def test_kernel_config_and_modules_builtin(which, data):
    path = f"/boot/config-{KVER}" if which == "config" else f"/lib/modules/{KVER}/modules.builtin"
    root = new_root({f"/boot/vmlinuz-{KVER}": b"\x7fELF", path: data})
    os.makedirs(os.path.join(root, "lib", "modules", KVER), exist_ok=True)
    try:
        problems: list[Unreadable] = []
        kernels = detect_kernels(
            LocalTarget(root), running=None, read_initrds=False, problems=problems
        )
        assert [k.version for k in kernels] == [KVER]
        assert binary_reported(problems, path, data)
        for how in kernels[0].virtio.values():
            assert how in (MODULE, BUILTIN, MISSING)
        if b"\x00" in data:
            assert set(kernels[0].virtio.values()) == {MISSING}
    finally:
        shutil.rmtree(root)


# ---- sysfs PCI attribute files ---------------------------------------------------------

PCI_TOKENS = ("0x1af4", "0x1001", "0x1000", "1af4", "0x8086", "0x010000", "0xZZ", "0x", "-1")


@FUZZ
@given(
    attr=st.sampled_from(("vendor", "device", "subsystem_device", "class")),
    data=fuzz_bytes(*PCI_TOKENS, max_size=6),
)
def test_sysfs_pci_attributes(attr, data):
    base = "/sys/bus/pci/devices/0000:00:04.0"
    files = {
        f"{base}/vendor": b"0x1af4\n",
        f"{base}/device": b"0x1001\n",
        f"{base}/subsystem_device": b"0x0002\n",
        f"{base}/class": b"0x010000\n",
    }
    files[f"{base}/{attr}"] = data
    root = new_root(files)
    try:
        problems: list[Unreadable] = []
        devices = detect_devices(LocalTarget(root, live=True), problems)
        path = f"{base}/{attr}"
        assert binary_reported(problems, path, data)
        for dev in devices:
            for value in (dev.vendor, dev.device, dev.subsystem_device, dev.pci_class):
                if value is not None:
                    int(value, 16)  # every id kept is hexadecimal
        if attr in ("vendor", "device") and not devices:
            assert any(p.path in (path, base) for p in problems)
    finally:
        shutil.rmtree(root)


# ---- the planner's text edits ------------------------------------------------------------


def _guest_copy() -> str:
    """A private copy of the RHEL 5.0 fixture (virtio modules from the add-on package)."""
    dest = tempfile.mkdtemp(prefix="vw-fuzz-plan-")
    shutil.copytree(ROOTS / "rhel5ga", os.path.join(dest, "g"), symlinks=True)
    return os.path.join(dest, "g")


def _lines_b(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _check_edit_bytes(step, old: bytes) -> tuple[list[bytes], list[bytes]]:
    """The edit's hash names the planned bytes; its text re-encodes losslessly."""
    assert step.old_sha256 == hashlib.sha256(old).hexdigest()
    new = step.new_bytes()
    old_text = old.decode(step.encoding)
    assert old_text.encode(step.encoding) == old  # decoding lost nothing
    return _lines_b(old), _lines_b(new)


def _check_fuzzed_edits(plan, facts, fstab: bytes, sysinit: bytes) -> None:
    """fstab changes only where a legacy name was; rc.sysinit only gains modprobe lines."""
    originals = {"/etc/fstab": fstab, "/etc/rc.d/rc.sysinit": sysinit}
    fstab_refs = {r.line: r for r in facts.disk_refs if r.file == "/etc/fstab" and r.proposed}
    for step in plan.steps:
        if step.kind != "edit" or step.path not in originals:
            continue
        old_lines, new_lines = _check_edit_bytes(step, originals[step.path])
        ops = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
        if step.path == "/etc/fstab":
            # Same lines, each changed one only where a legacy name was.
            assert len(old_lines) == len(new_lines)
            for i, (a, b) in enumerate(zip(old_lines, new_lines), 1):
                if a != b:
                    ref = fstab_refs[i]
                    assert ref.device.encode() in a and ref.proposed.encode() in b
                    assert a.replace(ref.device.encode(), b"") == b.replace(
                        ref.proposed.encode(), b""
                    ) or len(a.split()) == len(b.split())
        else:
            # rc.sysinit: lines are only inserted (modprobe lines, a blank
            # lead), the last line at most gains its missing newline.
            for tag, i1, i2, j1, j2 in ops:
                if tag == "equal":
                    continue
                if tag == "replace" and i2 - i1 == 1 and i2 == len(old_lines):
                    assert new_lines[j1].startswith(old_lines[i1])
                    continue
                assert tag == "insert", (tag, old_lines[i1:i2], new_lines[j1:j2])
                for added in new_lines[j1:j2]:
                    assert added.strip() == b"" or added.strip().startswith(b"modprobe virtio")


FSTAB_TOKENS = DISK_TOKENS + ("/dev/hda2", "/dev/sda1", "/dev/hdb", "é")


@FUZZ
@given(
    fstab=text_lines(*FSTAB_TOKENS),
    sysinit=text_lines(*SYSINIT_TOKENS),
    latin1=st.booleans(),
)
def test_plan_on_fuzzed_fstab_and_rc_sysinit(fstab, sysinit, latin1):
    root = _guest_copy()
    try:
        if latin1:
            fstab += b"\n# r\xe9sum\xe9 \x85\n"
        put(root, "/etc/fstab", fstab)
        put(root, "/etc/rc.d/rc.sysinit", sysinit)
        target = LocalTarget(root)
        facts = detect(target, read_initrds=False)
        # rc.sysinit is edited by the sysinit method (network only: the boot
        # disk cannot move that way), the disk names by the initrd method.
        rc_sysinit = Choices(method="sysinit", block=False, sysinit_file="/etc/rc.d/rc.sysinit")
        sysinit_plan = make_plan(target, facts, rc_sysinit)
        names_plan = make_plan(target, facts, Choices(method="initrd", fix_disk_names=True))
        _check_fuzzed_edits(sysinit_plan, facts, fstab, sysinit)
        _check_fuzzed_edits(names_plan, facts, fstab, sysinit)
        assert all(s.path != "/etc/fstab" for s in sysinit_plan.steps)
        assert all(s.path != "/etc/rc.d/rc.sysinit" for s in names_plan.steps)
        assert {s.kind for s in sysinit_plan.steps} <= {"edit"}
        assert {s.kind for s in names_plan.steps} <= {"edit", "backup", "command"}
        if not sysinit_plan.refused:
            sysinit_edits = [s for s in sysinit_plan.steps if s.path == "/etc/rc.d/rc.sysinit"]
            assert len(sysinit_edits) <= 1
    finally:
        shutil.rmtree(os.path.dirname(root))


@FUZZ
@given(fstab=fuzz_bytes(*FSTAB_TOKENS, max_size=60))
def test_plan_disk_names_in_garbage_fstab_edits_every_reference(fstab):
    """Every legacy name detection proposes in fstab is fixed by the plan, none is stale."""
    root = _guest_copy()
    try:
        put(root, "/etc/fstab", fstab)
        target = LocalTarget(root)
        facts = detect(target, read_initrds=False)
        plan = make_plan(target, facts, Choices(method="initrd", fix_disk_names=True))
        assert "disk-ref-stale" not in [f.id for f in plan.findings]
        wanted = [r for r in facts.disk_refs if r.file == "/etc/fstab" and r.proposed]
        edits = [s for s in plan.steps if s.path == "/etc/fstab"]
        assert len(edits) == (1 if wanted else 0)
        if edits:
            _check_edit_bytes(edits[0], fstab)
    finally:
        shutil.rmtree(os.path.dirname(root))
