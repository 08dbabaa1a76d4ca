"""Hostile guest roots: detection, planning and apply stay inside the root.

A guest tree is untrusted input: a symlink loop, a link to the host's
``/etc/passwd`` (absolute or by ``..``), a FIFO or a ``/dev/zero`` device
node where a config file should be, or a sparse file of several GiB where
``/etc/fstab`` should be. These tests build such roots (FIFOs and device nodes
cannot live in git) and prove three things: nothing hangs (a timeout guard),
the bad files are *reported* (``Unreadable``) instead of crashing or being
read whole, and no file outside the root is opened, created, renamed or
removed during ``detect()`` + ``make_plan()`` + ``apply_plan()`` (every such
call is recorded through monkeypatched ``os``/``builtins`` functions). The
only host file read on purpose is ``/proc/cpuinfo``, detection's vendor
fallback (``detect/cpu.py``).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from apply_fixtures import initrd_with

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.detect.cpu import HOST_CPUINFO
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.targets import DEFAULT_READ_LIMIT, LocalTarget, NotRegularFileError, TargetError

KVER = "2.6.18-8.el5"
MODULES = ("virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_net")
SPARSE_SIZE = 4 * 1024**3  # 4 GiB, no blocks allocated
HOST_PASSWD = "/etc/passwd"

RC_SYSINIT = (
    "#!/bin/bash\n"
    "# rc.sysinit of a hostile guest\n"
    "if [ -f /etc/rc.modules ]; then\n"
    "\t/etc/rc.modules\n"
    "fi\n"
    "\n"
    "echo done\n"
)
GRUB_CONF = (
    "default=0\n"
    "title Hostile (2.6.18-8.el5)\n"
    "\troot (hd0,0)\n"
    f"\tkernel /vmlinuz-{KVER} ro root=/dev/hda2 resume=/dev/hda3\n"
    f"\tinitrd /initrd-{KVER}.img\n"
)


def _write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _link(root: Path, rel: str, to: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(to, path)


def _base_guest(root: Path) -> None:
    """A RHEL 5-like guest with a kernel that has the virtio modules."""
    _write(root, "etc/redhat-release", "Red Hat Enterprise Linux Server release 5 (Tikanga)\n")
    _write(root, f"boot/vmlinuz-{KVER}", b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    for name in ("virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_net"):
        _write(root, f"lib/modules/{KVER}/extra/virtio/{name}.ko", b"\x7fELF")
    _write(root, "sbin/mkinitrd", "#!/bin/bash\n")
    _write(root, "bin/bash", "#!/bin/bash\n")
    for folder in ("proc", "sys", "dev", "tmp"):
        (root / folder).mkdir(exist_ok=True)


def build_hostile(root: Path, escape: Path) -> dict[str, str]:
    """Every kind of hostile entry at once; returns guest path -> what it is.

    ``escape`` is a host folder outside ``root`` (the test's own, so runs at
    once never share it) where the journal folder's link leads if followed
    on the host.
    """
    _base_guest(root)
    what = {}
    # Loops.
    _link(root, "etc/os-release", "/etc/os-release.loop")
    _link(root, "etc/os-release.loop", "os-release")
    _link(root, "etc/lsb-release", "lsb-release")
    what["/etc/os-release"] = "loop"
    # Links leaving the root: absolute and by "..".
    _link(root, "etc/SuSE-release", "/etc/shadow")
    _link(root, "etc/debian_version", "../../../../../../../../etc/hostname")
    _link(root, "etc/modules", "/../../../../proc/self/environ")
    # FIFOs and device nodes where config files should be.
    os.mkfifo(root / "etc/crypttab")
    (root / "boot/grub").mkdir(parents=True)
    os.mkfifo(root / "boot/grub/device.map")
    os.mknod(root / "etc/modprobe.conf", 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero
    os.mknod(root / f"boot/initrd-{KVER}.img", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    os.mknod(root / "etc/dracut.conf", 0o644 | stat.S_IFCHR, os.makedev(1, 8))  # /dev/random
    what["/etc/crypttab"] = "fifo"
    what["/boot/grub/device.map"] = "fifo"
    what["/etc/modprobe.conf"] = "chardev"
    # A sparse file of several GiB where fstab should be.
    with open(root / "etc/fstab", "wb") as fh:
        fh.truncate(SPARSE_SIZE)
    what["/etc/fstab"] = "huge"
    # Files the plan edits, reached through links that would leave the root
    # if followed on the host: /etc/rc.d -> /rc.d.real (absolute),
    # /boot/grub/grub.conf -> ../../../../grub.real/grub.conf.
    _write(root, "rc.d.real/rc.sysinit", RC_SYSINIT)
    _link(root, "etc/rc.d", "/rc.d.real")
    _write(root, "grub.real/grub.conf", GRUB_CONF)
    _link(root, "boot/grub/grub.conf", "../../../../../../grub.real/grub.conf")
    _link(root, "etc/grub.conf", "/boot/grub/grub.conf")
    # The journal folder itself is a link that climbs out: more ".." than
    # there are folders above it on the host, then down to ``escape``.
    (root / "var/lib").mkdir(parents=True)
    climb = "../" * (len((root / "var/lib").parts) + 2)
    _link(root, "var/lib/virtio-wizard", climb + str(escape).lstrip("/"))
    # sysfs entries linking out of the root.
    _link(root, "sys/bus/pci/devices/0000:00:04.0", "../../../../../../../../sys/devices")
    return what


# ---- recording every path the program touches --------------------------------------


class PathRecorder:
    """Wraps the os/builtins calls that open, create, rename or remove files."""

    NAMES = ("open", "mkdir", "rename", "replace", "unlink", "remove", "rmdir", "symlink")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in self.NAMES:
            original = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(name, original))
        monkeypatch.setattr(builtins, "open", self._wrap("builtins.open", builtins.open))

    def _wrap(self, name, original):
        def wrapper(path, *args, **kwargs):
            if isinstance(path, (str, bytes, os.PathLike)) and not isinstance(path, int):
                text = os.fsdecode(os.fspath(path))
                flags = args[0] if name == "open" and args and isinstance(args[0], int) else 0
                nofollow = bool(flags & getattr(os, "O_NOFOLLOW", 0))
                self.calls.append((name, text, nofollow))
            if name in ("rename", "replace") and args:
                self.calls.append((name, os.fsdecode(os.fspath(args[0])), True))
            return original(path, *args, **kwargs)

        return wrapper


def _python_paths() -> tuple[str, ...]:
    here = str(Path(__file__).resolve().parent.parent)
    return tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, here, *sys.path} - {""})


def outside(root: str, calls: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """The recorded calls that reached a path outside ``root`` (allowed ones excepted)."""
    root = os.path.realpath(root)
    python = _python_paths()
    bad = []
    for name, path, nofollow in calls:
        if not os.path.isabs(path):
            path = os.path.abspath(path)
        folder = os.path.realpath(os.path.dirname(path))
        where = os.path.join(folder, os.path.basename(path))
        if not nofollow and os.path.lexists(where):
            where = os.path.realpath(where)
        if where == root or where.startswith(root + os.sep):
            continue
        if name in ("open", "builtins.open") and where == os.path.realpath(HOST_CPUINFO):
            continue  # the documented vendor fallback
        if where.endswith((".py", ".pyc", ".so", ".pth")) and where.startswith(python):
            continue  # Python's own imports
        bad.append((name, where))
    return bad


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail instead of hanging forever (a FIFO read would block)."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"no answer within {seconds}s: something blocked")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# ---- the tests -------------------------------------------------------------------------


@pytest.fixture
def escape(tmp_path: Path) -> Path:
    """Where the hostile journal link leads on the host: beside the root, never created."""
    return tmp_path / "escape"


@pytest.fixture
def hostile(tmp_path: Path, escape: Path) -> Path:
    root = tmp_path / "guest"
    root.mkdir()
    build_hostile(root, escape)
    yield root
    assert not escape.exists(), "the journal escaped the root"


def test_detect_finishes_quickly_and_reports_every_bad_file(hostile: Path):
    """In a subprocess with a hard timeout: a hang is a failure, not a stuck suite."""
    script = textwrap.dedent(
        """
        import json, sys, time
        from virtio_wizard.detect import detect
        from virtio_wizard.targets import LocalTarget
        start = time.monotonic()
        facts = detect(LocalTarget(sys.argv[1]), read_initrds=True)
        print(json.dumps({
            "seconds": time.monotonic() - start,
            "unreadable": {u.path: u.reason for u in facts.unreadable},
            "kernels": [[k.version, k.initrd] for k in facts.kernels],
            "distro": facts.distro.id,
        }))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(hostile)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["seconds"] < 30
    unreadable = out["unreadable"]
    assert "larger than" in unreadable["/etc/fstab"]
    assert unreadable["/etc/crypttab"] == "not a regular file"
    assert unreadable["/boot/grub/device.map"] == "not a regular file"
    assert unreadable["/etc/modprobe.conf"] == "not a regular file"
    assert "symbolic link" in unreadable["/etc/os-release"]
    # The kernel is still found; a device node is never taken for its initrd.
    assert out["kernels"] == [[KVER, None]]
    assert out["distro"] == "rhel"


