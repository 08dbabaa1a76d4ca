"""List the files of an ext2 image without mounting it (2.4-kernel initrds).

RHEL 3 and older build the initrd as a gzip-compressed ext2 file system. The
image is small (a few MiB), so it is held in memory -- up to a bound -- and
parsed directly: superblock, group descriptors, inodes, directory entries,
with direct and single/double/triple indirect blocks. Layout: "The Second
Extended File System" (Poirier), and e2fsprogs' ``lib/ext2fs/ext2_fs.h``.
Every offset read from the image is checked against the image first.
"""

from __future__ import annotations

import stat
import struct
from collections.abc import Iterator

from ..targets import decode_text
from .cpio import Member
from .errors import InitrdError

__all__ = ["MAGIC_OFFSET", "PROBE_SIZE", "MAX_IMAGE_BYTES", "is_ext2", "list_members"]

MAGIC_OFFSET = 1080
PROBE_SIZE = MAGIC_OFFSET + 2
#: The most of an ext2 initrd read into memory; beyond it, the image is refused.
MAX_IMAGE_BYTES = 64 << 20
_ROOT_INODE = 2
#: Incompatible features this reader understands: only "filetype".
_KNOWN_INCOMPAT = 0x0002


def is_ext2(head: bytes) -> bool:
    """True when the ext2/3/4 magic 0xEF53 sits at byte 1080."""
    return head[MAGIC_OFFSET:PROBE_SIZE] == b"\x53\xef"


class _Image:
    """Bounds-checked access to the parts of an ext2 image."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 2048:
            raise InitrdError("the ext2 image is truncated inside its superblock")
        self.data = memoryview(data)
        sb = data[1024:2048]
        (self.inodes_count, self.blocks_count) = struct.unpack_from("<II", sb, 0)
        first_data_block, log_block_size = struct.unpack_from("<II", sb, 20)
        self.blocks_per_group, _, self.inodes_per_group = struct.unpack_from("<III", sb, 32)
        rev_level = struct.unpack_from("<I", sb, 76)[0]
        self.inode_size = struct.unpack_from("<H", sb, 88)[0] if rev_level >= 1 else 128
        incompat = struct.unpack_from("<I", sb, 96)[0] if rev_level >= 1 else 0
        if log_block_size > 6 or not self.inodes_per_group or not self.blocks_per_group:
            raise InitrdError("the ext2 superblock is corrupt")
        if self.inode_size < 128 or self.inode_size & (self.inode_size - 1):
            raise InitrdError(f"the ext2 inode size {self.inode_size} is invalid")
        if incompat & ~_KNOWN_INCOMPAT:
            raise InitrdError(
                f"the ext2 image uses features this reader does not know (0x{incompat:x})"
            )
        self.block_size = 1024 << log_block_size
        self.gdt = (first_data_block + 1) * self.block_size

    def _slice(self, offset: int, size: int, what: str) -> memoryview:
        if offset < 0 or offset + size > len(self.data):
            raise InitrdError(f"the ext2 image is truncated or corrupt ({what} out of range)")
        return self.data[offset : offset + size]

    def block(self, number: int) -> memoryview:
        if not 0 < number < self.blocks_count:
            raise InitrdError(f"the ext2 image is corrupt (block {number} out of range)")
        return self._slice(number * self.block_size, self.block_size, f"block {number}")

    def inode(self, number: int) -> tuple[int, int, tuple[int, ...]]:
        """(mode, size, the 15 block pointers) of an inode."""
        if not 0 < number <= self.inodes_count:
            raise InitrdError(f"the ext2 image is corrupt (inode {number} out of range)")
        group, index = divmod(number - 1, self.inodes_per_group)
        desc = self._slice(self.gdt + group * 32, 32, "group descriptor")
        table = struct.unpack_from("<I", desc, 8)[0]
        raw = self._slice(table * self.block_size + index * self.inode_size, 128, f"inode {number}")
        mode, _, size = struct.unpack_from("<HHI", raw, 0)
        return mode, size, struct.unpack_from("<15I", raw, 40)

    def file_blocks(self, pointers: tuple[int, ...], size: int) -> Iterator[int]:
        """Block numbers of a file's data in order (0 for a hole)."""
        remaining = -(-size // self.block_size)
        per_block = self.block_size // 4

        def walk(number: int, depth: int) -> Iterator[int]:
            nonlocal remaining
            if depth == 0:
                remaining -= 1
                yield number
                return
            if number == 0:  # a hole spanning everything this block would map
                skip = min(remaining, per_block**depth)
                remaining -= skip
                yield from (0 for _ in range(skip))
                return
            for pointer in struct.unpack_from(f"<{per_block}I", self.block(number)):
                if remaining <= 0:
                    return
                yield from walk(pointer, depth - 1)

        for i, pointer in enumerate(pointers):
            if remaining <= 0:
                return
            yield from walk(pointer, 0 if i < 12 else i - 11)


def list_members(data: bytes) -> Iterator[Member]:
    """Every entry of the file system (folders first visited first), as cpio-style paths."""
    image = _Image(data)
    mode, size, pointers = image.inode(_ROOT_INODE)
    if not stat.S_ISDIR(mode):
        raise InitrdError("the ext2 image is corrupt (the root is not a folder)")
    todo: list[tuple[str, int, tuple[int, ...]]] = [("", size, pointers)]
    seen = {_ROOT_INODE}
    # A hostile image can point many folders at the same blocks: bound the work.
    budget = 4 * (len(data) // image.block_size) + 64
    while todo:
        prefix, size, pointers = todo.pop()
        if size > len(data):
            raise InitrdError("the ext2 image is corrupt (a folder larger than the image)")
        for number in image.file_blocks(pointers, size):
            if number == 0:
                continue
            budget -= 1
            if budget < 0:
                raise InitrdError("the ext2 image is corrupt (folders share blocks)")
            block = image.block(number)
            offset = 0
            while offset + 8 <= image.block_size:
                child, rec_len, name_len = struct.unpack_from("<IHB", block, offset)
                if rec_len < 8 or rec_len & 3 or offset + rec_len > image.block_size:
                    raise InitrdError("the ext2 image is corrupt (bad directory entry)")
                if 8 + name_len > rec_len:
                    raise InitrdError("the ext2 image is corrupt (bad directory entry)")
                name = bytes(block[offset + 8 : offset + 8 + name_len])
                offset += rec_len
                if not child or name in (b".", b".."):
                    continue
                cmode, csize, cpointers = image.inode(child)
                path = prefix + decode_text(name)
                yield Member(path, cmode)
                if stat.S_ISDIR(cmode) and child not in seen:
                    seen.add(child)
                    todo.append((path + "/", csize, cpointers))
