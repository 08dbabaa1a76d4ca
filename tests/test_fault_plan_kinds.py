"""Faults at every write boundary of every step of every kind of plan the planner makes.

``test_faults.py`` holds the faults of one hand-made plan that need no
crash at a boundary (full disks, read-only guests, failed builds). Here the
plans come from the planner itself (``make_plan`` reading a small guest tree), one per plan kind:
sysinit editing rc.sysinit, sysinit creating ``/etc/rc.modules`` (mode
0755), the initrd method for each initrd tool (backup + rebuild command),
and disk-name edits (fstab, grub.conf behind its link, device.map). Run as root
(CI), edited files belong to a non-root owner first, so undo is seen to
restore owners as well as modes and bytes.

The command of an initrd step is the one thing replaced: the real
``mkinitrd``/``dracut``/... cannot run here, so its argv becomes a shell
line that writes the new image the way those tools do (image, image kind,
the modules to verify and the backup step stay as the planner made them).

Each boundary is crashed twice: by an exception raised in the executor (the
journal is saved as ``interrupted``) and by SIGKILL of a child process
running apply (the journal stays ``running``). After each crash every file
is old or new, the journal lists the plan, a rerun completes, and undo
gives back the original tree: bytes, modes and owners.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Optional

import pytest
from apply_fixtures import apply_in_child, initrd_with, newc, signal_mid_tool, tree_state
from plan_fixtures import RC_SYSINIT, facts, kernel, ref

import virtio_wizard.apply.run as apply_mod
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.facts import TargetInfo
from virtio_wizard.journal import list_journals
from virtio_wizard.knowledge import SEED_MODULES
from virtio_wizard.plan import make_plan
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.targets import LocalTarget

#: Not root where files can be given away: undo must put the owner back.
OWNER = (1234, 567) if os.geteuid() == 0 else (os.getuid(), os.getgid())
FSTAB = b"/dev/hda1 / ext3 defaults 1 1\n/dev/hda2 swap swap defaults 0 0\n"
GRUB = b"default=0\ntitle Linux\n\tkernel /vmlinuz ro root=/dev/hda1\n"
DEVMAP = b"(hd0)     /dev/hda\n"

#: The phases ``apply._fault`` knows, per step kind (edit of an existing file / new file).
PHASES = {
    "edit": ("start", "backed-up", "recorded", "written", "done"),
    "edit-new": ("start", "recorded", "written", "done"),
    "backup": ("start", "ran", "done"),
    "command": ("start", "ran", "done"),
    "command-build": ("start", "ran", "renamed", "done"),
}


def _initrd_case(tool: str, version: str, image: str, **config: str):
    k = kernel(version, initrd=image)
    return facts(initrd_tool=tool, kernels=(k,), initrd_tool_config=dict(config)), {}


#: name -> (Facts builder, Choices keywords)
CASES = {
    "sysinit-rc.sysinit": (
        lambda: (facts(), {}),
        {"method": "sysinit", "block": False, "sysinit_file": "/etc/rc.d/rc.sysinit"},
    ),
    "sysinit-rc.modules": (
        lambda: (facts(), {}),
        {"method": "sysinit", "block": False, "sysinit_file": "/etc/rc.modules"},
    ),
    "initrd-mkinitrd": (
        lambda: _initrd_case("mkinitrd", "2.6.18-8.el5", "/boot/initrd-2.6.18-8.el5.img"),
        {},
    ),  # noqa: E501
    "initrd-dracut": (lambda: _initrd_case("dracut", "3.10.0", "/boot/initramfs-3.10.0.img"), {}),
    "initrd-suse-mkinitrd": (
        lambda: _initrd_case(
            "suse-mkinitrd", "3.0.101-63-default", "/boot/initrd-3.0.101-63-default"
        ),  # noqa: E501
        {},
    ),
    "initrd-initramfs-tools": (
        lambda: _initrd_case(
            "initramfs-tools", "2.6.26-2-686", "/boot/initrd.img-2.6.26-2-686", MODULES="dep"
        ),  # noqa: E501
        {},
    ),
    "initrd-mkinitcpio": (
        lambda: _initrd_case("mkinitcpio", "6.6.1-arch1-1", "/boot/initramfs-linux.img"),
        {},
    ),
    "disk-names": (
        lambda: (
            facts(
                disk_refs=(
                    ref("/etc/fstab", 1, "/dev/hda1", "/dev/vda1"),
                    ref("/etc/fstab", 2, "/dev/hda2", "/dev/vda2"),
                    ref("/boot/grub/grub.conf", 3, "/dev/hda1", "/dev/vda1"),
                    ref("/boot/grub/device.map", 1, "/dev/hda", "/dev/vda"),
                ),
            ),
            {},
        ),
        {"fix_disk_names": True},
    ),
}


def _guest_tree(root: Path, image: Optional[str]) -> None:
    """A RHEL-5-like tree; files the plans edit belong to a non-root owner."""
    for sub in ("etc/rc.d", "boot/grub", "etc/sysconfig/modules"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/rc.d/rc.sysinit").write_text(RC_SYSINIT)
    os.chmod(root / "etc/rc.d/rc.sysinit", 0o750)
    (root / "etc/fstab").write_bytes(FSTAB)
    (root / "boot/grub/grub.conf").write_bytes(GRUB)
    os.chmod(root / "boot/grub/grub.conf", 0o600)
    os.symlink("../boot/grub/grub.conf", root / "etc/grub.conf")
    (root / "boot/grub/device.map").write_bytes(DEVMAP)
    for rel in ("etc/rc.d/rc.sysinit", "etc/fstab", "boot/grub/grub.conf", "boot/grub/device.map"):
        os.chown(root / rel, *OWNER)
    if image:
        (root / image.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / image.lstrip("/")).write_bytes(initrd_with((), "x"))
        os.chown(root / image.lstrip("/"), *OWNER)


def _fake_tool(step: Step, guest: Path, new_image: bytes, slow: str = "") -> Step:
    """The rebuild command with argv replaced by one that writes the file the plan names.

    That is the build file beside the image (``step.build``), as the real
    tools are told to: apply checks it and renames it over the image. With
    ``slow`` (a marker path) the tool writes half an image, says so in the
    marker, and waits until ``MARKER.go`` exists, so a test can signal it
    mid-write (and a resumed run, with the same argv, goes straight on).
    """
    src = guest.parent / "tool-output.img"
    src.write_bytes(new_image)
    out = guest / (step.build or step.image or "").lstrip("/")
    script = f"echo {step.argv[0]}: building; cat {src} > {out}; echo done"
    if slow:
        half = len(new_image) // 2
        script = (
            f"echo {step.argv[0]}: building; head -c {half} {src} > {out}; "
            f"echo started > {slow}; while [ ! -e {slow}.go ]; do sleep 0.05; done; "
            f"cat {src} > {out}; echo done"
        )
    return Step(
        kind=step.kind,
        why=step.why,
        argv=("sh", "-c", script),
        image=step.image,
        verify_modules=step.verify_modules,
        build=step.build,
    )


def build(tmp_path: Path, case: str, slow: str = "") -> tuple[Path, Plan]:
    make_facts, choice_kw = CASES[case]
    f, _ = make_facts()
    guest = tmp_path / "guest"
    guest.mkdir()
    k = f.kernels[0]
    _guest_tree(guest, k.initrd if choice_kw.get("method") != "sysinit" else None)
    f = _with_target(f, guest)
    target = LocalTarget(str(guest), kind="local")
    plan = make_plan(target, f, Choices(**choice_kw))
    assert not plan.refused, [x.message for x in plan.refusals]
    assert plan.steps, case
    new_image = newc(
        ["init", *(f"lib/modules/{k.version}/kernel/drivers/virtio/{m}.ko" for m in SEED_MODULES)]
    )
    steps = tuple(
        _fake_tool(s, guest, new_image, slow) if s.kind == "command" else s for s in plan.steps
    )
    return guest, Plan(plan.choices, steps, plan.findings, plan.modules, plan.kernel, plan.target)


def _with_target(f, guest: Path):
    import dataclasses

    return dataclasses.replace(f, target=TargetInfo("local", str(guest)))


def boundaries(guest: Path, plan: Plan) -> list[tuple[int, str]]:
    out = []
    for i, step in enumerate(plan.steps):
        kind = step.kind
        if kind == "edit" and not (guest / _real(guest, step.path or "")).exists():
            kind = "edit-new"
        if kind == "command" and step.build:
            kind = "command-build"
        out += [(i, phase) for phase in PHASES[kind]]
    return out


def _real(guest: Path, path: str) -> str:
    host = guest / path.lstrip("/")
    return os.path.relpath(os.path.realpath(host), guest) if host.is_symlink() else path.lstrip("/")


def planned_state(guest: Path, plan: Plan, before: dict) -> dict[str, bytes]:
    """What each touched file may hold after a crash: its old bytes or its planned bytes."""
    allowed: dict[str, set] = {}
    for step in plan.steps:
        if step.kind == "edit":
            rel = _real(guest, step.path or "")
            old = before.get(rel, (None,))[0]
            allowed[rel] = {old, step.new_bytes()}
    return allowed


def assert_old_or_new(guest: Path, plan: Plan, before: dict, new_image: bytes) -> None:
    for rel, options in planned_state(guest, plan, before).items():
        host = guest / rel
        now = host.read_bytes() if host.exists() else None
        assert now in options, rel
    for step in plan.steps:
        if step.kind == "command" and step.image:
            host = guest / step.image.lstrip("/")
            assert host.read_bytes() in (before[step.image.lstrip("/")][0], new_image)
    stray = [n for _d, _s, names in os.walk(guest) for n in names if ".vw-new" in n]
    assert not stray
    assert os.path.islink(guest / "etc/grub.conf"), "an edit through a link keeps the link"


def assert_finished(guest: Path, plan: Plan, before: dict, new_image: bytes) -> None:
    for step in plan.steps:
        if step.kind == "edit":
            rel = _real(guest, step.path or "")
            host = guest / rel
            assert host.read_bytes() == step.new_bytes(), rel
            st = os.stat(host)
            if step.mode is not None:
                assert st.st_mode & 0o7777 == step.mode, rel
            if rel in before:
                assert (st.st_uid, st.st_gid) == OWNER, f"{rel} keeps its owner"
                if step.mode is None:
                    assert st.st_mode & 0o7777 == before[rel][1], f"{rel} keeps its mode"
        elif step.kind == "backup":
            assert (guest / (step.to or "").lstrip("/")).read_bytes() == before[
                (step.path or "").lstrip("/")
            ][0]
        elif step.image:
            assert (guest / step.image.lstrip("/")).read_bytes() == new_image


def _new_image(guest: Path) -> bytes:
    made = guest.parent / "tool-output.img"
    return made.read_bytes() if made.exists() else b""


def _all_boundaries() -> list[tuple[str, int, str]]:
    """(case, step, phase) for every case; the step lists are those the planner makes."""
    import tempfile

    out = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            guest, plan = build(Path(tmp), case)
            out += [(case, i, phase) for i, phase in boundaries(guest, plan)]
    return out


BOUNDARIES = _all_boundaries()


def test_every_plan_kind_has_the_steps_it_should():
    """The cases really cover each step kind the planner makes, incl. a 0755 creation."""
    seen = {case: {(s.kind, s.mode) for s in build_plan(case).steps} for case in CASES}
    assert [s.path for s in build_plan("sysinit-rc.sysinit").steps] == ["/etc/rc.d/rc.sysinit"]
    assert ("edit", 0o755) in seen["sysinit-rc.modules"]
    for tool in ("mkinitrd", "dracut", "suse-mkinitrd", "initramfs-tools", "mkinitcpio"):
        kinds = [k for k, _m in seen[f"initrd-{tool}"]]
        assert "backup" in kinds and "command" in kinds, tool
    paths = {s.path for s in build_plan("disk-names").steps}
    assert {"/etc/fstab", "/boot/grub/grub.conf", "/boot/grub/device.map"} <= paths
    phases = {phase for _c, _i, phase in BOUNDARIES}
    assert phases == {"start", "backed-up", "recorded", "written", "ran", "renamed", "done"}


def build_plan(case: str) -> Plan:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return build(Path(tmp), case)[1]


def _check_after_crash(guest: Path, plan: Plan, before: dict, journal_status: str) -> None:
    new_image = _new_image(guest)
    assert_old_or_new(guest, plan, before, new_image)
    journals = list_journals(LocalTarget(str(guest), kind="local"))
    assert len(journals) == 1 and journals[0]["status"] == journal_status
    assert [s["kind"] for s in journals[0]["steps"]] == [s.kind for s in plan.steps]

    rerun = apply_plan(LocalTarget(str(guest), kind="local"), plan)
    assert rerun.status == "done", rerun.messages
    assert len(list_journals(LocalTarget(str(guest), kind="local"))) == 1
    assert_finished(guest, plan, before, new_image)
    assert apply_plan(LocalTarget(str(guest), kind="local"), plan).status == "nothing"

    assert undo(LocalTarget(str(guest), kind="local")).status == "done"
    assert tree_state(guest) == before


class Crash(Exception):
    """Raised by the patched fault hook."""


@pytest.mark.parametrize(("case", "index", "phase"), BOUNDARIES)
def test_exception_at_each_boundary(tmp_path, monkeypatch, case, index, phase):
    guest, plan = build(tmp_path, case)
    before = tree_state(guest)

    def fault(i: int, p: str) -> None:
        if (i, p) == (index, phase):
            raise Crash(f"{i}:{p}")

    monkeypatch.setattr(apply_mod, "_fault", fault)
    with pytest.raises(Crash):
        apply_plan(LocalTarget(str(guest), kind="local"), plan)
    monkeypatch.undo()
    _check_after_crash(guest, plan, before, "interrupted")


@pytest.mark.parametrize(("case", "index", "phase"), BOUNDARIES)
def test_kill_9_at_each_boundary(tmp_path, case, index, phase):
    guest, plan = build(tmp_path, case)
    before = tree_state(guest)
    child = apply_in_child(guest, plan, f"step:{index}:{phase}")
    assert child.returncode == -signal.SIGKILL, (child.stdout, child.stderr)
    _check_after_crash(guest, plan, before, "running")


# ---- signals to the process group during the command step ------------------------

INITRD_CASES = [c for c in CASES if c.startswith("initrd-")]
GROUP_SIGNALS = {"sighup": signal.SIGHUP, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}


def _replanned(plan: Plan) -> Plan:
    """The plan the planner makes after the interruption: same choices, but the
    first run's backup now exists, so it names the next free backup name."""
    steps = tuple(
        dataclasses.replace(s, to=(s.path or "") + ".virtio-wizard.bak")
        if s.kind == "backup"
        else s
        for s in plan.steps
    )
    return dataclasses.replace(plan, steps=steps)


