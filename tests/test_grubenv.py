"""RHEL 8's grubenv ``kernelopts``: renamed like BLS options, the block kept 1024 bytes.

BLS entries on RHEL 8 say ``options $kernelopts`` and grub expands it from
``/boot/grub2/grubenv``, a block grub reads as exactly 1024 bytes padded with
``#``: the plan renames its root=/resume= names, pads it back to 1024 bytes
(also when ``UUID=`` makes the line longer), previews it, and apply/undo
write and restore it byte for byte.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from apply_fixtures import target_for, tree_state

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.plan import plan as plan_pure
from virtio_wizard.plan.grubenv import repad
from virtio_wizard.preview import render_text

KVER = "4.18.0-513.el8.x86_64"
GRUBENV = "/boot/grub2/grubenv"
CONFIG = "".join(
    f"CONFIG_{s}=m\n" for s in ("VIRTIO", "VIRTIO_RING", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI")
)


def grubenv(kernelopts: str, size: int = 1024) -> bytes:
    body = (
        "# GRUB Environment Block\n"
        f"saved_entry=abc-{KVER}\n"
        f"kernelopts={kernelopts}\n"
        "boot_success=0\n"
    )
    return (body + "#" * (size - len(body))).encode()


FILES = {
    "/etc/os-release": 'ID="rhel"\nVERSION_ID="8.9"\nPRETTY_NAME="Red Hat Enterprise Linux 8.9"\n',
    "/etc/redhat-release": "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
    f"/boot/vmlinuz-{KVER}": "kernel",
    f"/boot/config-{KVER}": CONFIG,
    f"/lib/modules/{KVER}/modules.order": "",
    "/etc/fstab": "/dev/sda2 / xfs defaults 0 0\n/dev/sda3 swap swap defaults 0 0\n",
    "/boot/grub2/grub.cfg": 'set default="${saved_entry}"\nblscfg\n',
    f"/boot/loader/entries/abc-{KVER}.conf": f"title RHEL 8\nversion {KVER}\n"
    f"linux /vmlinuz-{KVER}\ninitrd /initramfs-{KVER}.img\noptions $kernelopts\n",
}
OPTS = "root=/dev/sda2 ro resume=/dev/sda3 rhgb quiet"


def guest(tmp_path: Path, env: bytes) -> Path:
    root = tmp_path / "guest"
    for rel, text in FILES.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / GRUBENV.lstrip("/")).write_bytes(env)
    return root


def net_and_names() -> Choices:
    """Disk names only (net driver, names fixed): no initrd rebuild to run here."""
    return Choices(method="initrd", block=True, net=True, all_kernels=False)


def test_kernelopts_names_are_detected(tmp_path: Path) -> None:
    facts = detect(target_for(guest(tmp_path, grubenv(OPTS))), read_initrds=False)
    found = {(r.context, r.device, r.proposed) for r in facts.disk_refs if r.file == GRUBENV}
    assert found == {
        ("grubenv-kernelopts", "/dev/sda2", "/dev/vda2"),
        ("grubenv-kernelopts", "/dev/sda3", "/dev/vda3"),
    }


def _grubenv_step(plan):
    [step] = [s for s in plan.steps if s.path == GRUBENV]
    return step


def test_plan_renames_kernelopts_keeps_1024_bytes_and_previews_it(tmp_path: Path) -> None:
    target = target_for(guest(tmp_path, grubenv(OPTS)))
    facts = detect(target, read_initrds=False)
    plan = make_plan(target, facts, net_and_names())
    step = _grubenv_step(plan)
    new = step.new_bytes()
    assert len(new) == 1024
    assert b"kernelopts=root=/dev/vda2 ro resume=/dev/vda3 rhgb quiet\n" in new
    assert new.startswith(b"# GRUB Environment Block\n") and new.endswith(b"#")
    [note] = [f for f in plan.findings if f.id == "grubenv-kernelopts"]
    assert "stays 1024 bytes" in note.message
    shown = render_text(plan)
    assert GRUBENV in shown and "+kernelopts=root=/dev/vda2" in shown


def test_uuid_makes_the_line_longer_and_the_padding_shorter(tmp_path: Path) -> None:
    from virtio_wizard.plan import read_files
    from virtio_wizard.plan.needs import files_needed

    target = target_for(guest(tmp_path, grubenv(OPTS)))
    facts = detect(target, read_initrds=False)
    uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    refs = tuple(
        dataclasses.replace(r, uuid=uuid) if r.device == "/dev/sda2" else r for r in facts.disk_refs
    )
    facts = dataclasses.replace(facts, disk_refs=refs)
    choices = dataclasses.replace(net_and_names(), use_uuid=True)
    plan = plan_pure(facts, choices, read_files(target, files_needed(facts, choices)))
    new = _grubenv_step(plan).new_bytes()
    assert len(new) == 1024
    assert f"kernelopts=root=UUID={uuid} ro resume=/dev/vda3".encode() in new
    assert new.count(b"#") == grubenv(OPTS).count(b"#") - (len(f"UUID={uuid}") - len("/dev/sda2"))


def test_names_that_no_longer_fit_the_block_leave_it_alone_and_warn(tmp_path: Path) -> None:
    from virtio_wizard.plan import read_files
    from virtio_wizard.plan.needs import files_needed

    long_opts = "root=/dev/sda2 " + "x" * 900  # nearly the whole block
    target = target_for(guest(tmp_path, grubenv(long_opts)))
    facts = detect(target, read_initrds=False)
    refs = tuple(dataclasses.replace(r, uuid="a" * 36) for r in facts.disk_refs)
    facts = dataclasses.replace(facts, disk_refs=refs)
    choices = dataclasses.replace(net_and_names(), use_uuid=True)
    plan = plan_pure(facts, choices, read_files(target, files_needed(facts, choices)))
    assert not [s for s in plan.steps if s.path == GRUBENV]
    [warn] = [f for f in plan.findings if f.id == "grubenv-full"]
    assert "1024-byte block" in warn.message and "grub2-mkconfig" in warn.remedy.advice


def test_apply_writes_exactly_1024_bytes_and_undo_restores_them(tmp_path: Path) -> None:
    root = guest(tmp_path, grubenv(OPTS))
    target = target_for(root)
    facts = detect(target, read_initrds=False)
    plan = make_plan(target, facts, net_and_names())
    plan = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s.kind == "edit"))
    before = tree_state(root)
    original = (root / GRUBENV.lstrip("/")).read_bytes()
    assert apply_plan(target, plan).status == "done"
    written = (root / GRUBENV.lstrip("/")).read_bytes()
    assert len(written) == 1024 and written != original
    assert b"root=/dev/vda2" in written
    assert undo(target).status == "done"
    assert (root / GRUBENV.lstrip("/")).read_bytes() == original
    assert tree_state(root) == before


def test_repad_refuses_text_that_is_no_padded_block() -> None:
    assert repad("kernelopts=x\nboot_success=0", 64) is None
    assert repad("a=b\n" + "#" * 4, 8) == "a=b\n####"
    assert repad("a=bbbbbbbb\n", 8) is None
