"""SELinux labels over SSH and on disk images: what those targets really do.

The local target copies every extended attribute onto the file it writes
(``test_xattrs``). The SSH target writes with the guest's ``sh`` (a temp
file, then ``mv``) and the image target through libguestfs (upload, then
rename): neither copies them, so both say ``keeps_xattrs`` false and an
SELinux guest gets ``/.autorelabel``, as virt-v2v's fallback does when it
cannot run setfiles (libguestfs-common ``mlcustomize/SELinux_relabel.ml``).
These tests prove it against the real sshd and a real libguestfs image: the
plan creates ``/.autorelabel`` and the preview says so; over SSH a label and
a user xattr set on fstab are really gone after apply (why the relabel is
needed), and undo removes the ``/.autorelabel`` apply made.

Integration tests: under ``CI=true`` a missing sshd, busybox or libguestfs
fails them (``.ci/run`` installs those), they never skip there.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from pathlib import Path

import pytest
from fleet_fixture import CHOICES, old_guest
from image_fixture import extract, make_image
from image_fixture import why_not as image_why_not
from sshd_fixture import SSHServer, unavailable
from wizard_cli import run_wizard

pytestmark = pytest.mark.integration

if os.environ.get("CI") == "true" and (unavailable() or image_why_not()):
    raise RuntimeError(
        f"CI must run the remote xattr tests, but: {unavailable() or image_why_not()}"
    )

LABEL = b"system_u:object_r:etc_t:s0\x00"
ATTRS = {"security.selinux": LABEL, "user.test": b"kept?"}
RELABEL_NOTE = "so the plan creates /.autorelabel"


def selinux_guest(where: Path) -> Path:
    guest = old_guest(where)
    (guest / "etc" / "selinux").mkdir(parents=True)
    (guest / "etc" / "selinux" / "config").write_text("SELINUX=enforcing\nSELINUXTYPE=targeted\n")
    return guest


def attrs(path: Path) -> dict[str, bytes]:
    out = {}
    for name in ATTRS:
        with contextlib.suppress(OSError):
            out[name] = os.getxattr(path, name)
    return out


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_ssh_target_drops_labels_so_the_plan_writes_autorelabel_and_says_so(tmp_path):
    guest = selinux_guest(tmp_path / "guest")
    fstab = guest / "etc" / "fstab"
    for name, value in ATTRS.items():
        os.setxattr(fstab, name, value)
    work = tmp_path / "sshd"
    work.mkdir()
    server = SSHServer(guest, work).start()
    env = dict(os.environ, VIRTIO_WIZARD_SSH_OPTIONS=shlex.join(server.client_options()))
    try:
        plan = run_wizard("--ssh", server.spec, "plan", *CHOICES, env=env)
        assert plan.returncode == 0, plan.stderr
        assert RELABEL_NOTE in " ".join(plan.stdout.split()), plan.stdout
        assert "create /.autorelabel" in plan.stdout or "+++ /.autorelabel" in plan.stdout
        done = run_wizard("--ssh", server.spec, "apply", *CHOICES, "-y", env=env, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (guest / ".autorelabel").is_file()
        assert b"/dev/vda" in fstab.read_bytes()
        assert attrs(fstab) == {}, "the SSH target does not copy xattrs (why it relabels)"
        undone = run_wizard("--ssh", server.spec, "undo", "-y", env=env, timeout=300)
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert not (guest / ".autorelabel").exists()
    finally:
        server.stop()


@pytest.mark.skipif(image_why_not() is not None, reason=str(image_why_not()))
def test_image_target_plans_and_writes_autorelabel_on_an_selinux_guest(tmp_path):
    guest = selinux_guest(tmp_path / "guest")
    image = make_image(guest, tmp_path / "disk.qcow2")
    done = run_wizard("--image", str(image), "apply", *CHOICES, "-y", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert RELABEL_NOTE in " ".join(done.stdout.split()), done.stdout
    after = extract(image, tmp_path / "after")
    assert (after / ".autorelabel").is_file()
    assert b"/dev/vda" in (after / "etc" / "fstab").read_bytes()
