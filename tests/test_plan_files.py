"""Gathering the plan's files through a Target, on tiny guest trees in tmp_path."""

from __future__ import annotations

import os

from tests.plan_fixtures import HOOK, IMAGE, RC_SYSINIT, facts, kernel, ref
from virtio_wizard.facts import Distro
from virtio_wizard.plan import Choices, files_needed, make_plan, read_files
from virtio_wizard.plan.defaults import sysinit_file_candidates, sysinit_file_default
from virtio_wizard.plan.files import backup_candidates, is_probe
from virtio_wizard.targets import LocalTarget

RC = "/etc/rc.d/rc.sysinit"

GRUB_TEXT = "title RHEL\n\tkernel /vmlinuz ro root=/dev/hda2\n"


def write(root, path, data, mode=0o644):
    host = root / path.lstrip("/")
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(data)
    os.chmod(host, mode)
    return host


def test_files_needed_per_method():
    f = facts(
        disk_refs=(
            ref("/etc/fstab", 1, "/dev/hda1", "/dev/vda1", context="fstab"),
            ref("/proc/swaps", 2, "/dev/hda3", "/dev/vda3", context="swaps"),
        )
    )
    sysinit = files_needed(f, Choices(method="sysinit", block=False, sysinit_file=RC))
    assert sysinit == ["/etc/rc.d/rc.sysinit", "/etc/modprobe.conf"]
    initrd = files_needed(f, Choices(method="initrd"))
    assert initrd[:2] == [IMAGE + ".virtio.orig", IMAGE + ".virtio-wizard.bak"]
    assert initrd[-1] == "/etc/fstab" and "/proc/swaps" not in initrd
    dracut = files_needed(facts(initrd_tool="dracut"), Choices(method="initrd"))
    assert dracut[0] == "/etc/dracut.conf.d/virtio.conf"
    cpio = files_needed(facts(initrd_tool="mkinitcpio"), Choices(method="initrd"))
    assert "/etc/mkinitcpio.conf.d/" in cpio
    odd = files_needed(f, Choices(method="sysinit", block=False, sysinit_file="/x"))
    assert odd == ["/etc/modprobe.conf"]


def test_backup_candidates_are_probes():
    names = backup_candidates(IMAGE)
    assert names[0].endswith(".virtio.orig") and len(names) == 11
    assert all(is_probe(n) for n in names)
    assert is_probe("/etc/mkinitcpio.conf.d/") and not is_probe("/etc/fstab")


def test_read_files_resolves_links_and_records_modes(tmp_path):
    write(tmp_path, "/boot/grub/grub.conf", GRUB_TEXT.encode(), 0o600)
    (tmp_path / "etc").mkdir()
    os.symlink("/boot/grub/grub.conf", tmp_path / "etc" / "grub.conf")
    write(tmp_path, IMAGE + ".virtio.orig", b"\x1f\x8b" + b"x" * 100)
    (tmp_path / "etc" / "mkinitcpio.conf.d").mkdir()
    t = LocalTarget(str(tmp_path))
    got = read_files(
        t,
        [
            "/etc/grub.conf",
            "/etc/fstab",
            IMAGE + ".virtio.orig",
            IMAGE + ".virtio-wizard.bak",
            "/etc/mkinitcpio.conf.d/",
            "/etc/dracut.conf.d/",
        ],
    )
    assert got["/etc/grub.conf"] == GRUB_TEXT.encode()
    assert got.real == {"/etc/grub.conf": "/boot/grub/grub.conf"}
    assert got.modes == {"/etc/grub.conf": 0o600}
    assert got["/etc/fstab"] is None
    assert got[IMAGE + ".virtio.orig"] == b""  # present, never read
    assert got[IMAGE + ".virtio-wizard.bak"] is None
    assert got["/etc/mkinitcpio.conf.d/"] == b"" and got["/etc/dracut.conf.d/"] is None


def test_a_fifo_or_link_loop_is_refused_not_taken_for_absent(tmp_path):
    (tmp_path / "etc/rc.d").mkdir(parents=True)
    os.mkfifo(tmp_path / "etc" / "fstab")
    os.symlink("rc.sysinit", tmp_path / "etc/rc.d/rc.sysinit")
    t = LocalTarget(str(tmp_path))
    got = read_files(t, ["/etc/fstab", "/etc/rc.d/rc.sysinit"])
    assert got["/etc/fstab"] is None and got.errors["/etc/fstab"] == "not a regular file"
    assert got.errors["/etc/rc.d/rc.sysinit"] == "too many levels of symbolic links"
    p = make_plan(t, facts(), Choices(method="sysinit", block=False, sysinit_file=RC))
    (r,) = p.refusals
    assert r.id == "file-unreadable"
    assert r.message == (
        "/etc/rc.d/rc.sysinit cannot be used: too many levels of symbolic links; "
        "the wizard will not edit or replace it."
    )
    assert p.steps == ()


