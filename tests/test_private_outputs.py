"""``plan -o``, ``plan --script`` and ``report -o`` embed guest files: they are written owner-only.

A 0600 ``grub.conf`` holding ``password --md5 ...`` is copied whole into both
(the new text of every edited file is in them), so neither may be readable
by anyone but its owner, whatever the umask and whatever file was there.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from virtio_wizard.cli import main
from virtio_wizard.outfile import write_private

ROOTS = Path(__file__).parent / "roots"
SECRET = "password --md5 $1$Wb0Ia/$QFCwU3SCKNSTP8LXo7Aq4/"


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    root = tmp_path / "guest"
    shutil.copytree(ROOTS / "rhel5ga", root, symlinks=True)
    grub = root / "boot/grub/grub.conf"
    text = grub.read_text().replace("hiddenmenu\n", f"hiddenmenu\n{SECRET}\n")
    grub.write_text(text)
    os.chmod(grub, 0o600)
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_plan_output_and_script_are_owner_only(guest: Path, tmp_path: Path, capsys) -> None:
    saved, script = tmp_path / "plan.json", tmp_path / "plan.sh"
    saved.write_text("old, world-readable\n")
    os.chmod(saved, 0o644)
    old_umask = os.umask(0o022)
    try:
        code = main(
            ["--root", str(guest), "plan", "--method", "initrd", "--drivers", "block",
             "-o", str(saved), "--script", str(script)]
        )  # fmt: skip
    finally:
        os.umask(old_umask)
    err = capsys.readouterr().err
    assert code == 0, err
    assert SECRET in saved.read_text() and SECRET in script.read_text()
    assert mode(saved) == 0o600
    assert mode(script) == 0o700
    assert f"wrote {saved} (mode 0600: it holds copies of guest files" in err
    assert f"wrote {script} (mode 0700: it holds copies of guest files" in err
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_a_device_is_written_as_it_is(tmp_path: Path) -> None:
    """``-o /dev/stdout`` and the like: no temp file beside a device, no chmod of it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert write_private(str(fifo), b"data\n") == f"wrote {fifo}"
        assert os.read(reader, 100) == b"data\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_report_output_is_owner_only(guest: Path, tmp_path: Path, capsys, fmt: str) -> None:
    """A report quotes guest lines and the journal names backed-up secret files: 0600 too."""
    out = tmp_path / f"report.{fmt}"
    out.write_text("old, world-readable\n")
    os.chmod(out, 0o644)
    old_umask = os.umask(0o022)
    try:
        code = main(["--root", str(guest), "report", "--format", fmt, "-o", str(out)])
    finally:
        os.umask(old_umask)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "virtio" in out.read_text()
    assert mode(out) == 0o600
    assert f"wrote {out} (mode 0600" in err
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
