"""Guest commands of an offline root run in a bubblewrap sandbox: a hostile tool reaches nothing.

The hostile tool is a shell script put in as the guest's ``/sbin/mkinitrd``
in a copy of a fixture root (busybox as its ``/bin/sh``). It tries the ways
out the first version left open (``/proc/1/root``, ``/proc/$PPID/root``,
mounting, a host block device through ``/dev`` and through ``mknod``, chroot,
signalling a host process, writing sysfs) and reports each; the test checks
on the host side that nothing happened (markers under ``tmp_path``, the
bytes behind a host loop device, a host process still alive, the mount
table), and that the capability bounding set inside holds none of the
dangerous capabilities.

These need root and bwrap: they skip without them, and fail under CI=true.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_fixture import (
    host_loop_device,
    mounts_under,
    put_tool,
    require_sandbox,
    runnable_guest,
)

from virtio_wizard import knowledge
from virtio_wizard.targets import LocalTarget, sandbox
from virtio_wizard.targets.demo import DemoTarget

REPO = Path(__file__).resolve().parent.parent
ROOTS = REPO / "tests" / "roots"

#: Bits of CapBnd that must be off inside (linux/capability.h).
FORBIDDEN_CAPS = {
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_NET_ADMIN": 12,
}

HOSTILE = """#!/bin/sh
R=/hostile-report
: > $R
try() {{
    if sh -c "$2" >/dev/null 2>&1; then echo "ESCAPED $1" >> $R; else echo "blocked $1" >> $R; fi
}}
try proc1-root 'echo x > /proc/1/root{host}/proc1'
try ppid-root 'echo x > /proc/$PPID/root{host}/ppid'
try self-root 'echo x > /proc/self/root{host}/self'
try mount-tmpfs 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t'
try mount-proc 'mkdir -p /mnt/p && mount -t proc proc /mnt/p'
try mount-devtmpfs 'mkdir -p /mnt/d && mount -t devtmpfs none /mnt/d'
try bind-mount 'mkdir -p /mnt/b && mount --bind / /mnt/b'
try remount-sys 'mount -o remount,rw /sys'
try dev-hostdisk '[ -b {dev} ] && echo PWNED | dd of={dev} conv=notrunc'
try mknod-hostdisk 'mknod /tmp/hd b {major} {minor} && echo PWNED | dd of=/tmp/hd conv=notrunc'
try chroot 'chroot / /bin/sh -c true'
try chroot-escape 'chroot /proc/1/root /bin/sh -c "echo x > {host}/chroot"'
try kill-host 'kill -9 {pid}'
try sysfs-write 'echo add > /sys/class/mem/null/uevent'
grep -E 'Cap|NoNewPrivs' /proc/self/status >> $R
ls /proc | grep -v '[^0-9]' | head -50 > /hostile-pids
echo "ran as $(cat /proc/self/status | grep ^Pid)"
exit 0
"""

ATTEMPTS = [
    "proc1-root", "ppid-root", "self-root", "mount-tmpfs", "mount-proc", "mount-devtmpfs",
    "bind-mount", "remount-sys", "dev-hostdisk", "mknod-hostdisk", "chroot", "chroot-escape",
    "kill-host", "sysfs-write",
]  # fmt: skip


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    require_sandbox()
    return runnable_guest(ROOTS / "rhel5ga", tmp_path / "guest")


def test_a_hostile_guest_tool_reaches_nothing_of_the_host(guest: Path, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"\0" * (1 << 20))
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        with host_loop_device(backing) as dev:
            rdev = os.stat(dev).st_rdev
            put_tool(
                guest,
                "/sbin/mkinitrd",
                HOSTILE.format(
                    host=host,
                    dev=dev,
                    major=os.major(rdev),
                    minor=os.minor(rdev),
                    pid=sleeper.pid,
                ),
            )
            target = LocalTarget(str(guest))
            assert target.kind == "root"
            result = target.run(["mkinitrd", "-f", "/boot/x.img", "2.6.18-8.el5"])
        assert result.returncode == 0, result.output
        assert result.argv == ("mkinitrd", "-f", "/boot/x.img", "2.6.18-8.el5")
        report = (guest / "hostile-report").read_text()
        lines = report.splitlines()
        for name in ATTEMPTS:
            assert f"blocked {name}" in lines, report
        assert "ESCAPED" not in report
        # The host saw nothing: no marker, the disk's bytes, the process, the mounts.
        assert list(host.iterdir()) == []
        assert backing.read_bytes() == b"\0" * (1 << 20)
        assert sleeper.poll() is None, "a guest tool killed a host process"
        assert mounts_under(guest) == []
        # Its own PID namespace: it sees a handful of processes, not the host's.
        pids = (guest / "hostile-pids").read_text().split()
        assert 0 < len(pids) < 10, pids
        sets = {line.split(":")[0]: int(line.split()[1], 16) for line in lines if "Cap" in line}
        for name in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            held = [cap for cap, bit in FORBIDDEN_CAPS.items() if sets[name] & (1 << bit)]
            assert held == [], f"{name} holds {held}"
        assert sets["CapEff"] & (1 << 27), "CAP_MKNOD is kept: mkinitrd makes dev/console"
        # The bounding set keeps only what bwrap needs to build the namespaces
        # (never held by the tool; no_new_privs keeps it so).
        setup = {"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}
        held = [c for c, bit in FORBIDDEN_CAPS.items() if sets["CapBnd"] & (1 << bit)]
        assert set(held) <= setup, f"the bounding set keeps {held}"
        assert "NoNewPrivs:\t1" in report
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_guest_sees_a_minimal_dev_and_its_own_proc(guest: Path) -> None:
    put_tool(
        guest,
        "/sbin/mkinitrd",
        "#!/bin/sh\nls /dev > /seen-dev\ncat /proc/1/cmdline > /seen-init\n"
        "cat /proc/mounts > /seen-mounts\n",
    )
    result = LocalTarget(str(guest)).run(["mkinitrd", "2.6.18-8.el5"])
    assert result.returncode == 0, result.output
    dev = set((guest / "seen-dev").read_text().split())
    assert {"null", "zero", "full", "random", "urandom", "tty"} <= dev
    assert not any(
        name.startswith(("sd", "vd", "hd", "nvme", "loop", "mem", "kmem")) for name in dev
    )
    assert b"bwrap" in (guest / "seen-init").read_bytes(), "pid 1 is the sandbox's own init"
    mounts = (guest / "seen-mounts").read_text()
    assert " /sys sysfs ro," in mounts
    assert str(guest) not in mounts


def test_nash_mkinitrd_of_a_2_4_kernel_may_mount_its_ext2_image_on_a_loop_device(
    guest: Path, tmp_path: Path
) -> None:
    """The RHEL 3 way: losetup, mount -t ext2, mknod inside, umount, gzip."""
    blank = tmp_path / "blank.img"
    subprocess.run(["dd", "if=/dev/zero", f"of={blank}", "bs=1k", "count=1024"], check=True,
                   capture_output=True)  # fmt: skip
    made = subprocess.run(["mke2fs", "-q", "-F", str(blank)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"mke2fs: {made.stderr}")
    (guest / "blank.img").write_bytes(blank.read_bytes())
    put_tool(
        guest,
        "/sbin/mkinitrd",
        """#!/bin/sh
