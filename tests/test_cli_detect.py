"""``virtio-wizard detect`` end to end, and the Rich renderers it prints with."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from virtio_wizard import knowledge as kn
from virtio_wizard.cli import main
from virtio_wizard.commands.detect import facts_document, wants_ascii
from virtio_wizard.facts import (
    BUILTIN,
    MISSING,
    MODULE,
    Cpu,
    DiskRef,
    Distro,
    Facts,
    Kernel,
    PciDevice,
    Sysinit,
    TargetInfo,
)
from virtio_wizard.finding import ERROR, INFO, WARNING, Finding, Remedy, choose
from virtio_wizard.render import facts_renderable, findings_table, kernels_table

REPO = Path(__file__).resolve().parent.parent
KVER = "2.6.18-92.el5"
RC_SYSINIT = """#!/bin/bash
# /etc/rc.d/rc.sysinit (excerpt)
if [ -f /etc/rc.modules ]; then
\t/etc/rc.modules
fi

modprobe virtio_pci
modprobe virtio
"""


def write(root: Path, path: str, data, mode: int = 0o644) -> None:
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    p.write_bytes(data)
    p.chmod(mode)


@pytest.fixture
def rhel52(tmp_path: Path) -> Path:
    """An offline RHEL 5.2 root: kernel without virtio, IDE names, a sysinit hook."""
    root = tmp_path / "rhel52"
    write(root, "/etc/redhat-release", "Red Hat Enterprise Linux Server release 5.2 (Tikanga)\n")
    write(root, f"/boot/vmlinuz-{KVER}", b"\0" * 64)
    write(root, f"/boot/config-{KVER}", "CONFIG_EXT3_FS=m\n# CONFIG_VIRTIO is not set\n")
    (root / "lib/modules" / KVER / "kernel/drivers").mkdir(parents=True)
    write(
        root,
        "/etc/fstab",
        "/dev/VolGroup00/LogVol00 / ext3 defaults 1 1\n"
        "/dev/hda1 /boot ext3 defaults 1 2\n"
        "/dev/hda3 swap swap defaults 0 0\n",
    )
    write(root, "/etc/rc.d/rc.sysinit", RC_SYSINIT, 0o755)
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# ---- detect --json ----------------------------------------------------------------


def test_detect_json_on_offline_root(rhel52, capsys):
    rc, out, err = run_cli(capsys, "detect", "--root", str(rhel52), "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "virtio-wizard/facts/1"
    assert list(doc)[0] == "schema"
    assert doc["distro"]["id"] == "rhel" and doc["distro"]["version"] == "5.2"
    assert [k["version"] for k in doc["kernels"]] == [KVER]
    ids = [f["id"] for f in doc["findings"]]
    assert ids[0] == "kernel-no-virtio"  # errors first
    assert {"legacy-disk-names", "module-order"} <= set(ids)
    for f in doc["findings"]:
        assert set(f) == {"id", "severity", "message", "remedy", "source"}
        assert set(f["remedy"]) == {"advice", "options", "command"}
    # A remedy names the choice and its value, never a flag (docs/findings.md).
    (kernel,) = [f for f in doc["findings"] if f["id"] == "kernel-no-virtio"]
    assert "--" not in kernel["remedy"]["advice"]
    # the document is Facts plus findings: it reads back as Facts
    assert Facts.from_dict(doc).distro.version == "5.2"


def test_detect_json_no_initrd_skips_images(rhel52, capsys):
    write(rhel52, f"/boot/initrd-{KVER}.img", b"this is not an initrd at all" * 10)
    rc, out, _ = run_cli(capsys, "detect", "--root", str(rhel52), "--json", "--no-initrd")
    assert rc == 0
    doc = json.loads(out)
    kernel = doc["kernels"][0]
    assert kernel["initrd"] == f"/boot/initrd-{KVER}.img"
    assert kernel["initrd_virtio"] is None and kernel["initrd_error"] is None
    assert "initrd-unreadable" not in [f["id"] for f in doc["findings"]]

    rc, out, _ = run_cli(capsys, "detect", "--root", str(rhel52), "--json")
    doc = json.loads(out)
    assert doc["kernels"][0]["initrd_error"]
    assert "initrd-unreadable" in [f["id"] for f in doc["findings"]]


def test_detect_json_windows_root_is_not_linux(tmp_path, capsys):
    (tmp_path / "Windows" / "System32").mkdir(parents=True)
    rc, out, _ = run_cli(capsys, "detect", "--root", str(tmp_path), "--json")
    assert rc == 0
    doc = json.loads(out)
    assert [f["id"] for f in doc["findings"]] == ["not-linux"]
    assert doc["findings"][0]["severity"] == "error"
    assert "virtio-win" in doc["findings"][0]["remedy"]["advice"]


def test_facts_document_adds_findings_only():
    facts = Facts(target=TargetInfo("root", "/x"))
    remedy = Remedy("f", (choose(method="initrd", boot_disk="virtio"),), ("ethtool", "-k", "X"))
    doc = facts_document(facts, [Finding("gso-tso", INFO, "m", remedy, "s")])
    findings = doc.pop("findings")
    assert findings == [
        {
            "id": "gso-tso",
            "severity": "info",
            "message": "m",
            "remedy": {
                "advice": "f",
                "options": [
                    [
                        {"choice": "method", "value": "initrd"},
                        {"choice": "boot_disk", "value": "virtio"},
                    ]
                ],
                "command": ["ethtool", "-k", "X"],
            },
            "source": "s",
        }
    ]
    assert Finding.from_dict(findings[0]).remedy == remedy
    assert doc == facts.to_dict()


# ---- target errors: one line, exit 1, no traceback ---------------------------------------


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_detect_bad_root_is_one_line_error(tmp_path, capsys, kind):
    bad = tmp_path / "nope"
    if kind == "file":
        bad.write_text("x")
    rc, out, err = run_cli(capsys, "detect", "--root", str(bad), "--json")
    assert rc == 1
    assert out == ""
    want = "no such directory" if kind == "missing" else "not a directory"
    assert err == f"virtio-wizard: error: {bad}: {want}\n"


def _subprocess(*argv: str, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "virtio_wizard", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=120,
    )


def test_detect_bad_root_in_a_subprocess(tmp_path):
    proc = _subprocess("detect", "--root", str(tmp_path / "missing"))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"virtio-wizard: error: {tmp_path / 'missing'}: no such directory"
    ]
    assert "Traceback" not in proc.stderr


def test_detect_json_imports_neither_rich_nor_textual_nor_the_journal(rhel52):
    """``detect --json`` starts fast: no Rich, no Textual, and its JSON writer
    (``jsontext``) comes without the journal and what the journal needs."""
    code = (
        "import sys, io, contextlib\n"
        "from virtio_wizard.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['detect', '--json', '--root', {str(rhel52)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'textual')\n"
        "               or m in ('virtio_wizard.journal', 'virtio_wizard.apply'))\n"
        "print(rc, heavy)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0 []"


def test_detect_table_does_import_rich_in_a_subprocess(rhel52):
    """The opposite case, so the test above can fail: the table path needs Rich."""
    proc = _subprocess("--ascii", "detect", "--root", str(rhel52), env_extra={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "kernel-no-virtio" in proc.stdout
    assert proc.stdout.isascii()


# ---- the table ---------------------------------------------------------------------------


def test_detect_table_fits_80_columns_in_ascii(rhel52, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rc, out, _ = run_cli(capsys, "--ascii", "detect", "--root", str(rhel52))
    assert rc == 0
    assert out.isascii()
    assert max(len(line) for line in out.splitlines()) <= 80
    for text in ("Red Hat Enterprise Linux", KVER, "kernel-no-virtio", "/dev/hda3", "Fix:"):
        assert text in out
    assert "+---" in out  # rich.box.ASCII


def test_detect_table_uses_box_drawing_without_ascii(rhel52, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm")
    rc, out, _ = run_cli(capsys, "detect", "--root", str(rhel52))
    assert rc == 0
    assert not out.isascii()


def test_wants_ascii_on_the_linux_console(monkeypatch):
    import argparse

    monkeypatch.setenv("TERM", "linux")
    assert wants_ascii(argparse.Namespace(ascii=False))
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not wants_ascii(argparse.Namespace(ascii=False))
    assert wants_ascii(argparse.Namespace(ascii=True))


# ---- render.py with hand-built facts -------------------------------------------------------


def _render(renderable, width=80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def _sample() -> Facts:
    return Facts(
        target=TargetInfo("local", "/", live=True),
        distro=Distro(id="fedora", name="Fedora Linux", version="40", source="/etc/os-release"),
        cpu=Cpu(
            machine="x86_64", vendor="GenuineIntel", vendor_source="host", package_arch="ia32e"
        ),
        kernels=(
            Kernel(
                "6.8.5-301.fc40.x86_64",
                running=True,
                initrd="/boot/initramfs-6.8.5-301.fc40.x86_64.img",
                initrd_format="early+zstd",
                initrd_virtio=("virtio_blk", "virtio_net"),
                virtio={**{m: BUILTIN for m in kn.SEED_MODULES}, "virtio_blk": MODULE},
            ),
            Kernel(
                "6.7.1-200.fc39.x86_64",
                initrd="/boot/initramfs-6.7.1-200.fc39.x86_64.img",
                initrd_error="zstd: bad frame",
                initrd_format="zstd",
                virtio={**{m: MODULE for m in kn.SEED_MODULES}, "virtio_net": MISSING},
            ),
        ),
        running_kernel="6.8.5-301.fc40.x86_64",
        loaded_modules=("virtio_blk", "ext4", "virtio_net"),
        virtio_bus_drivers=("virtio_blk", "virtio_net"),
        devices=(
            PciDevice("0000:00:03.0", "0x1af4", "0x1041", "virtio-net", "virtio-pci"),
            PciDevice("0000:00:00.0", "0x8086", "0x1237", "other"),
        ),
        disk_refs=(
            DiskRef(
                "/etc/fstab", 4, "/dev/sdb1", "legacy", "/dev/vdb1", "fstab", "/srv", None, True
            ),
            DiskRef("/etc/fstab", 1, "UUID=abc", "uuid"),
        ),
        initrd_tool="dracut",
        initrd_tool_config={"hostonly": "yes"},
        sysinit=None,
    )


def test_render_shows_every_section_at_80_columns():
    findings = [
        Finding(
            "kernel-no-virtio", ERROR, "The kernel lacks virtio_net.", Remedy("Boot 6.8."), "seed"
        ),
        Finding("gso-tso", INFO, "Turn GSO off.", Remedy("ethtool -K IFACE gso off"), "seed"),
    ]
    narrow = _render(facts_renderable(_sample(), findings, ascii=True))
    assert narrow.isascii()
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "6.8.5-301.fc40.x86_64 |" in narrow  # kernel versions are never folded
    # Fedora has no per-vendor virtio package: no ia32e advice (issue 14).
    assert "ia32e" not in _render(facts_renderable(_sample(), findings, ascii=True), width=200)
    # Content is checked wide, where cells do not wrap.
    out = _render(facts_renderable(_sample(), findings, ascii=True), width=200)
    for text in (
        "Fedora Linux 40 (from /etc/os-release)",
        "vendor read from the host, not the guest",
        "6.8.5-301.fc40.x86_64 |",
        "(running)",
        "early+zstd: blk, net",
        "unreadable: zstd: bad frame",
        "virtio_blk, virtio_net",  # loaded virtio modules, ext4 left out
        "virtio-net",
        "and 1 other PCI function",
        "/etc/fstab:4",
        "(letter guessed)",
        "dracut (hostonly=yes)",
        "no /etc/rc.d/rc.sysinit",
        "kernel-no-virtio",
        "Fix: Boot 6.8.",
    ):
        assert text in out, text
    assert "UUID=abc" not in out
    assert "ext4" not in out
    assert out.index("kernel-no-virtio") < out.index("gso-tso")


def test_kernels_table_marks_module_builtin_missing():
    out = _render(kernels_table(_sample(), ascii=True))
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if "fc" in line}
    running = [c.strip() for c in rows["6.8.5-301.fc40.x86_64"].split("|")[2:7]]
    other = [c.strip() for c in rows["6.7.1-200.fc39.x86_64"].split("|")[2:7]]
    assert running == ["y", "y", "m", "y", "y"]
    assert other == ["m", "m", "m", "-", "m"]


def test_kernels_table_without_kernels_and_without_initrd():
    facts = Facts(target=TargetInfo("root", "/g"), kernels=(Kernel("2.6.9-89.EL"),))
    out = _render(kernels_table(facts, ascii=True))
    assert "no initrd" in out and "2.6.9-89.EL" in out and "(default)" in out
    assert "none found" in _render(kernels_table(Facts(target=TargetInfo("root", "/g"))))


def test_findings_table_empty_and_severity_words():
    assert "No problems found." in _render(findings_table([], ascii=True))
    out = _render(
        findings_table([Finding("pci-slots", WARNING, "m", Remedy("f"), "s")], ascii=True)
    )
    assert "WARN" in out and "[pci-slots] s" in out and "Fix: f" in out


def test_render_not_linux_skips_kernels():
    facts = Facts(target=TargetInfo("root", "/win"), not_linux="A Windows disk.")
    out = _render(facts_renderable(facts, [], ascii=False))
    assert "A Windows disk." in out and "Kernels" not in out


def test_render_sysinit_states():
    import dataclasses

    base = _sample()
    hook = dataclasses.replace(base, sysinit=Sysinit(hook_line=40, modprobes=("virtio",)))
    wide = _render(facts_renderable(hook, []), width=200)
    assert "block ends at line 40; already loads virtio" in wide
    none = dataclasses.replace(base, sysinit=Sysinit(hook_line=None))
    assert "no /etc/rc.modules block" in _render(facts_renderable(none, []))


def test_detect_text_has_no_trailing_blanks_no_empty_settings_and_no_live_demo(capsys):
    """Issue 11.9: padded lines, 'path=)' and a demo labelled '(live)'."""
    assert main(["--demo", "rhel52", "detect", "--no-initrd"]) == 0
    out = capsys.readouterr().out
    assert out and not [line for line in out.splitlines() if line.endswith(" ")]
    assert "(live)" not in out and "(a temporary copy)" in " ".join(out.split())
    assert "path=" not in out and "(at /sbin/mkinitrd)" in out
