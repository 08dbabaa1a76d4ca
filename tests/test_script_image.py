"""The exported script's check of a rebuilt initrd, run for real under busybox sh and dash.

Apply refuses a rebuilt image that lacks a virtio driver or what the root
needs (``plan.rootneeds``); the script must refuse the same images with the
guest's own tools. Each test builds a real image (every compression the
wizard reads, an early microcode archive in front, RHEL 3's gzipped ext2),
runs the exported script chrooted into a small busybox guest, and checks
what it did to ``/boot``. The regular expressions the script greps with are
also held against ``rootneeds.unmet`` itself, on GNU grep and busybox grep.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest
from apply_fixtures import KVER, MODULES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from initrd_factory import MKE2FS, build_cpio, build_early_cpio, compress
from sshd_fixture import install_binary
from test_script import SHELLS, chroot_ok, make_guest, run_script

from virtio_wizard.initrd.info import module_name
from virtio_wizard.plan import rootneeds as rn
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.script import write_script
from virtio_wizard.script_image import alternative_eres

if chroot_ok() and os.environ.get("CI") == "true":
    # CI installs busybox and runs as root: these tests prove the script, so never skip there.
    pytest.fail(f"the script tests cannot run: {chroot_ok()}", pytrace=False)
needs_chroot = pytest.mark.skipif(chroot_ok() is not None, reason=str(chroot_ok()))

IMAGE = f"/boot/initrd-{KVER}.img"
BUILD = f"/boot/initrd-{KVER}.img.vw-new"
LIB = f"lib/modules/{KVER}/kernel"
#: What an LVM root on ext3 asks of a udev (dracut) image, as the planner encodes it.
LVM_NEEDS = (
    rn.Need(("ext3", "ext4"), "the root file system, ext3").encode(),
    rn.Need(("dm_mod",), "device-mapper: root on LVM").encode(),
    rn.Need(rn.LVM_TOOL, "the lvm tool: root on LVM").encode(),
    rn.Need(rn.LVM_RULES, "LVM's udev rules: root on LVM, the image runs udev").encode(),
)
VIRTIO = {f"{LIB}/drivers/virtio/{m}.ko": b"\x7fELF" for m in MODULES}
LVM_ROOT = {
    f"{LIB}/fs/ext3/ext3.ko.xz": b"\x7fELF",
    f"{LIB}/drivers/md/dm-mod.ko.xz": b"\x7fELF",
    "usr/sbin/lvm": b"\x7fELF",
    "usr/lib/udev/rules.d/64-lvm.rules": b"# lvm\n",
    "usr/lib/udev/rules.d/50-udev-default.rules": b"# udev\n",
}


def image(files: dict[str, bytes], fmt: str = "gzip", early: bool = False, **kw) -> bytes:
    """A newc initrd of ``files`` (``fmt="cpio"``: uncompressed), ``sbin`` linked to usr/sbin."""
    main = build_cpio(files, symlinks={"sbin": "usr/sbin"}, **kw)
    main = main if fmt == "cpio" else compress(main, fmt)
    return (build_early_cpio() if early else b"") + main


def rebuild_plan(root: Path, new: bytes, members=LVM_NEEDS, build: Optional[str] = BUILD) -> Plan:
    """A plan whose one command "rebuilds" the initrd by copying ``new`` into place."""
    (root / "boot" / "made.img").write_bytes(new)
    out = build or IMAGE
    step = Step(
        kind="command",
        why="rebuild the initrd",
        argv=("sh", "-c", f"cp /boot/made.img {out}"),
        image=IMAGE,
        verify_modules=MODULES,
        verify_members=tuple(members),
        build=build,
    )
    return Plan(choices=Choices(), steps=(step,), modules=MODULES, kernel=KVER)


def run(tmp_path: Path, new: bytes, shell: str = "/bin/busybox sh", tools=(), **kw):
    """Export the plan, run it in a fresh guest; (process, guest root, old image bytes)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = make_guest(tmp_path / "guest")
    for tool in tools:
        install_binary(root, shutil.which(tool) or tool)
    plan = rebuild_plan(root, new, **kw)
    script = Path(write_script(plan, os.fspath(tmp_path / "plan.sh")))
    old = (root / IMAGE.lstrip("/")).read_bytes()
    return run_script(root, script, shell=shell), root, old


def boot(root: Path, path: str = IMAGE) -> bytes:
    return (root / path.lstrip("/")).read_bytes()


