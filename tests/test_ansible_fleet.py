"""The Ansible role in ``contrib/ansible``, run by ``ansible-playbook`` against four guests.

Each guest is a fixture root served by its own real sshd on 127.0.0.1 whose
remote side has only busybox (see ``sshd_fixture``): no Python, as on the
RHEL 4/5 guests the role is for.

- ``old``: a RHEL 5.3 guest that needs the initrd path (its ``mkinitrd`` is a
  small ``sh`` stand-in that writes an image holding the virtio modules);
- ``current``: the same guest already converted: nothing to do;
- ``refused``: a guest whose kernel has no virtio: refused at detection with its finding id;
- ``nokernel``: a guest with no kernel: detection raises no error, the plan is refused.

The play is run as an operator would: a check run (the default), Ansible's
``--check``, the real run (``-e virtio_apply=true``), then ``--tags undo``.
The real run must leave the same bytes, modes and owners as an in-process
``apply`` of the same choices on a copy; the check runs and the refused guest
must be left untouched; undo must give the original tree back.
"""

from __future__ import annotations

import os
import re
import shlex
import sys

import pytest
from fleet_fixture import (
    CHOICES,
    RELAY,
    guest_state,
    make_fleet,
    old_guest,
    play,
    stop_fleet,
    summary,
    why_not,
    write_inventory,
)
from wizard_cli import run_wizard

if why_not() and os.environ.get("CI") == "true":
    raise RuntimeError(f"the Ansible fleet test cannot run under CI: {why_not()}")
pytestmark = [
    pytest.mark.skipif(why_not() is not None, reason=str(why_not())),
    pytest.mark.integration,
]


@pytest.fixture
def fleet(tmp_path):
    fleet = make_fleet(tmp_path)
    yield fleet
    stop_fleet(fleet)


def test_check_then_apply_then_undo(fleet, tmp_path):
    guests = fleet["guests"]
    before = {name: guest_state(root) for name, root in guests.items()}

    # 1. The default run only checks: nothing is written on any guest.
    proc = play(fleet, "-e", '{"virtio_report_formats": ["markdown", "json"]}')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out  # a refusal is an answer, not a failed run
    rows = summary(fleet)
    assert rows["old"].startswith("checked"), rows
    assert "virtio_apply=true" in rows["old"]
    assert rows["current"].startswith("nothing to do"), rows
    assert rows["refused"].startswith("refused"), rows
    assert "kernel-no-virtio" in rows["refused"]
    assert rows["nokernel"].startswith("refused"), rows
    assert "plan refused (kernel-none)" in rows["nokernel"], rows
    assert "REFUSED refused: kernel-no-virtio" in out, "the play's output says why"
    assert re.search(r"REFUSED refused: kernel-no-virtio:.* Fix: \w", out), "and what to do"
    assert "HOST" in out and "summary" in out.lower()
    for name, root in guests.items():
        assert guest_state(root) == before[name], f"a check run changed {name}"
    assert (fleet["run"] / "old.sh").is_file()
    assert not (fleet["run"] / "current.sh").exists(), "no script for a guest with nothing to do"
    assert (fleet["run"] / "old.report.md").read_text().strip()
    assert (fleet["run"] / "old.report.json").read_text().lstrip().startswith("{")
    assert "check passed" in (fleet["run"] / "old.log").read_text()

    # 2. Ansible's --check, even with virtio_apply=true, maps to the script's --check.
    proc = play(fleet, "--check", "-e", "virtio_apply=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary(fleet)["old"].startswith("checked"), summary(fleet)
    for name, root in guests.items():
        assert guest_state(root) == before[name], f"ansible --check changed {name}"

    # 3. The real run equals an in-process apply of the same choices, byte for byte.
    proc = play(fleet, "-e", "virtio_apply=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = summary(fleet)
    assert rows["old"].startswith("converted"), rows
    assert rows["current"].startswith("nothing to do"), rows
    assert rows["refused"].startswith("refused"), rows
    local = old_guest(tmp_path / "local")
    proc_local = run_wizard("--root", str(local), "apply", *CHOICES, "-y")
    assert proc_local.returncode == 0, proc_local.stderr
    assert guest_state(guests["old"]) == guest_state(local)
    assert guest_state(guests["old"]) != before["old"]
    assert guest_state(guests["current"]) == before["current"]
    assert guest_state(guests["refused"]) == before["refused"]

    # A second real run finds nothing left to do and keeps the script undo needs.
    proc = play(fleet, "-e", "virtio_apply=true")
    assert summary(fleet)["old"].startswith("nothing to do"), summary(fleet)
    assert (fleet["run"] / "old.sh").is_file()

    # 4. The undo tag puts the converted guest back; the others have nothing to undo.
    proc = play(fleet, "--tags", "undo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = summary(fleet)
    assert rows["old"].startswith("undone"), rows
    assert rows["current"].startswith("nothing to undo"), rows
    assert guest_state(guests["old"]) == before["old"]  # bytes, modes and owners


def test_guests_behind_a_jump_host(fleet):
    """A ProxyCommand in ``ansible_ssh_common_args`` carries both Ansible and the wizard.

    The proxy is a small script that logs the ssh client that started it, then
    relays the connection (``nc``-like, through ``ssh -W`` of a jump host is the
    usual form; here a plain relay keeps the test self-contained). Both kinds
    of client must appear: Ansible's (its ControlPath under ``~/.ansible/cp``)
    and the wizard's (``BatchMode=yes``, its own ControlPath).
    """
    log = fleet["tmp"] / "proxy.log"
    proxy = fleet["tmp"] / "proxy"
    proxy.write_text(
        "#!/bin/sh\n"
        f"{{ tr '\\0' ' ' < /proc/$PPID/cmdline; echo; }} >> {shlex.quote(str(log))}\n"
        f'exec {shlex.quote(sys.executable)} -c "$RELAY" "$1" "$2"\n'
    )
    proxy.chmod(0o755)
    write_inventory(fleet["inventory"], fleet["servers"], proxy=str(proxy))
    os.environ["RELAY"] = RELAY
    try:
        proc = play(fleet, "-e", "virtio_hosts=old")
    finally:
        del os.environ["RELAY"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary(fleet).get("old", "").startswith("checked"), proc.stdout
    clients = log.read_text().splitlines()
    assert any(".ansible/cp" in line for line in clients), clients
    assert any("BatchMode=yes" in line for line in clients), clients


#: A byte relay between stdin/stdout and HOST PORT: what ``nc`` or ``ssh -W`` would do.
