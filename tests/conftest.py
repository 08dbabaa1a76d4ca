"""Shared fixtures: the committed guest roots under ``tests/roots/``.

``fixture_target(name)`` opens a root read-only where it lies (fast; never
write through it). ``guest_root(name)`` copies it to ``tmp_path`` first, so a
test may change files, add FIFOs and device nodes (which git cannot hold),
or apply a plan, without touching the committed tree. Symlinks are copied as
symlinks, so the hostile root stays hostile. ``tree(files)`` builds a small
root from a dict for the one-file cases.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pytest

from tests.live_fixtures import materialize
from tests.roots.make_roots import RUNTIME_ROOTS
from virtio_wizard.targets import LocalTarget

ROOTS_DIR = Path(__file__).parent / "roots"

#: Never collect inside the guest trees (they are data, not tests).
collect_ignore = ["roots"]

#: Runtime-built roots (see make_roots.RUNTIME_ROOTS), built once per session.
_BUILT: dict[str, Path] = {}


def root_names() -> list[str]:
    """Every fixture root: the committed folders under tests/roots and the runtime ones."""
    committed = {p.name for p in ROOTS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")}
    return sorted(committed | set(RUNTIME_ROOTS))


@pytest.fixture
def roots_dir() -> Path:
    """The folder holding the committed fixture roots."""
    return ROOTS_DIR


def _check(name: str) -> Path:
    if name in RUNTIME_ROOTS:
        if name not in _BUILT:
            base = tempfile.mkdtemp(prefix="virtio-wizard-roots-")
            atexit.register(shutil.rmtree, base, True)
            RUNTIME_ROOTS[name](base)
            _BUILT[name] = Path(base) / name
        return _BUILT[name]
    path = ROOTS_DIR / name
    if not path.is_dir():
        raise ValueError(f"no fixture root {name!r}; known: {', '.join(root_names())}")
    return path


@pytest.fixture
def guest_root(tmp_path: Path) -> Callable[..., LocalTarget]:
    """``guest_root(name)`` -> a LocalTarget on a private copy of that root.

    ``kind`` may be given (e.g. ``"demo"``); the copy lives in ``tmp_path/name``.
    """

    def make(name: str, **kwargs) -> LocalTarget:
        dest = tmp_path / name
        shutil.copytree(_check(name), dest, symlinks=True)
        return LocalTarget(os.fspath(dest), **kwargs)

    return make


@pytest.fixture
def fixture_target() -> Callable[..., LocalTarget]:
    """``fixture_target(name)`` -> a LocalTarget on the committed root (read-only use)."""

    def make(name: str, **kwargs) -> LocalTarget:
        return LocalTarget(os.fspath(_check(name)), **kwargs)

    return make


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., LocalTarget]:
    """``tree({"etc/os-release": "ID=x\\n", "bin/sh": Path("bash")})`` -> a LocalTarget.

    Values are file contents (str is written as UTF-8, bytes as they are), or
    a ``Path`` for a symlink to that (verbatim) target. Each call makes a new
    root under ``tmp_path``.
    """
    counter = [0]

    def make(files: dict, **kwargs) -> LocalTarget:
        counter[0] += 1
        root = tmp_path / f"tree{counter[0]}"
        root.mkdir()
        return LocalTarget(materialize(os.fspath(root), files), **kwargs)

    return make