def test_make_plan_edits_the_real_grub_conf_and_keeps_its_mode(tmp_path):
    write(tmp_path, "/boot/grub/grub.conf", GRUB_TEXT.encode(), 0o600)
    (tmp_path / "etc").mkdir()
    os.symlink("../boot/grub/grub.conf", tmp_path / "etc" / "grub.conf")
    refs = (ref("/etc/grub.conf", 2, "/dev/hda2", "/dev/vda2", context="grub-kernel-root"),)
    f = facts(
        kernels=(
            kernel(
                initrd_virtio=("virtio", "virtio_blk", "virtio_net", "virtio_pci", "virtio_ring")
            ),
        ),
        disk_refs=refs,
    )
    t = LocalTarget(str(tmp_path))
    p = make_plan(t, f, Choices(method="initrd"))
    (step,) = p.steps
    assert step.path == "/boot/grub/grub.conf" and step.mode == 0o600
    # As apply would: write the real file, the link stays a link; planning again changes nothing.
    t.write_file(step.path, step.new_bytes(), step.mode)
    assert os.path.islink(tmp_path / "etc" / "grub.conf")
    assert "root=/dev/vda2" in (tmp_path / "etc" / "grub.conf").read_text()
    again = make_plan(t, f, Choices(method="initrd"))
    assert again.steps == ()


def test_make_plan_latin1_rc_sysinit_round_trip(tmp_path):
    data = RC_SYSINIT.replace("run once", "lanc\xe9").encode("latin-1")
    write(tmp_path, "/etc/rc.d/rc.sysinit", data, 0o755)
    f = facts()
    t = LocalTarget(str(tmp_path))
    p = make_plan(t, f, Choices(method="sysinit", block=False, sysinit_file=RC))
    (step,) = p.steps
    assert step.encoding == "latin-1" and step.mode == 0o755
    t.write_file(step.path, step.new_bytes(), step.mode)
    after = (tmp_path / "etc/rc.d/rc.sysinit").read_bytes()
    assert after.startswith(data[: data.index(b"fi\n") + 3])
    assert after.endswith(data[data.index(b"fi\n") + 3 :])
    assert b"\xe9" in after
    assert make_plan(t, f, Choices(method="sysinit", block=False, sysinit_file=RC)).steps == ()
    assert f.sysinit.hook_line == HOOK


def test_make_plan_backup_name_moves_when_taken_on_disk(tmp_path):
    write(tmp_path, IMAGE, b"image")
    write(tmp_path, IMAGE + ".virtio.orig", b"older backup")
    p = make_plan(LocalTarget(str(tmp_path)), facts(), Choices(method="initrd"))
    assert p.steps[0].to == IMAGE + ".virtio-wizard.bak"


# ---- the sysinit file left open: the wizard's default ---------------------------------


def test_make_plan_edits_the_recommended_sysinit_file_by_default(tmp_path):
    """Issue 11.2: no file chosen means the file the wizard recommends, not rc.sysinit."""
    write(tmp_path, RC, RC_SYSINIT.encode(), 0o755)
    f = facts()  # RHEL 5.1 whose rc.sysinit runs /etc/sysconfig/modules/*.modules
    assert sysinit_file_default(f) == "/etc/sysconfig/modules/virtio.modules"
    p = make_plan(LocalTarget(str(tmp_path)), f, Choices(method="sysinit", block=False))
    assert p.choices.sysinit_file == sysinit_file_default(f)
    assert [s.path for s in p.steps] == ["/etc/sysconfig/modules/virtio.modules"]
    assert "sysinit-recommended-file" not in [x.id for x in p.findings]


def test_make_plan_falls_back_to_rc_sysinit_where_the_recommended_file_is_refused(tmp_path):
    """RHEL 3's /etc/rc.modules lists the modules out of order (refused on 2.4): rc.sysinit."""
    write(tmp_path, RC, RC_SYSINIT.encode(), 0o755)
    write(tmp_path, "/etc/rc.modules", b"#!/bin/sh\nmodprobe virtio_pci\nmodprobe virtio\n", 0o755)
    old = kernel("2.4.21-50.EL")
    f = facts(distro=Distro("rhel", "Red Hat Enterprise Linux AS", "3", "redhat"), kernels=(old,))
    assert sysinit_file_default(f) == "/etc/rc.modules"
    target = LocalTarget(str(tmp_path))
    asked = make_plan(
        target, f, Choices(method="sysinit", block=False, sysinit_file="/etc/rc.modules")
    )
    assert [x.id for x in asked.refusals] == ["modules-out-of-order"]
    p = make_plan(target, f, Choices(method="sysinit", block=False))
    assert not p.refused and p.choices.sysinit_file is None
    assert [s.path for s in p.steps] == [RC]


def test_sysinit_file_candidates_leave_a_chosen_file_and_other_methods_alone():
    f = facts()
    chosen = Choices(method="sysinit", block=False, sysinit_file=RC)
    assert sysinit_file_candidates(f, chosen) == [chosen]
    assert sysinit_file_candidates(f, Choices(method="initrd")) == [Choices(method="initrd")]
    open_file = Choices(method="sysinit", block=False)
    best = Choices(method="sysinit", block=False, sysinit_file=sysinit_file_default(f))
    assert sysinit_file_candidates(f, open_file) == [best, open_file]