# ---- the regular expressions mean what rootneeds.unmet means ----

PATHS = [
    "/usr/sbin/lvm", "/sbin/lvm", "/bin/lvm", "/usr/sbin/lvm.static", "/usr/bin/lvmdump",
    "/usr/lib/udev/rules.d/64-lvm.rules", "/lib/udev/rules.d/69-dm-lvm.rules",
    "/usr/lib/udev/rules.d/50-udev-default.rules", "/etc/rules.d/lvm.rulesx",
    f"/{LIB}/drivers/md/dm-mod.ko.xz", f"/{LIB}/drivers/md/dm_mod.ko", "/lib/dm-mod.o",
    "/etc/dm-mod.ko", f"/{LIB}/drivers/md/dm-crypt.ko.zst", f"/{LIB}/fs/ext4/ext4.ko.gz",
    f"/{LIB}/fs/ext3/ext3.ko.bz2", "/usr/sbin/cryptsetup", "/usr/lib/systemd/systemd-cryptsetup",
    "/sbin/mdadm", f"/{LIB}/drivers/md/raid456.ko", f"/{LIB}/drivers/md/xdm_mod.ko",
]  # fmt: skip
ALTS = [
    *rn.LVM_TOOL, *rn.LVM_RULES, *rn.MDADM_TOOL, *rn.CRYPT_TOOL, "dm_mod", "dm_crypt", "ext3",
    "ext4", "raid456", "md_mod", "lvm",
]  # fmt: skip
GREPS = [["grep", "-E"]]
if os.path.exists("/bin/busybox"):
    GREPS.append(["/bin/busybox", "grep", "-E"])


def python_met(alt: str, paths: set[str]) -> bool:
    modules = {m for p in paths if (m := module_name(p)) is not None}
    return not rn.unmet([f"{alt} for x"], paths, modules)


def grep_met(grep: list[str], alt: str, listing: Path) -> bool:
    path_ere, _raw = alternative_eres(alt)
    negated = path_ere.startswith("!")
    found = subprocess.run([*grep, "-q", "-e", path_ere.lstrip("!"), str(listing)]).returncode == 0
    return found != negated


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paths=st.sets(st.sampled_from(PATHS), max_size=8), alt=st.sampled_from(ALTS))
def test_the_script_regexes_agree_with_unmet(tmp_path: Path, paths: set[str], alt: str) -> None:
    listing = tmp_path / "members"
    listing.write_text("".join(p + "\n" for p in sorted(paths)))
    for grep in GREPS:
        assert grep_met(grep, alt, listing) == python_met(alt, paths), (grep[0], alt, paths)


def test_a_bracket_glob_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="bracket globs"):
        alternative_eres("*/rules.d/[0-9]*.rules")


# ---- the script, on real images ----


@needs_chroot
@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "fmt, early, tools",
    [
        ("gzip", False, ()),
        ("xz", False, ()),
        ("lzma", False, ()),
        ("bzip2", False, ()),
        ("cpio", False, ()),
        ("zstd", True, ("zstd",)),
        ("lz4", True, ("lz4",)),
        ("gzip", True, ()),
    ],
)
def test_an_image_holding_everything_replaces_the_old_one(
    tmp_path: Path, shell: str, fmt: str, early: bool, tools: tuple[str, ...]
) -> None:
    new = image({**VIRTIO, **LVM_ROOT}, fmt, early)
    proc, root, _old = run(tmp_path, new, shell, tools)
    assert proc.returncode == 0, proc.stderr
    assert boot(root) == new
    assert not (root / BUILD.lstrip("/")).exists()
    assert "cannot look inside" not in proc.stdout
    again = run_script(root, tmp_path / "plan.sh", shell=shell)
    assert again.returncode == 0, again.stderr
    assert "already holds the virtio drivers and what the root needs" in again.stdout


@needs_chroot
@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "drop, said",
    [
        ("usr/sbin/lvm", "lvm (the lvm tool: root on LVM)"),
        (f"{LIB}/drivers/md/dm-mod.ko.xz", "dm_mod (device-mapper: root on LVM)"),
        (f"{LIB}/fs/ext3/ext3.ko.xz", "ext3 or ext4 (the root file system, ext3)"),
        ("usr/lib/udev/rules.d/64-lvm.rules", "*lvm*.rules (LVM's udev rules"),
        (f"{LIB}/drivers/virtio/virtio_blk.ko", "virtio_blk (a virtio driver)"),
    ],
)
def test_an_image_lacking_a_root_need_never_replaces_the_old_one(
    tmp_path: Path, shell: str, drop: str, said: str
) -> None:
    files = {k: v for k, v in {**VIRTIO, **LVM_ROOT}.items() if k != drop}
    proc, root, old = run(tmp_path, image(files, "gzip", True), shell)
    assert proc.returncode == 1
    assert f"error: {BUILD} lacks: " in proc.stderr
    assert said in proc.stderr
    assert f"{IMAGE} is unchanged" in proc.stderr
    assert boot(root) == old
    assert not (root / BUILD.lstrip("/")).exists()


