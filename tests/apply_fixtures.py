"""Small guest trees, hand-built Plans and initrd images for the executor tests.

The executor is tested on plans written here by hand (not by the planner), so
a failure points at apply, journal or undo. Commands in these plans are real:
the target is a LocalTarget of kind ``local`` over a temp folder, so they run
on this machine (no chroot) and reach the guest tree by its host path.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.targets import LocalTarget

KVER = "2.6.18-92.el5"
FSTAB = "/dev/hda1 / ext3 defaults 1 1\n/dev/hda3 swap swap defaults 0 0\n"
NEW_FSTAB = "/dev/vda1 / ext3 defaults 1 1\n/dev/vda3 swap swap defaults 0 0\n"
GRUB = "kernel /vmlinuz root=/dev/hda1 ro\n"
NEW_GRUB = "kernel /vmlinuz root=/dev/vda1 ro\n"
MODULES = ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def newc(names: list[str], data: bytes = b"x") -> bytes:
    """A gzip-compressed newc cpio holding regular files ``names`` (like an initrd)."""
    out = bytearray()
    ino = 1

    def member(name: str, mode: int, body: bytes) -> None:
        nonlocal ino
        encoded = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(encoded), 0]
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(body)
        out.extend(b"\0" * (-len(out) % 4))
        ino += 1

    for name in names:
        member(name, 0o100644, data)
    member("TRAILER!!!", 0, b"")
    return gzip.compress(bytes(out), mtime=0)


def initrd_with(modules: tuple[str, ...], kver: str = KVER) -> bytes:
    base = f"lib/modules/{kver}/kernel/drivers"
    return newc(["init", "bin/sh", *(f"{base}/virtio/{m}.ko" for m in modules)])


def nash_initrd(modules: tuple[str, ...], kver: str = KVER) -> bytes:
    """A RHEL 5 nash image: the virtio ``modules`` and what its LVM ext3 root needs.

    Real nash images hold the root's file system modules (ext3, jbd),
    device-mapper and ``lvm.static`` as ``/bin/lvm``; apply checks a rebuilt
    image for them (``plan.rootneeds``), so a stand-in mkinitrd must make them.
    """
    base = f"lib/modules/{kver}/kernel/drivers"
    root = [f"{base}/md/dm-mod.ko", "lib/ext3.ko", "lib/jbd.ko", "bin/lvm"]
    return newc(["init", "bin/sh", *(f"{base}/virtio/{m}.ko" for m in modules), *root])


def make_guest(root: Path) -> Path:
    """A small RHEL-5-like tree: fstab, a grub.conf behind a symlink, an initrd."""
    (root / "etc").mkdir(parents=True)
    (root / "boot" / "grub").mkdir(parents=True)
    (root / "etc" / "fstab").write_text(FSTAB)
    os.chmod(root / "etc" / "fstab", 0o644)
    (root / "boot" / "grub" / "grub.conf").write_text(GRUB)
    os.chmod(root / "boot" / "grub" / "grub.conf", 0o600)
    os.symlink("../boot/grub/grub.conf", root / "etc" / "grub.conf")
    (root / "boot" / f"initrd-{KVER}.img").write_bytes(initrd_with(()))
    return root


def target_for(root: Path, **kw) -> LocalTarget:
    """A target whose commands run on this machine (kind local, see module doc)."""
    kw.setdefault("kind", "local")
    return LocalTarget(str(root), **kw)


def edit(root: Path, path: str, new_text: str, mode: Optional[int] = None) -> Step:
    """An edit step planned against the file as it is now."""
    host = root / path.lstrip("/")
    old = sha(host.read_bytes()) if host.exists() else None
    return Step(
        kind="edit", why=f"edit {path}", path=path, old_sha256=old, new_text=new_text, mode=mode
    )


def make_plan(*steps: Step, target: Optional[dict] = None, findings=()) -> Plan:
    return Plan(
        choices=Choices(),
        steps=tuple(steps),
        findings=tuple(findings),
        modules=MODULES,
        kernel=KVER,
        target=dict(target or {}),
    )


def rebuild_steps(root: Path, script: str, verify=MODULES) -> tuple[Step, Step]:
    """The initrd part of a plan: back the image up, then run ``script`` (sh)."""
    image = f"/boot/initrd-{KVER}.img"
    return (
        Step(kind="backup", why="keep the old initrd", path=image, to=image + ".vw-orig"),
        Step(
            kind="command",
            why="rebuild the initrd",
            argv=("sh", "-c", script),
            image=image,
            verify_modules=tuple(verify),
        ),
    )


def write_image_script(root: Path, data: bytes, name: str = "new.img") -> str:
    """A shell command that replaces the initrd with ``data``, as mkinitrd would."""
    src = root.parent / name
    src.write_bytes(data)
    return f"echo building; cp {src} {root}/boot/initrd-{KVER}.img; echo built"


def tree_state(root: Path) -> dict[str, tuple[bytes, int, int, int]]:
    """Every regular file under ``root`` outside the wizard's state: bytes, mode, owner."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel.startswith("var/lib/virtio-wizard") or os.path.islink(full):
                continue
            st = os.stat(full)
            out[rel] = (Path(full).read_bytes(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


# ---- apply in a child process, to be killed ----------------------------------------

REPO = Path(__file__).resolve().parent.parent

#: Applies a saved plan (argv: guest root, plan file) and prints the status.
APPLY_CHILD = """
import json, sys
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.plan.model import Plan
from virtio_wizard.targets import LocalTarget
plan = Plan.from_dict(json.load(open(sys.argv[2])))
print(apply_plan(LocalTarget(sys.argv[1], kind="local"), plan).status)
"""


def _child_argv(guest: Path, plan: Plan) -> list[str]:
    plan_file = guest.parent / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    return [sys.executable, "-c", APPLY_CHILD, str(guest), str(plan_file)]


def apply_in_child(guest: Path, plan: Plan, fault: str = "") -> subprocess.CompletedProcess:
    """Apply ``plan`` in a child process; ``fault`` (``step:N:PHASE``) makes it SIGKILL itself.

    See ``FAULT_ENV`` in the executor: the child kills itself at that write
    boundary, as a power cut or ``kill -9`` would stop it.
    """
    from virtio_wizard.apply.run import FAULT_ENV

    env = dict(os.environ, PYTHONPATH=str(REPO))
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run(
        _child_argv(guest, plan), env=env, capture_output=True, text=True, timeout=60
    )


def signal_mid_tool(guest: Path, plan: Plan, started: Path, sig: int) -> None:
    """Apply ``plan`` in a child of its own process group; once its tool has
    written ``started`` (half through its image), send ``sig`` to the whole
    group, as a dropped SSH session (SIGHUP), a TERM or a KILL would."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        _child_argv(guest, plan),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert child.poll() is None, "apply ended before the tool started"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(child.pid, sig)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