set -e
IMAGE=/tmp/initrd.$$
cp /blank.img $IMAGE
for n in 0 1 2 3 4 5 6 7; do
    if losetup /dev/loop$n $IMAGE 2>/dev/null; then LODEV=/dev/loop$n; break; fi
done
[ -n "$LODEV" ] || { echo "no free loop device"; exit 1; }
mkdir -p /tmp/mnt.$$
mount -t ext2 $LODEV /tmp/mnt.$$
mkdir /tmp/mnt.$$/dev
mknod /tmp/mnt.$$/dev/console c 5 1
echo nash > /tmp/mnt.$$/linuxrc
umount /tmp/mnt.$$
losetup -d $LODEV
gzip -9 < $IMAGE > "$2"
rm -f $IMAGE
""",
    )
    argv = ["mkinitrd", "-f", "/boot/initrd-2.4.21-58.EL.img", "2.4.21-58.EL"]
    assert knowledge.builds_on_loop(argv)
    result = LocalTarget(str(guest)).run(argv)
    assert result.returncode == 0, result.output
    from virtio_wizard.initrd import inspect_initrd

    info = inspect_initrd(LocalTarget(str(guest)), "/boot/initrd-2.4.21-58.EL.img")
    assert info.format is not None and "ext2" in info.format, info
    assert mounts_under(guest) == []
    losetup = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    assert str(guest) not in losetup


def test_other_tools_get_no_mount_capability(guest: Path) -> None:
    """A 2.6 kernel's mkinitrd (RHEL 4, cpio) is not the loop case."""
    put_tool(guest, "/sbin/mkinitrd", "#!/bin/sh\ngrep CapEff /proc/self/status > /caps\n")
    LocalTarget(str(guest)).run(["mkinitrd", "-f", "/boot/initrd-2.6.9-89.EL.img", "2.6.9-89.EL"])
    mask = int((guest / "caps").read_text().split()[1], 16)
    assert not mask & (1 << FORBIDDEN_CAPS["CAP_SYS_ADMIN"])


