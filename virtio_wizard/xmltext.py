"""XML edited as text: elements with their byte offsets, and edits of only those bytes.

``xml.etree`` re-serialises a document: it drops the XML declaration,
rewrites quotes and renames namespace prefixes, so a file a user keeps (a
libvirt domain XML) would come back changed in places nobody asked for.
Here expat (stdlib) gives the byte offset of every element, :func:`parse`
keeps them, and :class:`ByteEdits` replaces only the bytes that must change
(an attribute value inside its own quotes, an element removed with its
line, an attribute added before a tag's ``>``). Comments, attribute order,
quoting and whitespace stay byte for byte.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["XMLTextError", "Element", "parse", "ByteEdits"]


class XMLTextError(ValueError):
    """The bytes are not well-formed XML (the message says where)."""


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    start: int
    #: Offset just after the start tag's ``>``.
    tag_end: int = 0
    #: Offset just after the element (its end tag, or the start tag if empty).
    end: int = 0
    parent: Optional[Element] = None
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Optional[Element]:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Element]:
        return [c for c in self.children if c.tag == tag]


def _tag_end(data: bytes, start: int) -> int:
    """Offset after the ``>`` closing the tag that starts at ``start`` (quotes respected)."""
    quote = 0
    for i in range(start, len(data)):
        ch = data[i]
        if quote:
            if ch == quote:
                quote = 0
        elif ch in (0x22, 0x27):
            quote = ch
        elif ch == 0x3E:
            return i + 1
    raise XMLTextError("unterminated tag")


def parse(data: bytes) -> Element:
    """Elements with their byte ranges; XMLTextError with line and column when malformed."""
    parser = xml.parsers.expat.ParserCreate()
    stack: list[Element] = []
    root: list[Element] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        pos = parser.CurrentByteIndex
        node = Element(name, dict(attrs), pos, _tag_end(data, pos))
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(name: str) -> None:
        node = stack.pop()
        pos = parser.CurrentByteIndex
        if data[node.tag_end - 2 : node.tag_end] == b"/>":
            node.end = node.tag_end
        else:
            node.end = _tag_end(data, pos)

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XMLTextError(f"not well-formed XML: {exc}") from exc
    if not root:
        raise XMLTextError("no element in the file")
    return root[0]


class ByteEdits:
    """Byte-range replacements, applied back to front."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.items: list[tuple[int, int, bytes]] = []

    def replace(self, start: int, end: int, new: bytes) -> None:
        self.items.append((start, end, new))

    def set_attr(self, node: Element, name: str, value: str) -> None:
        """Change an attribute's value inside its quotes, or add it before ``>``/``/>``."""
        tag = self.data[node.start : node.tag_end]
        match = re.search(rb"\s" + re.escape(name.encode()) + rb"\s*=\s*(['\"])(.*?)\1", tag)
        if match:
            self.replace(node.start + match.start(2), node.start + match.end(2), value.encode())
            return
        close = node.tag_end - (2 if tag.endswith(b"/>") else 1)
        quote = b'"' if b'="' in tag and b"='" not in tag else b"'"
        self.replace(close, close, b" " + name.encode() + b"=" + quote + value.encode() + quote)

    def remove(self, node: Element) -> None:
        """Remove an element; with its line when it stands alone on it."""
        start, end = node.start, node.end
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", end)
        line_end = len(self.data) if line_end < 0 else line_end
        if not self.data[line_start:start].strip() and not self.data[end:line_end].strip():
            start, end = line_start, min(line_end + 1, len(self.data))
        self.replace(start, end, b"")

    def insert_line_after(self, node: Element, text: str) -> None:
        """A new line after ``node``'s line, indented as that line is."""
        line_start = self.data.rfind(b"\n", 0, node.start) + 1
        indent = self.data[line_start : node.start]
        if indent.strip():
            indent = b""
        self.replace(node.end, node.end, b"\n" + indent + text.encode())

    def result(self) -> bytes:
        out = self.data
        for start, end, new in sorted(self.items, key=lambda t: (t[0], t[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out
