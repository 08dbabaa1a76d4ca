"""What the root needs in a rebuilt initrd: rules, detection, and apply's refusal.

An image with every virtio module still cannot mount a root whose file
system module, LVM, MD or LUKS pieces it lacks. The plan carries those needs
on each rebuild (``Step.verify_members``); apply reads the new image and
refuses to put it in place when one is missing, naming it, and the old image
stays.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from apply_fixtures import KVER, MODULES, make_guest, make_plan, target_for
from initrd_factory import build_cpio, compress

from tests.plan_fixtures import facts, kernel
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.detect.rootstack import detect_multipath, detect_root_stack
from virtio_wizard.facts import BUILTIN, MISSING, MODULE, RootStack
from virtio_wizard.plan import Choices, plan
from virtio_wizard.plan.model import Step
from virtio_wizard.plan.rootneeds import decode, describe, root_needs, unmet
from virtio_wizard.preview import render_text

ROOT_MODULES = ("ext3", "ext4", "xfs", "dm_mod", "dm_crypt", "md_mod", "raid1", "raid456")


def states(**over: str) -> dict[str, str]:
    out = {m: MODULE for m in ROOT_MODULES}
    out.update(over)
    return out


def stack(kver: str = KVER, **kw) -> RootStack:
    kw.setdefault("kernel_modules", {kver: states()})
    return RootStack(**kw)


def needs_of(st: RootStack, tool: str = "dracut") -> list[str]:
    f = facts(kernels=(kernel(KVER),), root_stack=st, initrd_tool=tool)
    return [n.encode() for n in root_needs(f, f.kernels[0])]


# ---- the rules ------------------------------------------------------------------


def test_file_system_module_unless_built_in_or_absent():
    assert needs_of(stack(fstype="xfs")) == ["xfs for the root file system, xfs"]
    assert needs_of(stack(fstype="ext3")) == ["ext3|ext4 for the root file system, ext3"]
    built_in = stack(fstype="ext3", kernel_modules={KVER: states(ext4=BUILTIN)})
    assert needs_of(built_in) == []
    no_ext3 = stack(fstype="ext3", kernel_modules={KVER: states(ext3=MISSING)})
    assert needs_of(no_ext3) == ["ext4 for the root file system, ext3"]
    assert needs_of(stack(fstype="xfs", kernel_modules={})) == []  # answers not read
    assert needs_of(stack(fstype="nfs")) == []


def test_lvm_md_crypt_pieces_per_tool():
    lvm = needs_of(stack(lvm=True))
    assert lvm == [
        "dm_mod for device-mapper: root on LVM",
        "*bin/lvm for the lvm tool: root on LVM",
        "*/rules.d/*lvm*.rules|!*/rules.d/*.rules for LVM's udev rules: root on LVM, "
        "the image runs udev",
    ]
    md = needs_of(stack(md=True, md_levels=("raid1",)))
    assert md == ["md_mod for root on MD RAID", "raid1 for root on MD RAID",
                  "*bin/mdadm for mdadm: root on MD RAID"]  # fmt: skip
    assert "*bin/mdadm" not in " ".join(needs_of(stack(md=True), tool="mkinitrd"))
    raid5 = needs_of(stack(md=True, md_levels=("raid5",)))
    assert "raid456 for root on MD RAID" in raid5  # the kernel has raid456, not raid5
    crypt = needs_of(stack(crypt=True))
    assert crypt == [
        "dm_mod for device-mapper: root on LUKS",
        "dm_crypt for root on LUKS",
        "*bin/cryptsetup|*/systemd-cryptsetup for cryptsetup: root on LUKS",
    ]


def test_unmet_reads_members_globs_and_negations():
    needs = needs_of(stack(lvm=True))
    nash_like = {"/bin/lvm", "/init"}
    assert unmet(needs, nash_like, {"dm_mod"}) == []  # no udev at all: no rules needed
    udev = {"/usr/sbin/lvm", "/usr/lib/udev/rules.d/60-persistent-storage.rules"}
    [missing] = unmet(needs, udev, {"dm_mod"})
    assert missing.why.startswith("LVM's udev rules")
    assert describe([missing]) == (
        "*lvm*.rules (LVM's udev rules: root on LVM, the image runs udev)"
    )
    nash = needs_of(stack(lvm=True), tool="mkinitrd")
    assert not [n for n in nash if "rules.d" in n]  # nash runs no udev
    assert decode("a|b for c") == decode("a|b for c")


# ---- detection ------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


LVM_ON_MD_ON_LUKS = {
    "/etc/fstab": "/dev/mapper/vg--sys-root / xfs defaults 0 0\n",
    "/etc/lvm/backup/vg-sys": 'vg-sys {\n physical_volumes {\n  pv0 {\n   device = "/dev/md0"'
    '\t# Hint only\n  }\n  pv1 {\n   device = "/dev/mapper/luks-0a1b"\n  }\n }\n}\n',
    "/etc/mdadm.conf": "ARRAY /dev/md0 level=raid1 num-devices=2 UUID=a:b:c:d\n"
    "ARRAY /dev/md1 level=raid5 UUID=e:f:a:b\n",
    "/etc/crypttab": "luks-0a1b UUID=0a1b none luks\n",
    f"/boot/config-{KVER}": "CONFIG_XFS_FS=m\nCONFIG_BLK_DEV_DM=y\nCONFIG_DM_CRYPT=m\n"
    "CONFIG_BLK_DEV_MD=m\nCONFIG_MD_RAID1=m\n",
}


def test_detects_lvm_on_md_and_luks_from_the_vg_backup(tmp_path: Path):
    write(tmp_path, LVM_ON_MD_ON_LUKS)
    target = target_for(tmp_path)
    st = detect_root_stack(target, [kernel(KVER)])
    assert (st.device, st.fstype, st.lvm, st.md, st.crypt) == (
        "/dev/mapper/vg--sys-root", "xfs", True, True, True,
    )  # fmt: skip
    assert st.md_levels == ("raid1",)  # md0's level only
    assert st.kernel_modules[KVER]["dm_mod"] == BUILTIN
    assert st.kernel_modules[KVER]["xfs"] == MODULE
    assert st.kernel_modules[KVER]["raid456"] == MISSING
    assert "/etc/lvm/backup/vg-sys: PV /dev/md0, /dev/mapper/luks-0a1b" in st.evidence


def test_plain_partition_root_and_no_fstab(tmp_path: Path):
    write(tmp_path, {"/etc/fstab": "UUID=0a1b / ext4 defaults 1 1\n"})
    st = detect_root_stack(target_for(tmp_path))
    assert (st.fstype, st.lvm, st.md, st.crypt) == ("ext4", False, False, False)
    (tmp_path / "empty").mkdir()
    assert detect_root_stack(target_for(tmp_path / "empty")) is None
    assert detect_multipath(target_for(tmp_path)) is None


# ---- the plan carries them, the preview shows them -------------------------------


def test_plan_puts_root_needs_on_each_rebuild_and_previews_them():
    st = stack(KVER, fstype="xfs", lvm=True)
    f = facts(kernels=(kernel(KVER),), root_stack=st)
    p = plan(f, Choices(method="initrd"), {})
    [rebuild] = [s for s in p.steps if s.kind == "command" and s.image]
    assert rebuild.verify_members[0] == "xfs for the root file system, xfs"
    text = render_text(p)
    assert "and what the root needs: xfs (the root file system, xfs)" in text
    from virtio_wizard.plan.saved import differences, plan_from_document

    assert differences(plan_from_document(p.to_dict()), p) == []


# ---- apply refuses an image without them; the old one stays ----------------------

BUILD = f"/boot/initrd-{KVER}.img.virtio-wizard.new"
VIRTIO = [f"lib/modules/{KVER}/kernel/drivers/virtio/{m}.ko" for m in MODULES]
MOD = f"lib/modules/{KVER}/kernel"
FULL = {
    f"{MOD}/fs/xfs/xfs.ko": "xfs",
    f"{MOD}/drivers/md/dm-mod.ko": "dm_mod",
    f"{MOD}/drivers/md/dm-crypt.ko": "dm_crypt",
    f"{MOD}/drivers/md/md-mod.ko": "md_mod",
    f"{MOD}/drivers/md/raid1.ko": "raid1",
    "usr/sbin/lvm": "lvm",
    "usr/lib/udev/rules.d/64-lvm.rules": "lvm-rules",
    "usr/lib/udev/rules.d/60-persistent-storage.rules": "rules",
    "usr/sbin/mdadm": "mdadm",
    "usr/sbin/cryptsetup": "cryptsetup",
}
ALL_NEEDS = needs_of(stack(fstype="xfs", lvm=True, md=True, md_levels=("raid1",), crypt=True))


def image(leave_out: str = "") -> bytes:
    files = {name: b"x" for name in VIRTIO}
    files.update({k: b"x" for k, v in FULL.items() if v != leave_out})
    return compress(build_cpio(files), "gzip")


def rebuild(root: Path, data: bytes) -> Step:
    src = root.parent / "built.img"
    src.write_bytes(data)
    return Step(
        kind="command",
        why="rebuild the initrd",
        argv=("sh", "-c", f"cp {src} {root}{BUILD}"),
        image=f"/boot/initrd-{KVER}.img",
        verify_modules=MODULES,
        build=BUILD,
        verify_members=tuple(ALL_NEEDS),
    )


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        ("xfs", "xfs (the root file system, xfs)"),
        ("dm_mod", "dm_mod (device-mapper: root on LVM and LUKS)"),
        ("lvm", "lvm (the lvm tool: root on LVM)"),
        ("lvm-rules", "*lvm*.rules (LVM's udev rules: root on LVM"),
        ("md_mod", "md_mod (root on MD RAID)"),
        ("raid1", "raid1 (root on MD RAID)"),
        ("mdadm", "mdadm (mdadm: root on MD RAID)"),
        ("dm_crypt", "dm_crypt (root on LUKS)"),
        ("cryptsetup", "cryptsetup or systemd-cryptsetup (cryptsetup: root on LUKS)"),
    ],
)
def test_apply_refuses_an_image_without_what_the_root_needs(
    tmp_path: Path, left_out: str, named: str
):
    root = make_guest(tmp_path / "guest")
    old = (root / f"boot/initrd-{KVER}.img").read_bytes()
    result = apply_plan(target_for(root), make_plan(rebuild(root, image(leave_out=left_out))))
    assert result.status == "failed"
    message = " ".join(result.messages)
    assert "lacks what the root needs: " + named in message, message
    assert f"/boot/initrd-{KVER}.img is unchanged" in message
    assert (root / f"boot/initrd-{KVER}.img").read_bytes() == old
    assert not (root / BUILD.lstrip("/")).exists()


def test_apply_takes_an_image_with_everything(tmp_path: Path):
    root = make_guest(tmp_path / "guest")
    result = apply_plan(target_for(root), make_plan(rebuild(root, image())))
    assert result.status == "done", result.messages
    assert (root / f"boot/initrd-{KVER}.img").read_bytes() == image()


def test_needs_met_by_facts_with_everything_built_in_ask_only_tools():
    built_in = {m: BUILTIN for m in ROOT_MODULES}
    st = stack(fstype="xfs", lvm=True, kernel_modules={KVER: built_in})
    assert [decode(n).any_of for n in needs_of(st)] == [
        ("*bin/lvm",),
        ("*/rules.d/*lvm*.rules", "!*/rules.d/*.rules"),
    ]
    assert dataclasses.replace(st, lvm=False).lvm is False


def test_without_a_config_modules_dep_and_builtin_answer(tmp_path: Path):
    write(
        tmp_path,
        {
            "/etc/fstab": "/dev/sda1 / xfs defaults 0 0\n",
            f"/lib/modules/{KVER}/modules.dep": "kernel/fs/xfs/xfs.ko.xz: kernel/lib/crc.ko\n",
            f"/lib/modules/{KVER}/modules.builtin": "kernel/fs/ext4/ext4.ko\n",
        },
    )
    st = detect_root_stack(target_for(tmp_path), [kernel(KVER)])
    modules = st.kernel_modules[KVER]
    assert (modules["xfs"], modules["ext4"], modules["btrfs"]) == (MODULE, BUILTIN, MISSING)