@pytest.mark.parametrize("name", ["proc", "dev", "sys"])
def test_a_mount_point_that_is_a_link_is_refused(guest: Path, tmp_path: Path, name: str) -> None:
    point = guest / name
    if point.is_dir():
        for child in point.iterdir():
            if child.is_dir() and not child.is_symlink():
                import shutil

                shutil.rmtree(child)
            else:
                child.unlink()
        point.rmdir()
    point.symlink_to(tmp_path)
    with pytest.raises(sandbox.SandboxError, match=f"/{name}: is a symlink; refusing"):
        LocalTarget(str(guest)).run(["mkinitrd"])


def wizard_apply(guest: Path) -> list[str]:
    """The wizard's own command line: an initrd apply on the offline root ``guest``."""
    return [
        sys.executable, "-m", "virtio_wizard", "apply", "--root", str(guest),
        "--method", "initrd", "--drivers", "block", "--yes",
    ]  # fmt: skip


def _processes_with(token: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if token.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("how", ["kill-9", "group-sigkill", "group-sighup", "group-sigterm"])
def test_killing_the_wizard_mid_command_leaves_no_mount_and_no_process(
    guest: Path, tmp_path: Path, how: str
) -> None:
    token = f"vw-sandbox-token-{os.getpid()}-{how}"
    put_tool(
        guest,
        "/sbin/mkinitrd",
        f"#!/bin/sh\necho started > /started\nsh -c 'sleep 60; : {token}'\n",
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        wizard_apply(guest),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (guest / "started").exists() or not _processes_with(token):
            assert time.monotonic() < deadline, "the guest tool never started"
            assert child.poll() is None, "the wizard ended early"
            time.sleep(0.05)
        assert mounts_under(guest) == [], "the sandbox mounts nothing on the host, even now"
        if how == "kill-9":
            os.kill(child.pid, signal.SIGKILL)
        else:
            sig = {"group-sigkill": signal.SIGKILL, "group-sighup": signal.SIGHUP}.get(
                how, signal.SIGTERM
            )
            os.killpg(child.pid, sig)
        child.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _processes_with(token):
            assert time.monotonic() < deadline, "the guest tool outlived the wizard"
            time.sleep(0.05)
        assert mounts_under(guest) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# ---- refusals: no fallback to the old chroot (these run anywhere) ----------------


def _no_process(monkeypatch) -> None:
    def popen(*_a, **_kw):
        raise AssertionError("a guest command was started outside the sandbox")

    monkeypatch.setattr(subprocess, "Popen", popen)


def test_without_bwrap_a_guest_command_is_refused_in_one_line(tmp_path: Path, monkeypatch):
    (tmp_path / "g").mkdir()
    real_which = sandbox.shutil.which
    monkeypatch.setattr(
        sandbox.shutil, "which", lambda name: None if name == "bwrap" else real_which(name)
    )
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    _no_process(monkeypatch)
    target = LocalTarget(str(tmp_path / "g"))
    assert target.command_problem() == sandbox.unavailable()
    with pytest.raises(sandbox.SandboxError) as info:
        target.run(["mkinitrd", "-f", "/boot/x.img", "2.6.18-8.el5"])
    text = str(info.value)
    assert "\n" not in text
    assert text == (
        "mkinitrd: bwrap (bubblewrap) is not installed: guest commands of an offline root run "
        "only in its sandbox; install it (apt-get install bubblewrap, dnf install bubblewrap)"
    )


def test_without_root_a_guest_command_is_refused(tmp_path: Path, monkeypatch):
    (tmp_path / "g").mkdir()
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    _no_process(monkeypatch)
    with pytest.raises(sandbox.SandboxError, match="needs root: run virtio-wizard as root"):
        LocalTarget(str(tmp_path / "g")).run(["dracut", "-f", "/boot/x.img", "6.1.0"])


def test_the_running_system_and_the_demo_need_no_sandbox(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert LocalTarget("/").command_problem() is None
    (tmp_path / "d").mkdir()
    assert DemoTarget(str(tmp_path / "d")).command_problem() is None


def test_the_bounding_set_is_cut_before_bwrap_starts(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable", lambda: None)
    argv = sandbox.sandbox_argv(str(tmp_path), ["mkinitrd", "x", "2.6.18"], {"PATH": "/sbin"})
    assert os.path.basename(argv[0]) == "setpriv"
    assert argv[1] == (
        "--bounding-set=-all,+chown,+dac_override,+fowner,+fsetid,+mknod,+sys_admin,+net_admin"
    )
    assert os.path.basename(argv[3]) == "bwrap"
    assert "--die-with-parent" in argv and "--unshare-pid" in argv
    assert argv[argv.index("--bind") + 1 : argv.index("--bind") + 3] == [str(tmp_path), "/"]
    assert argv[-4:] == ["--", "mkinitrd", "x", "2.6.18"]
    assert "CAP_SYS_ADMIN" not in argv
    loop = sandbox.sandbox_argv(str(tmp_path), ["mkinitrd", "x", "2.4.21"], {}, loop=True)
    assert "CAP_SYS_ADMIN" in loop


def test_an_offline_initrd_apply_rebuilds_in_the_sandbox_and_undo_restores(guest: Path):
    """The whole path: preflight, the guest's mkinitrd in the sandbox writing the build
    file it is given, the check, the rename over the image, the edits, and undo."""
    from apply_fixtures import nash_initrd, tree_state

    kver = "2.6.18-8.el5"
    image = guest / f"boot/initrd-{kver}.img"
    old_image = image.read_bytes()
    # As nash builds it: the virtio modules and what the LVM ext3 root needs.
    new_image = nash_initrd(("virtio", "virtio_ring", "virtio_blk", "virtio_pci"), kver)
    (guest / "prepared.img").write_bytes(new_image)
    put_tool(
        guest,
        "/sbin/mkinitrd",
        '#!/bin/sh\necho "mkinitrd $*"\nwhile [ $# -gt 2 ]; do shift; done\n'
        'cp /prepared.img "$1"\n',
    )
    before = tree_state(guest)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(wizard_apply(guest), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mkinitrd -f --with=virtio" in proc.stdout
    assert f"/boot/initrd-{kver}.img.virtio-wizard.new {kver}" in proc.stdout
    assert image.read_bytes() == new_image
    assert (guest / f"boot/initrd-{kver}.img.virtio.orig").read_bytes() == old_image
    assert not (guest / f"boot/initrd-{kver}.img.virtio-wizard.new").exists()
    assert mounts_under(guest) == []
    undone = subprocess.run(
        [sys.executable, "-m", "virtio_wizard", "undo", "--root", str(guest), "--yes"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert tree_state(guest) == before