def test_target_errors_name_the_problem(hostile: Path, escape: Path):
    target = LocalTarget(str(hostile))
    with pytest.raises(TargetError, match="symbolic link"):
        target.read_bytes("/etc/os-release")
    with pytest.raises(NotRegularFileError, match="not a regular file"):
        target.read_bytes("/etc/crypttab")
    with pytest.raises(NotRegularFileError):
        target.read_bytes("/etc/modprobe.conf")
    with pytest.raises(TargetError, match="larger than"):
        target.read_bytes("/etc/fstab")
    # Links that climb out resolve inside the root (and are absent there).
    assert target.resolve("/etc/debian_version") == "/etc/hostname"
    assert target.resolve("/etc/SuSE-release") == "/etc/shadow"
    assert target.resolve("/var/lib/virtio-wizard/lock") == f"{escape}/lock"
    assert not target.exists("/etc/debian_version")
    with pytest.raises(NotRegularFileError):
        target.write_file("/etc/crypttab", b"x")


def test_nothing_outside_the_root_is_touched(
    hostile: Path, escape: Path, monkeypatch: pytest.MonkeyPatch
):
    """detect + plan + apply + undo, with every open/mkdir/rename/unlink recorded."""
    before_passwd = sha256(HOST_PASSWD)
    target = LocalTarget(str(hostile))
    recorder = PathRecorder()
    recorder.install(monkeypatch)
    with time_limit(60):
        facts = detect(target, read_initrds=True)
        # Both drivers, the boot disk moving: the disks are renamed. The
        # multi-GiB fstab, the FIFO crypttab and device.map may hold names the
        # renames must change: the plan refuses them, naming each.
        refused = make_plan(target, facts, Choices(method="initrd"))
        assert sorted(f.message for f in refused.refusals) == [
            "/boot/grub/device.map cannot be used: not a regular file; "
            "the wizard will not edit or replace it.",
            "/etc/crypttab cannot be used: not a regular file; "
            "the wizard will not edit or replace it.",
            f"/etc/fstab cannot be used: larger than {DEFAULT_READ_LIMIT} bytes; "
            "the wizard will not edit or replace it.",
        ]
        for broken in ("etc/fstab", "etc/crypttab", "boot/grub/device.map"):
            (hostile / broken).unlink()
        (hostile / "etc/fstab").write_text("LABEL=/ / ext3 defaults 1 1\n")
        # An initrd that holds the modules in place of the device node, so the
        # rename plan is all edits (no mkinitrd to run in this stand-in guest).
        (hostile / f"boot/initrd-{KVER}.img").unlink()
        (hostile / f"boot/initrd-{KVER}.img").write_bytes(initrd_with(MODULES, KVER))
        facts = detect(target, read_initrds=True)
        # rc.sysinit is edited through /etc/rc.d -> /rc.d.real by the sysinit
        # method, grub.conf through its climbing link by the renames.
        plans = [
            make_plan(
                target,
                facts,
                Choices(method="sysinit", block=False, sysinit_file="/etc/rc.d/rc.sysinit"),
            ),
            make_plan(target, facts, Choices(method="initrd")),
        ]
        results = [apply_plan(target, plan) for plan in plans]
        undone = [undo(target) for _plan in plans]
    monkeypatch.undo()
    for plan in plans:
        assert not plan.refused, [f.message for f in plan.refusals]
    assert [{s.path for s in plan.steps} for plan in plans] == [
        {"/rc.d.real/rc.sysinit"},
        {"/grub.real/grub.conf"},
    ]
    for result in results:
        assert result.ok and result.changed, result.messages
    assert [u.status for u in undone] == ["done", "done"]
    assert recorder.calls, "the recorder saw nothing: the wrapping is broken"
    assert outside(str(hostile), recorder.calls) == []
    # Everything was written where the links lead inside the root.
    assert (hostile / escape.relative_to("/") / "journal").is_dir()
    assert (hostile / "rc.d.real/rc.sysinit").read_text() == RC_SYSINIT
    assert (hostile / "grub.real/grub.conf").read_text() == GRUB_CONF
    assert sha256(HOST_PASSWD) == before_passwd


