"""Two wizards on one guest: the second is refused, never interleaved.

The first apply runs in a subprocess and is paused *inside* ``apply_plan``
(after it took the lock and wrote its journal, just before it replaces the
first guest file) by wrapping ``LocalTarget.write_file`` in that process.
While it waits, ``virtio-wizard apply`` and ``virtio-wizard undo`` are run
through the real CLI: each must stop with the lock's message and exit code 1,
without changing a byte of the guest. Then the first apply is released and
must finish alone: one journal, each module added once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wizard_cli import run_wizard as cli

from virtio_wizard.apply.preflight import hold_lock
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.journal import JOURNAL_DIR, LOCK_PATH, list_journals
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.targets import LocalTarget, LockedError

REPO = Path(__file__).resolve().parent.parent
ROOTS = REPO / "tests" / "roots"
LOCK_MESSAGE = "another virtio-wizard is applying to this guest"
#: The network driver by the sysinit method in the guide's rc.sysinit (and modprobe.conf).
CHOICE_ARGS = ["--method", "sysinit", "--drivers", "net", "--yes"]
CHOICE_ARGS += ["--sysinit-file", "/etc/rc.d/rc.sysinit"]

PAUSED_APPLY = textwrap.dedent(
    """
    import os, sys, time
    from virtio_wizard.apply.run import apply_plan
    from virtio_wizard.detect import detect
    from virtio_wizard.plan import Choices, make_plan
    from virtio_wizard.targets import LocalTarget

    root, inside, go = sys.argv[1:4]
    real_write = LocalTarget.write_file

    def paused_write(self, path, data, *args, **kwargs):
        if not path.startswith("/var/lib/virtio-wizard") and not os.path.exists(inside):
            open(inside, "w").close()
            deadline = time.monotonic() + 60
            while not os.path.exists(go) and time.monotonic() < deadline:
                time.sleep(0.02)
        return real_write(self, path, data, *args, **kwargs)

    LocalTarget.write_file = paused_write
    target = LocalTarget(root)
    facts = detect(target, read_initrds=False)
    choices = Choices(
        method="sysinit", block=False, sysinit_file="/etc/rc.d/rc.sysinit", boot_disk="emulated"
    )
    result = apply_plan(target, make_plan(target, facts, choices))
    print(result.status)
    """
)


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file (and the target of every link) under ``root``."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the first apply ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("the first apply never reached its first write")
        time.sleep(0.02)


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    root = tmp_path / "guest"
    shutil.copytree(ROOTS / "rhel5ga", root, symlinks=True)
    return root


def test_second_apply_and_undo_are_refused_while_one_runs(guest: Path, tmp_path: Path):
    inside, go = tmp_path / "inside", tmp_path / "go"
    first = subprocess.Popen(
        [sys.executable, "-c", PAUSED_APPLY, str(guest), str(inside), str(go)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(inside, first)
        before = tree_hashes(guest)
        second = cli("--root", str(guest), "apply", *CHOICE_ARGS)
        assert second.returncode == 1, (second.stdout, second.stderr)
        assert f"{LOCK_PATH}: {LOCK_MESSAGE}" in second.stderr
        assert "Traceback" not in second.stderr
        other_undo = cli("--root", str(guest), "undo", "--yes")
        assert other_undo.returncode == 1, (other_undo.stdout, other_undo.stderr)
        assert LOCK_MESSAGE in other_undo.stderr
        assert tree_hashes(guest) == before  # neither wrote a byte
    finally:
        go.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert out.strip() == "done"
    # The first apply finished alone: one journal, each module added once.
    target = LocalTarget(str(guest))
    journals = list_journals(target)
    assert [j["status"] for j in journals] == ["done"]
    sysinit = (guest / "etc/rc.d/rc.sysinit").read_text()
    for module in ("virtio", "virtio_net", "virtio_pci"):  # the network driver's modules
        assert sysinit.count(f"modprobe {module}\n") == 1
    # And now that it is over, the same command goes through (nothing left to do).
    again = cli("--root", str(guest), "apply", *CHOICE_ARGS)
    assert again.returncode == 0, again.stderr
    assert len(list_journals(target)) == 1


def test_lock_held_in_process_refuses_apply_and_undo(guest: Path):
    """The API side: LockedError from apply_plan and undo, the guest untouched."""
    target = LocalTarget(str(guest))
    facts = detect(target, read_initrds=False)
    plan = make_plan(
        target, facts, Choices(method="sysinit", block=False, sysinit_file="/etc/rc.d/rc.sysinit")
    )
    before = tree_hashes(guest)
    with hold_lock(target):
        with pytest.raises(LockedError, match=LOCK_MESSAGE) as info:
            apply_plan(target, plan)
        assert info.value.path == LOCK_PATH
        with pytest.raises(LockedError, match=LOCK_MESSAGE):
            undo(target)
    after = tree_hashes(guest)
    lock_rel = LOCK_PATH.lstrip("/")
    assert {k: v for k, v in after.items() if k != lock_rel} == {
        k: v for k, v in before.items() if k != lock_rel
    }
    assert not (guest / JOURNAL_DIR.lstrip("/")).exists() or not list_journals(target)
    # Released: the same plan applies.
    assert apply_plan(target, plan).ok


def test_lock_is_released_when_the_holder_dies(guest: Path):
    """A killed wizard leaves the lock file, not the lock (flock dies with it)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from virtio_wizard.apply.preflight import hold_lock\n"
            "from virtio_wizard.targets import LocalTarget\n"
            "with hold_lock(LocalTarget(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(120)\n",
            str(guest),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        held = cli("--root", str(guest), "apply", *CHOICE_ARGS)
        assert held.returncode == 1 and LOCK_MESSAGE in held.stderr
        holder.kill()
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert (guest / LOCK_PATH.lstrip("/")).exists()
    done = cli("--root", str(guest), "apply", *CHOICE_ARGS)
    assert done.returncode == 0, done.stderr
    assert [j["status"] for j in list_journals(LocalTarget(str(guest)))] == ["done"]
