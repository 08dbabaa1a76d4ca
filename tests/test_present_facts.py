"""present.facts: the one source of the words ``detect`` and the Guest screen say about Facts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from virtio_wizard import knowledge as kn
from virtio_wizard.facts import BUILTIN, MISSING, MODULE, DiskRef, Facts, Kernel, TargetInfo
from virtio_wizard.present import facts as pf
from virtio_wizard.render import disk_refs_table, kernels_table
from virtio_wizard.tui.widgets import facts_view as fv


def text_of(renderable, width: int = 200) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def facts(**kw) -> Facts:
    return Facts(target=TargetInfo("root", "/g"), **kw)


ALL = {m: MODULE for m in kn.SEED_MODULES}


@pytest.mark.parametrize(
    "kernel, read, words, tone",
    [
        (Kernel("1", virtio=ALL), True, "no initrd", pf.WARN),
        (Kernel("1", initrd="/boot/i", virtio=ALL), False, "reading...", pf.DIM),
        (Kernel("1", initrd="/boot/i", virtio=ALL), True, "not read", pf.DIM),
        (
            Kernel("1", initrd="/boot/i", initrd_error="zstd: bad frame", initrd_format="zstd"),
            True,
            "unreadable: zstd: bad frame",
            pf.WARN,
        ),
        (Kernel("1", initrd="/boot/i", initrd_format="gzip"), True,
         "unreadable: no reason recorded", pf.WARN),
        (Kernel("1", initrd="/boot/i", initrd_format="gzip", initrd_virtio=()), True,
         "gzip: no virtio", pf.BAD),
        (Kernel("1", initrd="/boot/i", initrd_format="gzip",
                initrd_virtio=("virtio_blk", "virtio_pci")), True, "gzip: blk, pci", pf.GOOD),
    ],
)  # fmt: skip
def test_initrd_cell_words(kernel: Kernel, read: bool, words: str, tone: str) -> None:
    assert pf.initrd_cell(kernel, read) == pf.Cell(words, tone)


def test_both_faces_say_the_same_about_a_kernel() -> None:
    """The CLI table and the Guest screen: the same marks and the same initrd words."""
    k = Kernel(
        "2.6.18-92.el5",
        running=True,
        initrd="/boot/initrd-2.6.18-92.el5.img",
        initrd_error="gzip: truncated",
        initrd_format="gzip",
        virtio={"virtio": MODULE, "virtio_ring": BUILTIN, "virtio_blk": MISSING},
        virtio_orig="/boot/initrd-2.6.18-92.el5.img.virtio.orig",
    )
    f = facts(kernels=(k,))
    cli, tui = text_of(kernels_table(f, ascii=True)), text_of(fv.kernels_table(f, True))
    for words in (
        pf.MARKS_LEGEND,
        "(running)",
        "unreadable: gzip: truncated",
        "original initrd of 2.6.18-92.el5 kept as /boot/initrd-2.6.18-92.el5.img.virtio.orig",
    ):
        assert words in cli and words in tui, words
    row = pf.kernel_rows(f)[0]
    assert [c.text for c in row.marks] == ["m", "y", "-", "-", "-"]


def test_summary_lines_of_a_non_linux_root_stop_after_saying_so() -> None:
    lines = pf.summary_lines(facts(not_linux="This is a Windows disk"))
    assert [line.label for line in lines] == ["Target", "Not Linux"]
    assert lines[1].tone == pf.BAD


def test_running_state_is_not_listed_as_names_to_change() -> None:
    """Issue 11.9: /proc/cmdline, /proc/swaps and /etc/mtab are never edited, in either face."""
    from virtio_wizard.plan.files import RUNTIME_CONTEXTS

    assert pf.RUNTIME_CONTEXTS == RUNTIME_CONTEXTS
    refs = (
        DiskRef("/etc/fstab", 2, "/dev/hda1", "legacy", "/dev/vda1", "fstab", "/boot", None, True),
        DiskRef("/proc/cmdline", 1, "/dev/hda3", "legacy", "/dev/vda3", "cmdline"),
    )
    f = facts(disk_refs=refs)
    assert [r.where for r in pf.disk_rows(f)] == ["/etc/fstab:2"]
    cli, tui = text_of(disk_refs_table(f, ascii=True)), text_of(fv.disks_text(f))
    assert "/proc/cmdline" not in cli and "/proc/cmdline" not in tui
    assert "(letter guessed)" in cli and "(letter guessed)" in tui


def test_the_presenter_imports_neither_rich_nor_textual() -> None:
    """``detect --json`` and the report must not pay for a UI toolkit."""
    source = Path(pf.__file__).read_text(encoding="utf-8")
    for module in ("rich", "textual"):
        assert f"import {module}" not in source and f"from {module}" not in source