@needs_chroot
def test_an_image_without_udev_rules_needs_no_lvm_rules(tmp_path: Path) -> None:
    """``!*/rules.d/*.rules``: an image that runs no udev is not asked for LVM's rules."""
    files = {k: v for k, v in {**VIRTIO, **LVM_ROOT}.items() if "rules.d" not in k}
    proc, root, _old = run(tmp_path, image(files, "xz"))
    assert proc.returncode == 0, proc.stderr
    assert boot(root) == image(files, "xz")


@needs_chroot
def test_an_image_built_in_place_names_the_way_back(tmp_path: Path) -> None:
    """An old plan without a build file: the image is already replaced, so say how to undo."""
    files = {k: v for k, v in {**VIRTIO, **LVM_ROOT}.items() if k != "usr/sbin/lvm"}
    proc, root, old = run(tmp_path, image(files), build=None)
    assert proc.returncode == 1
    assert "the old image is kept: undo with sh /vw-plan.sh --undo" in proc.stderr
    undo = run_script(root, tmp_path / "plan.sh", "--undo")
    assert undo.returncode == 0, undo.stderr
    assert boot(root) == old


@needs_chroot
def test_an_image_the_guest_cannot_read_stays_beside_the_old_one(tmp_path: Path) -> None:
    """No zstd on this guest: nothing is replaced, and the user is told what to check."""
    new = image({**VIRTIO, **LVM_ROOT}, "zstd")
    proc, root, old = run(tmp_path, new)
    assert proc.returncode == 1
    assert f"cannot look inside {BUILD} on this guest" in proc.stderr
    assert "lvm (the lvm tool: root on LVM)" in proc.stderr
    assert f"mv {BUILD} {IMAGE}" in proc.stderr
    assert boot(root) == old
    assert boot(root, BUILD) == new


@needs_chroot
@pytest.mark.skipif(MKE2FS is None, reason="mke2fs is needed for a RHEL 3 image")
@pytest.mark.parametrize("shell", SHELLS)
def test_a_rhel3_ext2_image_is_checked_by_base_name(tmp_path: Path, shell: str) -> None:
    from initrd_factory import build_ext2_initrd

    lib = "lib"  # RHEL 3's mkinitrd puts the .o modules straight in /lib
    files = {f"{lib}/{m}.o": b"\x7fELF" for m in MODULES}
    files.update({f"{lib}/ext3.o": b"\x7fELF", f"{lib}/jbd.o": b"\x7fELF", "bin/nash": b"x"})
    nash = (rn.Need(("ext3", "ext4"), "the root file system, ext3").encode(),)
    good = build_ext2_initrd(tmp_path / "good", files)
    proc, root, _old = run(tmp_path / "a", good, shell, members=nash)
    assert proc.returncode == 0, proc.stderr
    assert boot(root) == good
    bad = build_ext2_initrd(tmp_path / "bad", {k: v for k, v in files.items() if "ext3" not in k})
    proc, root, old = run(tmp_path / "b", bad, shell, members=nash)
    assert proc.returncode == 1
    assert "ext3 or ext4 (the root file system, ext3)" in proc.stderr
    assert boot(root) == old


@needs_chroot
def test_a_guest_missing_a_listing_tool_cannot_tell_rather_than_lacks(tmp_path: Path) -> None:
    """Without ``od`` the script cannot read the image: it must not call it lacking."""
    new = image({**VIRTIO, **LVM_ROOT})
    root = make_guest(tmp_path / "guest")
    (root / "bin" / "od").unlink()
    plan = rebuild_plan(root, new)
    script = Path(write_script(plan, os.fspath(tmp_path / "plan.sh")))
    proc = run_script(root, script)
    assert proc.returncode == 1
    assert " lacks: " not in proc.stderr
    assert f"cannot look inside {BUILD} on this guest" in proc.stderr
    assert boot(root, BUILD) == new
