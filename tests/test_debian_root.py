"""The cached Debian 12 root of the boot tests is built once, even by two runs at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests import debian_root


def test_two_runs_that_find_no_cache_build_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTIO_WIZARD_TEST_CACHE", str(tmp_path))
    builds = []

    def slow_build(root: Path, stamp: Path) -> Path:
        builds.append(root)
        time.sleep(0.5)  # the other run arrives while this one builds
        (root / "boot").mkdir(parents=True)
        stamp.write_text("ok\n")
        return root

    monkeypatch.setattr(debian_root, "_debootstrap", slow_build)
    got = []
    runs = [threading.Thread(target=lambda: got.append(debian_root.build_root())) for _ in "ab"]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=30)
    assert len(builds) == 1
    assert got == [tmp_path / "debian12-root"] * 2
