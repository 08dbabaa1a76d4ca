"""Acceptance checks of issues 3 and 4 that found bugs, run as a user would.

Each test names the user-visible behaviour; an ``xfail(strict=True)`` marks a
bug in a module still being edited by its owner (the test flips to a pass,
and strict xfail to a failure, as soon as it is fixed, so it cannot be
forgotten).
"""

from __future__ import annotations

from virtio_wizard.cli import main
from virtio_wizard.detect.disks import detect_disk_refs

FSTAB_WITH_CDROM = (
    "/dev/hda2   /             ext3    defaults        1 1\n"
    "/dev/hdc    /media/cdrom  iso9660 ro,noauto,user  0 0\n"
    "/dev/hdb1   /data         ext3    defaults        1 2\n"
    "/dev/hda3   swap          swap    defaults        0 0\n"
)


def _proposals(tree) -> dict[str, object]:
    target = tree({"etc/fstab": FSTAB_WITH_CDROM})
    return {r.device: r.proposed for r in detect_disk_refs(target) if r.file == "/etc/fstab"}


def test_disk_names_follow_the_seed_hda3_to_vda3(tree):
    got = _proposals(tree)
    assert got["/dev/hda2"] == "/dev/vda2"
    assert got["/dev/hda3"] == "/dev/vda3"


def test_a_cdrom_keeps_its_name_and_does_not_take_a_virtio_letter(tree):
    got = _proposals(tree)
    assert got["/dev/hdc"] is None  # CD-ROMs stay on IDE/SATA: /dev/vdc would not exist
    assert got["/dev/hdb1"] == "/dev/vdb1"


def test_sysinit_script_rc_sysinit_never_runs_is_refused_on_the_cli(tmp_path, capsys):
    """A guest whose rc.sysinit lost the /etc/rc.modules block: the plan must
    not offer /etc/rc.modules (it would never run) and must refuse it when chosen."""
    rc = tmp_path / "etc/rc.d/rc.sysinit"
    rc.parent.mkdir(parents=True)
    rc.write_text(
        "#!/bin/bash\nfor file in /etc/sysconfig/modules/*.modules ; do\n"
        "  [ -x $file ] && $file\ndone\n"
    )
    (tmp_path / "etc/redhat-release").write_text(
        "Red Hat Enterprise Linux Server release 5.2 (Tikanga)\n"
    )
    mods = tmp_path / "lib/modules/2.6.18-92.el5/kernel/drivers/virtio"
    mods.mkdir(parents=True)
    for name in ("virtio", "virtio_ring", "virtio_net", "virtio_pci"):
        (mods / f"{name}.ko").write_bytes(b"\x7fELF")
    base = ["--root", str(tmp_path), "plan", "--method", "sysinit", "--drivers", "net"]
    # Left open, the file is the one this release reads (and the wizard recommends).
    assert main(base) == 0
    assert "create /etc/sysconfig/modules/virtio.modules" in capsys.readouterr().out
    assert main([*base, "--sysinit-file", "/etc/rc.d/rc.sysinit"]) == 3
    out = capsys.readouterr().out
    assert "[sysinit-hook-missing]" in out
    assert "--sysinit-file /etc/sysconfig/modules/virtio.modules" in out
    assert "--sysinit-file /etc/rc.modules" not in out.split("Notes:")[0]
    assert main([*base, "--sysinit-file", "/etc/rc.modules"]) == 3
    assert "[sysinit-file-not-run]" in capsys.readouterr().out
    assert main([*base, "--sysinit-file", "/etc/sysconfig/modules/virtio.modules"]) == 0
    assert not (tmp_path / "etc/rc.modules").exists()  # planning never writes