@pytest.mark.parametrize("sig", list(GROUP_SIGNALS))
@pytest.mark.parametrize("case", INITRD_CASES)
def test_a_signal_to_the_process_group_mid_rebuild_leaves_the_image_whole(tmp_path, case, sig):
    """An SSH session dropping (SIGHUP), a TERM or a KILL to the whole group while
    the tool writes: the image is old, never torn; a rerun of a plan made again
    resumes the same journal with no second backup; one undo gives the tree back."""
    marker = tmp_path / "started"
    guest, plan = build(tmp_path, case, slow=str(marker))
    before = tree_state(guest)
    image = next(s.image for s in plan.steps if s.kind == "command")
    old_image = (guest / (image or "").lstrip("/")).read_bytes()
    signal_mid_tool(guest, plan, marker, GROUP_SIGNALS[sig])
    assert (guest / (image or "").lstrip("/")).read_bytes() == old_image, "a torn image"
    build_file = next(s.build for s in plan.steps if s.kind == "command")
    assert build_file, "the planner's tools build beside the image"
    assert (guest / build_file.lstrip("/")).exists(), "the half build file is beside it"
    target = LocalTarget(str(guest), kind="local")
    (journal,) = list_journals(target)
    assert journal["status"] == "running"

    Path(f"{marker}.go").touch()
    again = _replanned(plan)
    assert again.to_dict() != plan.to_dict()
    events = []
    rerun = apply_plan(target, again, on_event=events.append)
    assert rerun.status == "done", rerun.messages
    assert any("resuming the unfinished apply" in e.text for e in events)
    assert len(list_journals(target)) == 1, "the rerun resumed the interrupted apply"
    assert (guest / (image or "").lstrip("/")).read_bytes() == _new_image(guest)
    assert not (guest / build_file.lstrip("/")).exists()
    stacked = [n for _d, _s, names in os.walk(guest) for n in names if ".virtio-wizard.bak" in n]
    assert stacked == [], "no second backup of the image"
    assert not [n for _d, _s, names in os.walk(guest) for n in names if n.endswith(".new")]
    assert undo(target).status == "done"
    assert tree_state(guest) == before
