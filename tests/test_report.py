"""The support report: Markdown and JSON of facts, findings, plan and journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from virtio_wizard import __version__
from virtio_wizard import knowledge as kn
from virtio_wizard.cli import main
from virtio_wizard.commands import report as report_cmd
from virtio_wizard.facts import (
    MISSING,
    MODULE,
    DiskRef,
    Distro,
    Facts,
    Kernel,
    TargetInfo,
    Unreadable,
)
from virtio_wizard.finding import ERROR, INFO, Finding, Remedy
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.report import REPORT_SCHEMA, fence, render_json, render_markdown

WHEN = "2024-05-06T07:08:09+02:00"


def sample_facts() -> Facts:
    return Facts(
        target=TargetInfo("root", "/mnt/guest"),
        distro=Distro(id="rhel", name="Red Hat Enterprise Linux Server", version="5.2"),
        kernels=(
            Kernel(
                "2.6.18-92.el5",
                initrd="/boot/initrd-2.6.18-92.el5.img",
                initrd_format="gzip",
                initrd_virtio=(),
                virtio={**{m: MODULE for m in kn.SEED_MODULES}, "virtio_net": MISSING},
                virtio_orig="/boot/initrd-2.6.18-92.el5.img.virtio.orig",
            ),
        ),
        disk_refs=(DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "swap"),),
        unreadable=(Unreadable("/etc/a|b", "not a regular file"),),
    )


FINDINGS = [
    Finding(
        "kernel-no-virtio", ERROR, "The kernel lacks virtio_net.", Remedy("Install one."), "seed"
    ),
    Finding("gso-tso", INFO, "Turn GSO off.", Remedy("ethtool -K IFACE gso off"), "seed (net)"),
]


def sample_plan() -> Plan:
    diff = "--- a/etc/fstab\n+++ b/etc/fstab\n@@ -3 +3 @@\n-/dev/hda3 swap\n+/dev/vda3 swap\n"
    return Plan(
        choices=Choices(method="initrd", block=True, net=False),
        kernel="2.6.18-92.el5",
        modules=("virtio", "virtio_ring", "virtio_blk", "virtio_pci"),
        steps=(
            Step("backup", "keep the old initrd", path="/boot/i.img", to="/boot/i.img.bak"),
            Step("edit", "swap moves to vda", path="/etc/fstab", diff=diff, mode=0o644),
            Step(
                "command",
                "rebuild the initrd",
                argv=("mkinitrd", "-f", "--with=virtio", "/boot/my initrd.img", "2.6.18-92.el5"),
                image="/boot/my initrd.img",
                verify_modules=("virtio_blk",),
            ),
        ),
        findings=(Finding("boot-note", INFO, "Reboot after this.", Remedy(""), ""),),
    )


def sample_journal() -> dict:
    return {
        "schema": "virtio-wizard/journal/1",
        "id": "20240506T070809-42",
        "path": "/var/lib/virtio-wizard/journal/20240506T070809-42.json",
        "started": "2024-05-06T07:08:09+02:00",
        "finished": "2024-05-06T07:08:30+02:00",
        "status": "failed",
        "undone": None,
        "steps": [
            {"index": 0, "kind": "backup", "path": "/boot/i.img", "to": "/x", "status": "done"},
            {
                "index": 1,
                "kind": "edit",
                "path": "/etc/fstab",
                "status": "done",
                "changed": True,
                "backup": {"path": "/var/lib/virtio-wizard/backups/x/etc/fstab", "sha256": "ab"},
            },
            {
                "index": 2,
                "kind": "command",
                "argv": ["mkinitrd", "-f", "/boot/my initrd.img", "2.6.18-92.el5"],
                "status": "failed",
                "exit_code": 1,
                "output_tail": ["No module virtio_blk found for kernel 2.6.18-92.el5", "```"],
                "error": "mkinitrd exited with 1",
            },
            {"kind": "edit", "path": "/etc/new", "status": "done", "created": True},
        ],
        "messages": ["stopped at step 3"],
    }


# ---- Markdown ----------------------------------------------------------------------


def test_markdown_header_facts_and_findings():
    md = render_markdown(sample_facts(), FINDINGS, generated=WHEN)
    assert md.startswith("# virtio-wizard report\n")
    assert "- Target: offline guest root `/mnt/guest`" in md
    assert f"- Date: {WHEN}" in md
    assert f"- Tool: virtio-wizard {__version__}" in md
    # The words detect and the wizard say (present.facts).
    assert "| Distro | Red Hat Enterprise Linux Server 5.2 |" in md
    assert "### Kernels (m module, y built in, - missing)" in md
    assert "| 2.6.18-92.el5 (default) | m | m | m | - | m | gzip: no virtio |" in md
    assert (
        "- original initrd of 2.6.18-92.el5 kept as /boot/initrd-2.6.18-92.el5.img.virtio.orig"
        in md
    )
    assert "| /etc/fstab:3 | /dev/hda3 | /dev/vda3 | fstab swap |" in md
    assert "| /etc/a\\|b | not a regular file |" in md  # pipes escaped in cells
    assert "1 error, 0 warnings, 1 info." in md
    assert "### ERROR: `kernel-no-virtio`" in md
    assert "**Fix:** Install one." in md and "*Source:* seed (net)" in md
    assert md.index("kernel-no-virtio") < md.index("gso-tso")
    assert "## Plan" not in md and "## Applied" not in md
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_markdown_without_findings():
    md = render_markdown(sample_facts(), [], generated=WHEN)
    assert "## Findings\n\nNothing to report." in md


def test_markdown_plan_steps_diffs_and_commands():
    md = render_markdown(sample_facts(), FINDINGS, plan=sample_plan(), generated=WHEN)
    assert "## Plan" in md
    assert "| drivers | block |" in md and "| kernel | 2.6.18-92.el5 |" in md
    assert "| modules, in order | virtio, virtio_ring, virtio_blk, virtio_pci |" in md
    assert "1. **backup** `/boot/i.img` to `/boot/i.img.bak`: keep the old initrd" in md
    assert "2. **edit** `/etc/fstab`: swap moves to vda (mode 0644)" in md
    assert "```diff\n--- a/etc/fstab\n+++ b/etc/fstab\n" in md
    # exact command line, quoted as typed
    assert "```sh\nmkinitrd -f --with=virtio '/boot/my initrd.img' 2.6.18-92.el5\n```" in md
    assert "must then hold virtio_blk" in md
    assert "## Plan notes" in md and "Reboot after this." in md
    assert "refused" not in md


def test_markdown_refused_plan_and_empty_plan():
    refused = Plan(
        choices=Choices(),
        findings=(
            Finding("no-kernel", ERROR, "No kernel has virtio.", Remedy("Install one."), ""),
        ),
    )
    md = render_markdown(sample_facts(), [], plan=refused, generated=WHEN)
    assert "**The plan is refused; nothing may be applied:**" in md
    assert "- `no-kernel`: No kernel has virtio. Install one." in md
    assert "Nothing to change: the guest already has what was chosen." in md
    assert "## Plan notes" not in md


def test_markdown_journal_steps_backups_and_output():
    md = render_markdown(sample_facts(), [], journal=sample_journal(), generated=WHEN)
    assert "## Applied" in md
    assert "| journal | 20240506T070809-42 |" in md and "| status | failed |" in md
    assert "| undone | no |" in md
    assert "| 1 | backup | /boot/i.img -> /x | done | - | - |" in md
    assert "| 2 | edit | /etc/fstab | done | /var/lib/virtio-wizard/backups/x/etc/fstab | - |" in md
    assert (
        "| 3 | command | mkinitrd -f '/boot/my initrd.img' 2.6.18-92.el5 | failed | - | 1 |" in md
    )
    assert "| 4 | edit | /etc/new | done | (created; undo removes it) | - |" in md
    assert "Step 3 failed: mkinitrd exited with 1" in md
    # the output holds ``` itself: the fence is longer
    assert "````\nNo module virtio_blk found for kernel 2.6.18-92.el5\n```\n````" in md
    assert "- stopped at step 3" in md


def test_markdown_tolerates_a_sparse_journal():
    md = render_markdown(
        sample_facts(), [], journal={"steps": [{"output": "hello\n"}, "junk"]}, generated=WHEN
    )
    assert "| journal | - |" in md
    assert "| 1 | - | - | - | - | - |" in md
    assert "```\nhello\n```" in md


def test_fence_grows_past_backticks():
    assert fence("plain") == "```\nplain\n```"
    assert fence("a\n````\n", "diff") == "`````diff\na\n````\n`````"


# ---- JSON ----------------------------------------------------------------------------


def test_json_report_schema_and_content():
    doc = render_json(
        sample_facts(), FINDINGS, plan=sample_plan(), journal=sample_journal(), generated=WHEN
    )
    assert doc["schema"] == REPORT_SCHEMA == "virtio-wizard/report/1"
    assert doc["generated"] == WHEN
    assert doc["tool"] == {"name": "virtio-wizard", "version": __version__}
    assert doc["target"] == {"kind": "root", "root": "/mnt/guest", "live": False}
    assert Facts.from_dict(doc["facts"]) == sample_facts()
    assert [f["id"] for f in doc["findings"]] == ["kernel-no-virtio", "gso-tso"]
    assert Plan.from_dict(doc["plan"]) == sample_plan()
    assert doc["commands"] == ["mkinitrd -f --with=virtio '/boot/my initrd.img' 2.6.18-92.el5"]
    assert doc["journal"]["id"] == "20240506T070809-42"
    json.dumps(doc)  # serialisable


def test_json_report_without_plan_or_journal():
    doc = render_json(sample_facts(), [])
    assert doc["plan"] is None and doc["journal"] is None and doc["commands"] == []
    assert doc["generated"]  # a date is always there


# ---- the command ------------------------------------------------------------------------


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    root = tmp_path / "guest"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n')
    (root / "etc/fstab").write_text("/dev/sda1 / ext4 defaults 0 1\n")
    (root / "boot").mkdir()
    (root / "boot/config-6.1.0-50-amd64").write_text("CONFIG_VIRTIO=m\nCONFIG_VIRTIO_BLK=m\n")
    (root / "lib/modules/6.1.0-50-amd64").mkdir(parents=True)
    return root


def test_report_command_markdown_to_stdout(guest, capsys):
    rc = main(["report", "--root", str(guest)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.startswith("# virtio-wizard report\n")
    assert f"`{guest}`" in out
    assert "/etc/fstab:1" in out and "legacy-disk-names" in out
    assert "## Applied" not in out  # this guest has no journal


def test_report_command_json_to_file(guest, tmp_path, capsys):
    dest = tmp_path / "ticket.json"
    rc = main(["report", "--root", str(guest), "--format", "json", "-o", str(dest)])
    out, err = capsys.readouterr()
    assert rc == 0
    assert out == ""
    assert err.startswith(f"virtio-wizard: report: wrote {dest} (mode 0600")
    doc = json.loads(dest.read_text(encoding="utf-8"))
    assert doc["schema"] == REPORT_SCHEMA
    assert doc["facts"]["distro"]["id"] == "debian"
    assert doc["journal"] is None


def test_report_command_unwritable_output_is_one_line_error(guest, tmp_path, capsys):
    dest = tmp_path / "no" / "such" / "dir" / "r.md"
    rc = main(["report", "--root", str(guest), "-o", str(dest)])
    _, err = capsys.readouterr()
    assert rc == 1
    assert err.startswith("virtio-wizard: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_report_command_bad_root(tmp_path, capsys):
    rc = main(["report", "--root", str(tmp_path / "gone")])
    _, err = capsys.readouterr()
    assert rc == 1
    assert err == f"virtio-wizard: error: {tmp_path / 'gone'}: no such directory\n"


def test_report_command_includes_the_latest_journal(guest, capsys, monkeypatch):
    import virtio_wizard.journal as journal_mod

    seen = []

    def latest_journal(target):
        seen.append(target.root)
        return sample_journal()

    monkeypatch.setattr(journal_mod, "latest_journal", latest_journal)
    rc = main(["report", "--root", str(guest)])
    out, _ = capsys.readouterr()
    assert rc == 0
    # Asked of this guest (host_steps.after_switch reads the same journal again).
    assert seen and set(seen) == {str(guest)}
    assert "## Applied" in out and "20240506T070809-42" in out


def test_report_command_reads_a_real_journal_from_the_guest(guest, capsys):
    from virtio_wizard.journal import write_journal
    from virtio_wizard.targets import LocalTarget

    journal = sample_journal()
    journal.pop("path")
    write_journal(LocalTarget(str(guest)), journal)
    rc = main(["report", "--root", str(guest), "--format", "json"])
    out, _ = capsys.readouterr()
    assert rc == 0
    doc = json.loads(out)
    assert doc["journal"]["id"] == "20240506T070809-42"
    assert doc["journal"]["path"] == "/var/lib/virtio-wizard/journal/20240506T070809-42.json"


def test_journal_of_without_latest_journal(monkeypatch):
    import virtio_wizard.journal as journal_mod

    monkeypatch.delattr(journal_mod, "latest_journal")
    assert report_cmd.journal_of(object()) is None


def test_journal_of_without_journal_module(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "virtio_wizard.journal" else real(name, *a),
    )
    assert report_cmd.journal_of(object()) is None
