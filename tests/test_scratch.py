"""The scratch-image check: the distro's default build, into a temp file, read back.

The guest's tool is played by a Target whose ``run`` writes what that tool
would (an image with or without virtio, or a failure): what is tested here
is the command chosen, that only a temp file outside /boot is written and
then removed, and the answer read from the image. The real tools run in the
integration test.
"""

from __future__ import annotations

from pathlib import Path

from initrd_factory import build_initrd

from virtio_wizard.apply.scratch import SCRATCH_DIR, check_survives_update, scratch_argv
from virtio_wizard.detect import detect
from virtio_wizard.targets import LocalTarget, RunResult

KVER = "6.1.0-50-amd64"
MODULES = ("virtio", "virtio_ring", "virtio_blk", "virtio_pci")
CONFIG = "".join(
    f"CONFIG_{s}=m\n" for s in ("VIRTIO", "VIRTIO_RING", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI")
)


class ToolTarget(LocalTarget):
    """A guest tree whose initrd tool writes ``image`` (or fails)."""

    def __init__(self, root: str, image: bytes | None, code: int = 0) -> None:
        super().__init__(root)
        self.image, self.code, self.ran = image, code, []

    def run(self, argv, on_line=None):
        self.ran.append(tuple(argv))
        out = argv[argv.index("-o") + 1] if "-o" in argv else argv[-2]
        if self.image is not None:
            (Path(self.root) / out.lstrip("/")).write_bytes(self.image)
        return RunResult(tuple(argv), self.code, "mkinitramfs: done\n")


def guest(tmp_path: Path, image: bytes | None, code: int = 0) -> ToolTarget:
    files = {
        "etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
        f"boot/vmlinuz-{KVER}": "k",
        f"boot/config-{KVER}": CONFIG,
        f"lib/modules/{KVER}/modules.order": "",
        "usr/sbin/update-initramfs": "#!/bin/sh\n",
        "var/tmp/.keep": "",
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ToolTarget(str(tmp_path), image, code)


def test_virtio_survives_when_the_default_build_holds_it(tmp_path):
    target = guest(tmp_path, build_initrd(MODULES, kver=KVER))
    facts = detect(target, read_initrds=False)
    check = check_survives_update(target, facts, MODULES)
    assert check.survives is True, check
    [argv] = target.ran
    assert argv[:2] == ("mkinitramfs", "-o") and argv[-1] == KVER
    assert argv[2].startswith(SCRATCH_DIR + "/") and "/boot" not in argv[2]
    assert not (tmp_path / argv[2].lstrip("/")).exists()  # removed afterwards
    assert "a kernel update keeps virtio" in check.line()


def test_a_host_only_default_build_is_reported_with_what_it_lacks(tmp_path):
    target = guest(tmp_path, build_initrd(("virtio", "virtio_ring"), kver=KVER))
    check = check_survives_update(target, detect(target, read_initrds=False), MODULES)
    assert check.survives is False
    assert check.missing == ("virtio_blk", "virtio_pci")
    assert "would drop virtio_blk, virtio_pci" in check.line()


def test_a_failed_build_or_no_commands_gives_no_answer(tmp_path):
    target = guest(tmp_path, None, code=1)
    check = check_survives_update(target, detect(target, read_initrds=False), MODULES)
    assert check.survives is None and "the build failed (exit 1)" in check.reason
    demo = LocalTarget(str(tmp_path), can_run=False)
    check = check_survives_update(demo, detect(demo, read_initrds=False), MODULES)
    assert check.survives is None and "does not run guest commands" in check.reason


def test_default_commands_per_tool():
    from virtio_wizard.facts import Kernel

    k = Kernel(version="5.14.0")
    assert scratch_argv("dracut", k, "/var/tmp/x") == ("dracut", "/var/tmp/x", "5.14.0")
    assert scratch_argv("mkinitrd", k, "/var/tmp/x") == ("mkinitrd", "/var/tmp/x", "5.14.0")
    assert scratch_argv("mkinitcpio", k, "/var/tmp/x") == (
        "mkinitcpio",
        "-k",
        "5.14.0",
        "-g",
        "/var/tmp/x",
    )
    assert scratch_argv("suse-mkinitrd", k, "/var/tmp/x") is None
