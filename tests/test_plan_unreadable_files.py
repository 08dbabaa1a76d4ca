"""A file the plan must change but cannot read refuses the plan, naming the file.

A hostile test found that an fstab with a NUL byte appended (or one that is a
folder, a FIFO or over the size limit) made detection skip it, so the plan
renamed nothing there and ``apply --method initrd --drivers block`` exited 0
with swap still on /dev/hda3. Each kind of broken file, for each file the
disk renames (and the module configuration) edit, now refuses: exit 3, the
file named, nothing written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOTS_DIR

from virtio_wizard.cli import main
from virtio_wizard.targets import DEFAULT_READ_LIMIT

INITRD_BLOCK = ["--method", "initrd", "--drivers", "block"]


def _nul(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\x00")


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _too_large(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.truncate(DEFAULT_READ_LIMIT + 1)  # sparse: cheap to make


BREAK = {"nul": _nul, "folder": _folder, "fifo": _fifo, "too-large": _too_large}
REASON = {
    "nul": "binary data where text was expected",
    "folder": "not a regular file",
    "fifo": "not a regular file",
    "too-large": f"larger than {DEFAULT_READ_LIMIT} bytes",
}


@pytest.fixture
def rhel53(tmp_path: Path) -> Path:
    """A copy of the rhel53 root, with a crypttab, a menu.lst and /etc/default/grub
    naming the old disk too, so every file the renames edit is there to break."""
    root = tmp_path / "rhel53"
    shutil.copytree(ROOTS_DIR / "rhel53", root, symlinks=True)
    (root / "etc/crypttab").write_text("luks-data /dev/hda5 none\n")
    (root / "etc/default").mkdir()
    (root / "etc/default/grub").write_text('GRUB_CMDLINE_LINUX="resume=/dev/hda3"\n')
    (root / "boot/grub/menu.lst").write_text("kernel /vmlinuz ro root=/dev/hda2\n")
    return root


DISK_FILES = [
    "/etc/fstab",
    "/etc/crypttab",
    "/boot/grub/grub.conf",
    "/boot/grub/menu.lst",
    "/boot/grub/device.map",
    "/etc/default/grub",
]


@pytest.mark.parametrize("kind", sorted(BREAK))
@pytest.mark.parametrize("path", DISK_FILES)
def test_plan_refuses_a_disk_file_it_cannot_read(rhel53: Path, path: str, kind: str, capsys):
    BREAK[kind](rhel53 / path.lstrip("/"))
    assert main(["--root", str(rhel53), "plan", *INITRD_BLOCK]) == 3
    out = capsys.readouterr().out
    assert f"[file-unreadable] {path} cannot be used: {REASON[kind]}" in " ".join(out.split())


@pytest.mark.parametrize("kind", sorted(BREAK))
def test_apply_with_a_broken_fstab_refuses_and_writes_nothing(rhel53: Path, kind: str, capsys):
    """The reported case: before, exit 0 and swap still on /dev/hda3."""
    fstab = rhel53 / "etc/fstab"
    BREAK[kind](fstab)
    before = {p: p.read_bytes() for p in (rhel53 / "boot/grub").iterdir() if p.is_file()}
    assert main(["--root", str(rhel53), "apply", *INITRD_BLOCK, "--yes"]) == 3
    captured = capsys.readouterr()
    assert "/etc/fstab cannot be used" in " ".join((captured.out + captured.err).split())
    assert {p: p.read_bytes() for p in before} == before
    assert not (rhel53 / "var/lib/virtio-wizard/journal").exists()


def test_keeping_the_disk_names_does_not_need_the_disk_files(rhel53: Path, capsys):
    """Renames declined: an unreadable fstab is nothing the plan must change."""
    _nul(rhel53 / "etc/fstab")
    assert main(["--root", str(rhel53), "plan", *INITRD_BLOCK, "--keep-disk-names"]) == 0


def test_plan_refuses_an_unreadable_module_config_it_must_edit(tmp_path: Path, capsys):
    """The same for the initrd tool's configuration (initramfs-tools: its modules list)."""
    root = tmp_path / "debian12"
    shutil.copytree(ROOTS_DIR / "debian12", root, symlinks=True)
    _nul(root / "etc/initramfs-tools/modules")
    assert main(["--root", str(root), "plan", *INITRD_BLOCK, "--keep-disk-names"]) == 3
    out = " ".join(capsys.readouterr().out.split())
    assert "[file-unreadable] /etc/initramfs-tools/modules cannot be used: binary data" in out


@pytest.mark.parametrize("kind", sorted(BREAK))
def test_plan_refuses_an_unreadable_rc_sysinit_for_the_sysinit_path(rhel53: Path, kind, capsys):
    """The seed's sysinit edit goes into rc.sysinit: broken, it is refused by name."""
    BREAK[kind](rhel53 / "etc/rc.d/rc.sysinit")
    args = ["--method", "sysinit", "--drivers", "net", "--keep-disk-names"]
    assert main(["--root", str(rhel53), "plan", *args]) == 3
    out = " ".join(capsys.readouterr().out.split())
    assert f"[file-unreadable] /etc/rc.d/rc.sysinit cannot be used: {REASON[kind]}" in out
