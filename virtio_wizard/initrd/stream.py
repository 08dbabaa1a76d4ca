"""A forward-only byte stream over chunks, with look-ahead and push-back.

Why: the raw image and every decompressed segment are read the same way -- a
header here, a name there, and long runs of file data that are *skipped*, not
kept. Holding one chunk at a time keeps memory flat however big the archive
is; push-back lets a decompressor hand back the bytes after its stream ends,
where the next segment of the image begins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from .errors import InitrdError

__all__ = ["ByteStream", "file_chunks", "CHUNK_SIZE"]

#: How much of the image file is read at once (and the most a chunk holds).
CHUNK_SIZE = 1 << 20

_NON_ZERO = re.compile(rb"[^\x00]")


def file_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The file's bytes in chunks of at most ``size``, until end of file."""
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        yield chunk


class ByteStream:
    """Bytes pulled on demand from an iterator of chunks.

    Reads may come back short only at the end of the data; callers decide
    whether that is a truncation. ``offset`` counts bytes consumed so far, for
    error messages.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._pos = 0
        self._base = 0  # offset of _buf[0] in the whole stream

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _more(self) -> bool:
        """Append the next non-empty chunk to the buffer; False at the end."""
        for chunk in self._chunks:
            if not chunk:
                continue
            rest = self._buf[self._pos :] if self._pos < len(self._buf) else b""
            self._base += self._pos
            self._buf = rest + chunk if rest else chunk
            self._pos = 0
            return True
        return False

    def peek(self, n: int) -> bytes:
        """Up to ``n`` next bytes without consuming them (fewer only at the end)."""
        have = len(self._buf) - self._pos
        if have < n:
            # Join once: growing the buffer chunk by chunk would copy quadratically.
            parts = [self._buf[self._pos :]] if have else []
            for chunk in self._chunks:
                parts.append(chunk)
                have += len(chunk)
                if have >= n:
                    break
            self._base += self._pos
            self._buf = parts[0] if len(parts) == 1 else b"".join(parts)  # b"" when none
            self._pos = 0
        return self._buf[self._pos : self._pos + n]

    def read(self, n: int) -> bytes:
        """Up to ``n`` next bytes (fewer only at the end)."""
        if n > len(self._buf) - self._pos + CHUNK_SIZE:
            return self._read_large(n)
        data = self.peek(n)
        self._pos += len(data)
        return data

    def _read_large(self, n: int) -> bytes:
        """Read a big block (an lz4 block of 8 MiB) with one copy, not three."""
        start = self.offset
        parts = [self._buf[self._pos :]]
        have = len(parts[0])
        self._buf, self._pos = b"", 0
        for chunk in self._chunks:
            if have + len(chunk) >= n:
                cut = n - have
                parts.append(chunk[:cut])
                self._buf = chunk[cut:]
                have = n
                break
            parts.append(chunk)
            have += len(chunk)
        self._base = start + have
        return b"".join(parts)

    def skip(self, n: int) -> int:
        """Drop ``n`` bytes without keeping them; returns how many there were."""
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return n
        done = avail
        self._base += len(self._buf)
        self._buf, self._pos = b"", 0
        for chunk in self._chunks:
            need = n - done
            if len(chunk) <= need:
                done += len(chunk)
                self._base += len(chunk)
            else:
                self._buf, self._pos = chunk, need
                return n
        return done

    def skip_zeros(self) -> int:
        """Drop zero bytes (padding between archives); returns how many."""
        skipped = 0
        while True:
            if self._pos >= len(self._buf) and not self._more():
                return skipped
            found = _NON_ZERO.search(self._buf, self._pos)
            if found is not None:
                skipped += found.start() - self._pos
                self._pos = found.start()
                return skipped
            skipped += len(self._buf) - self._pos
            self._pos = len(self._buf)

    def take(self) -> bytes:
        """Whatever is buffered, else the next chunk; b"" at the end (for decompressors)."""
        if self._pos >= len(self._buf) and not self._more():
            return b""
        data = self._buf[self._pos :] if self._pos else self._buf
        self._base += len(self._buf)
        self._buf, self._pos = b"", 0
        return data

    def unread(self, data: bytes) -> None:
        """Push ``data`` back in front of the stream (a decompressor's unused input)."""
        if not data:
            return
        rest = self._buf[self._pos :]
        self._base += self._pos - len(data)
        self._buf = data + rest
        self._pos = 0

    def read_all(self, limit: int, what: str) -> bytes:
        """Everything left, refusing more than ``limit`` bytes (``what`` names it)."""
        parts = [self._buf[self._pos :]]
        total = len(parts[0])
        self._base += len(self._buf)
        self._buf, self._pos = b"", 0
        for chunk in self._chunks:
            total += len(chunk)
            self._base += len(chunk)
            if total > limit:
                raise InitrdError(f"the {what} is larger than {_size(limit)}")
            parts.append(chunk)
        if total > limit:
            raise InitrdError(f"the {what} is larger than {_size(limit)}")
        return b"".join(parts)


def _size(n: int) -> str:
    """A byte count for a message: ``64 MiB``, ``256 KiB``."""
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