def test_recorder_catches_a_path_outside_the_root(tmp_path: Path, monkeypatch):
    """The check above can fail: a read of a host file is reported."""
    recorder = PathRecorder()
    recorder.install(monkeypatch)
    with open(HOST_PASSWD, "rb"):
        pass
    os.open(str(tmp_path / "inside"), os.O_CREAT | os.O_WRONLY, 0o600)
    monkeypatch.undo()
    bad = outside(str(tmp_path), recorder.calls)
    assert ("builtins.open", HOST_PASSWD) in bad
    assert all(not p.startswith(str(tmp_path)) for _, p in bad)


@pytest.mark.parametrize(
    "link",
    ["/etc/passwd", "../../../../../../../../etc/passwd", "/../../etc/./passwd"],
)
def test_apply_through_fstab_link_to_etc_passwd_edits_the_guests_file(
    tmp_path: Path, link: str, monkeypatch: pytest.MonkeyPatch
):
    """/etc/fstab -> /etc/passwd means ROOT/etc/passwd: the host's is never touched."""
    root = tmp_path / "guest"
    _base_guest(root)
    guest_passwd = "/dev/hda1 / ext3 defaults 1 1\n/dev/hda3 swap swap defaults 0 0\n"
    _write(root, "etc/passwd", guest_passwd)
    _write(root, "etc/rc.d/rc.sysinit", RC_SYSINIT)
    _link(root, "etc/fstab", link)
    # The initrd already holds the modules: the renames are the plan's edits.
    _write(root, f"boot/initrd-{KVER}.img", initrd_with(MODULES, KVER))
    host_before = sha256(HOST_PASSWD)
    host_stat = os.stat(HOST_PASSWD)
    target = LocalTarget(str(root))
    recorder = PathRecorder()
    recorder.install(monkeypatch)
    with time_limit(60):
        facts = detect(target, read_initrds=True)
        plan = make_plan(target, facts, Choices(method="initrd"))
        result = apply_plan(target, plan)
    monkeypatch.undo()
    assert result.ok, result.messages
    edited = [s.path for s in plan.steps if s.kind == "edit"]
    assert "/etc/passwd" in edited  # the real file behind the link, in the guest
    assert (root / "etc/passwd").read_text() == (
        "/dev/vda1 / ext3 defaults 1 1\n/dev/vda3 swap swap defaults 0 0\n"
    )
    assert os.path.islink(root / "etc/fstab")  # the link stays a link
    assert sha256(HOST_PASSWD) == host_before
    assert os.stat(HOST_PASSWD).st_mtime_ns == host_stat.st_mtime_ns
    assert outside(str(root), recorder.calls) == []


def test_sparse_fstab_is_not_read_whole(tmp_path: Path):
    """A 4 GiB fstab costs a stat, not a read: memory stays small, time short."""
    import tracemalloc

    root = tmp_path / "guest"
    _base_guest(root)
    with open(root / "etc/fstab", "wb") as fh:
        fh.truncate(SPARSE_SIZE)
    start = time.monotonic()
    tracemalloc.start()
    try:
        with time_limit(30):
            facts = detect(LocalTarget(str(root)), read_initrds=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 10
    assert any(u.path == "/etc/fstab" and "larger than" in u.reason for u in facts.unreadable)
    assert peak < 32 * 1024 * 1024
