"""Decompression bombs: a small image that inflates to gigabytes is refused early.

The bombs are built at test time (``initrd_factory``), never committed: a
640 KB zstd frame of 20 GiB of zeros and a 2 MB gzip member of 2 GiB, the
shapes a hostile test found taking 268 s and 36 s in ``detect`` and then
called a valid initrd without virtio. Every test counts the bytes the reader
pulls out of the decompressor, and stops it (failing) past a budget far
below the bomb, so a regression fails fast instead of inflating gigabytes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from initrd_factory import build_cpio, gzip_zero_bomb, module_path, zstd_zero_bomb

from virtio_wizard.initrd import compression, image, read_initrd
from virtio_wizard.initrd.stream import ByteStream

GiB = 1 << 30


@pytest.fixture
def inflated(monkeypatch) -> list[int]:
    """Counts decompressed bytes; fails the test past 256 MiB (the bombs are GiBs)."""
    total = [0]
    real = compression.decompress

    def counting(raw: ByteStream, fmt: str) -> Iterator[bytes]:
        for chunk in real(raw, fmt):
            total[0] += len(chunk)
            if total[0] > 256 << 20:
                pytest.fail(f"the reader inflated more than 256 MiB of a {fmt} bomb")
            yield chunk

    monkeypatch.setattr(compression, "decompress", counting)
    return total


BOMBS = {
    "zstd-20GiB": lambda: zstd_zero_bomb(20 * GiB),
    "gzip-2GiB": lambda: gzip_zero_bomb(2 * GiB),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_of_zeros_is_no_archive_and_stops_at_once(name: str, inflated) -> None:
    data = BOMBS[name]()
    assert len(data) < 3 << 20
    start = time.monotonic()
    info = read_initrd(io.BytesIO(data), "/boot/initrd.img")
    fmt = name.split("-")[0]
    assert info.virtio is None and info.modules is None
    assert info.error == (
        f"the {fmt} data holds no cpio archive or ext2 image "
        "(it starts with 00 00 00 00 00 00): not an initrd"
    )
    assert inflated[0] <= 8 << 20, "it stopped after the first bytes"
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("fmt", ["zstd", "gzip"])
def test_an_archive_then_gigabytes_of_zeros_stops_at_the_cap(fmt: str, inflated, monkeypatch):
    """A real archive start passes the magic check; the size cap stops the rest."""
    monkeypatch.setattr(image, "MAX_DECOMPRESSED", 64 << 20)
    head = build_cpio({module_path("virtio_blk"): b"m"})
    bomb = zstd_zero_bomb if fmt == "zstd" else gzip_zero_bomb
    info = read_initrd(io.BytesIO(bomb(4 * GiB, head)), "/boot/initrd.img")
    assert info.virtio is None and info.modules is None
    assert info.error == (
        f"the {fmt} data inflates to more than 64 MiB: reading stopped there "
        "(real initrds are far smaller; this one is damaged or built to exhaust readers)"
    )
    assert (64 << 20) <= inflated[0] <= (64 << 20) + (8 << 20)


def test_the_cap_counts_every_segment_of_an_image(inflated, monkeypatch) -> None:
    """Many segments in a row, each an archive and zero padding under the cap, add up."""
    monkeypatch.setattr(image, "MAX_DECOMPRESSED", 64 << 20)
    archive = build_cpio({module_path("virtio"): b"v"})
    pair = zstd_zero_bomb(16 << 20, archive) + gzip_zero_bomb(16 << 20, archive)
    info = read_initrd(io.BytesIO(pair * 4), "/boot/initrd.img")
    assert info.format == "zstd+gzip+zstd+gzip"
    assert info.error is not None and "inflates to more than 64 MiB" in info.error
    assert inflated[0] <= (64 << 20) + (8 << 20)


def test_detect_names_the_bomb_in_the_finding(tmp_path, inflated) -> None:
    """End to end: the guest's image is a bomb; the finding says why it was not read."""
    from virtio_wizard.checks import check_initrd_unreadable
    from virtio_wizard.detect import detect
    from virtio_wizard.targets import LocalTarget

    kver = "6.1.0-9-amd64"
    root = tmp_path / "guest"
    (root / "boot").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/debian_version").write_text("12.1\n")
    (root / f"boot/vmlinuz-{kver}").write_bytes(b"k")
    (root / f"boot/initrd.img-{kver}").write_bytes(zstd_zero_bomb(20 * GiB))
    facts = detect(LocalTarget(str(root)))
    [kernel] = facts.kernels
    assert kernel.initrd_virtio is None and "holds no cpio archive" in (kernel.initrd_error or "")
    [finding] = check_initrd_unreadable(facts)
    assert "could not be read: the zstd data holds no cpio archive or ext2 image" in finding.message


def test_each_image_is_read_once_until_it_changes(tmp_path, monkeypatch) -> None:
    """Detection, apply's survey and verification ask about the same image: one read."""
    import os

    from initrd_factory import build_initrd

    from virtio_wizard.initrd import inspect_initrd
    from virtio_wizard.targets import LocalTarget

    reads = []
    real = image.ImageReader.__init__

    def counting(self, stream) -> None:
        reads.append(1)
        real(self, stream)

    monkeypatch.setattr(image.ImageReader, "__init__", counting)
    (tmp_path / "boot").mkdir()
    path = tmp_path / "boot/initrd.img"
    path.write_bytes(build_initrd(("virtio",), fmt="gzip"))
    os.symlink("initrd.img", tmp_path / "boot/initrd-link.img")
    target = LocalTarget(str(tmp_path))
    first = inspect_initrd(target, "/boot/initrd.img")
    again = inspect_initrd(target, "/boot/initrd-link.img")
    assert len(reads) == 1 and first.virtio == again.virtio == ("virtio",)
    assert again.path == "/boot/initrd-link.img"
    path.write_bytes(build_initrd(("virtio", "virtio_blk"), fmt="gzip"))  # rebuilt
    assert inspect_initrd(target, "/boot/initrd.img").virtio == ("virtio", "virtio_blk")
    assert len(reads) == 2
