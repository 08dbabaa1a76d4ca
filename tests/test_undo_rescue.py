"""The way back from a guest that does not boot: undo from a rescue system.

An apply done on the running guest (live, root ``/``) keeps its journal and
backups *in the guest*, under guest paths. Booted into a rescue system with
the guest's disk mounted at /mnt/guest, ``virtio-wizard --root /mnt/guest
undo`` must find them there and restore every file. Simulated here: the
apply runs on a live tree, the tree is copied elsewhere (another mount
point), and undo runs on the copy with ``--root``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from apply_fixtures import (
    KVER,
    MODULES,
    NEW_FSTAB,
    NEW_GRUB,
    edit,
    initrd_with,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    tree_state,
    write_image_script,
)

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.cli import main

GUEST_PATH_KEYS = ("path", "resolved", "to")


def guest_paths(journal: dict) -> list[str]:
    """Every file path the journal records for its steps (not command lines)."""
    out = []
    for rec in journal["steps"]:
        out += [rec[k] for k in GUEST_PATH_KEYS if isinstance(rec.get(k), str)]
        for nested in ("backup", "image"):
            value = rec.get(nested)
            if isinstance(value, dict) and isinstance(value.get("path"), str):
                out.append(value["path"])
    return out


def test_undo_root_on_a_copy_restores_a_live_apply(tmp_path: Path, capsys) -> None:
    live = make_guest(tmp_path / "live")
    before = tree_state(live)
    target = target_for(live, live=True)
    plan = make_plan(
        edit(live, "/etc/fstab", NEW_FSTAB),
        edit(live, "/etc/grub.conf", NEW_GRUB),
        *rebuild_steps(live, write_image_script(live, initrd_with(MODULES))),
    )
    assert apply_plan(target, plan).ok
    assert tree_state(live) != before
    [record] = (live / "var/lib/virtio-wizard/journal").glob("*.json")
    journal = json.loads(record.read_text())
    paths = guest_paths(journal)
    assert f"/boot/initrd-{KVER}.img" in paths and "/etc/fstab" in paths
    assert all(p.startswith("/") and str(tmp_path) not in p for p in paths), paths

    rescue = tmp_path / "mnt" / "guest"
    shutil.copytree(live, rescue, symlinks=True)
    assert main(["--root", str(rescue), "undo", "--yes"]) == 0
    assert tree_state(rescue) == before
    # The copy was undone, not the original.
    assert (live / "etc" / "fstab").read_text() == NEW_FSTAB
    assert "undo" in capsys.readouterr().out.lower()
