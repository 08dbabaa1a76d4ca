"""SELinux labels, POSIX ACLs and user xattrs survive apply, backups and undo.

The hostile report: a label, an ACL and ``user.test`` set on rc.sysinit were
all gone after apply and after undo (the atomic rename made a new inode).
The test sets them on the guest copy (tmpfs and ext4 keep all three for
root); where the Target cannot keep labels the plan writes /.autorelabel and
says so; a hard-linked file is named.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

import virtio_wizard.targets.hostfs as hostfs
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, make_plan

LABEL = b"system_u:object_r:initrc_exec_t:s0\x00"
# A POSIX ACL (user::rwx, user:1000:r--, group::r-x, mask::r-x, other::r-x).
ACL = (
    b"\x02\x00\x00\x00"
    + b"\x01\x00\x07\x00\xff\xff\xff\xff"
    + b"\x02\x00\x04\x00\xe8\x03\x00\x00"
    + b"\x04\x00\x05\x00\xff\xff\xff\xff"
    + b"\x10\x00\x05\x00\xff\xff\xff\xff"
    + b"\x20\x00\x05\x00\xff\xff\xff\xff"
)
ATTRS = {"security.selinux": LABEL, "system.posix_acl_access": ACL, "user.test": b"kept"}
#: The guide's rc.sysinit named (the default is the file recommended for the release).
SYSINIT = Choices(method="sysinit", block=False, sysinit_file="/etc/rc.d/rc.sysinit")
RC = "etc/rc.d/rc.sysinit"


def label(path: Path) -> dict[str, bytes]:
    out = {}
    for name in ATTRS:
        with contextlib.suppress(OSError):
            out[name] = os.getxattr(path, name)
    return out


def set_attrs(path: Path) -> None:
    for name, value in ATTRS.items():
        try:
            os.setxattr(path, name, value)
        except OSError as exc:  # pragma: no cover - the machine decides
            pytest.fail(f"this file system does not keep {name} ({exc}): run as root on tmpfs/ext4")


def test_label_acl_and_user_xattr_survive_apply_and_undo(guest_root):
    target = guest_root("rhel5ga")
    rc = Path(target.root) / RC
    set_attrs(rc)
    before = rc.read_bytes()
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    assert "/etc/rc.d/rc.sysinit" in [s.path for s in plan.steps]
    assert "selinux-autorelabel" not in [f.id for f in plan.findings]  # the Target keeps them
    result = apply_plan(target, plan)
    assert result.ok, result.messages
    assert rc.read_bytes() != before
    assert label(rc) == ATTRS
    assert os.stat(rc).st_mode & 0o777 == 0o755  # the ACL's mask left the mode as it was
    undone = undo(target)
    assert undone.status == "done"
    assert rc.read_bytes() == before
    assert label(rc) == ATTRS


def test_a_label_that_cannot_be_kept_is_said(guest_root, monkeypatch):
    target = guest_root("rhel5ga")
    rc = Path(target.root) / RC
    set_attrs(rc)
    real = hostfs.set_xattrs

    def refuse_labels(fd, attrs):
        lost = real(fd, {k: v for k, v in attrs.items() if k != "security.selinux"})
        return (*lost, *(["security.selinux"] if "security.selinux" in attrs else []))

    monkeypatch.setattr(hostfs, "set_xattrs", refuse_labels)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    result = apply_plan(target, plan)
    assert result.ok
    assert any(
        "could not keep security.selinux" in m and "/.autorelabel" in m for m in result.messages
    ), result.messages


def test_a_target_that_cannot_keep_labels_gets_autorelabel_on_an_selinux_guest(
    guest_root, monkeypatch
):
    target = guest_root("rhel5ga")
    (Path(target.root) / "etc/selinux").mkdir(parents=True, exist_ok=True)
    (Path(target.root) / "etc/selinux/config").write_text("SELINUX=enforcing\nSELINUXTYPE=x\n")
    monkeypatch.setattr(type(target), "keeps_xattrs", False)
    facts = detect(target, read_initrds=False)
    assert facts.selinux == "enforcing" and not facts.target.keeps_xattrs
    plan = make_plan(target, facts, SYSINIT)
    created = [s for s in plan.steps if s.path == "/.autorelabel"]
    assert len(created) == 1 and created[0].old_sha256 is None and created[0].new_text == ""
    [note] = [f for f in plan.findings if f.id == "selinux-autorelabel"]
    assert "/.autorelabel" in note.message
    from virtio_wizard.preview import render_text

    assert "create /.autorelabel" in render_text(plan)


def test_a_hard_linked_file_is_named(guest_root):
    target = guest_root("rhel5ga")
    os.link(Path(target.root) / RC, Path(target.root) / "etc/rc.sysinit.hardlink")
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    [warn] = [f for f in plan.findings if f.id == "file-hard-linked"]
    assert "/etc/rc.d/rc.sysinit has other hard links" in warn.message
