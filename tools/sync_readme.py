"""Keep the README's troubleshooting table in step with docs/troubleshooting.md.

docs/troubleshooting.md is the full list of every refusal and error a user
can meet (a test checks the code against it); the README carries the short
form, one row per entry: the message, what it means, what to do. This script
writes that table between the README's markers; ``--check`` exits 1 when the
README is out of date (the tests run it so).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "troubleshooting.md"
README = ROOT / "README.md"
BEGIN = "<!-- troubleshooting:begin (tools/sync_readme.py writes this table) -->"
END = "<!-- troubleshooting:end -->"


def _first_sentence(text: str) -> str:
    """The first sentence; a quoted message at the start is kept whole."""
    text = re.sub(r"^(Note|Warning|Info)\s*:\s*", "", text.strip())
    if text.startswith('"') and '"' in text[1:]:
        return text[: text.index('"', 1) + 1]
    m = re.match(r"(.+?[.:])(\s|$)", text)
    return (m.group(1) if m else text).rstrip(":.") + "."


def entries(doc: str) -> list[tuple[str, str, str]]:
    """(heading, what it means, what to do) for every ``###`` entry of the doc."""
    rows = []
    for section in re.split(r"^### ", doc, flags=re.M)[1:]:
        head, _, body = section.partition("\n")
        body = re.split(r"^(?:---|## )", body, flags=re.M)[0]
        body = " ".join(body.split())
        meaning, _, do = body.partition("**Do:**")
        todo = _first_sentence(do) if do else "see docs/troubleshooting.md."
        rows.append((head.strip(), _first_sentence(meaning), todo))
    return rows


def table(doc: str) -> str:
    lines = ["| message | what it means | what to do |", "|---|---|---|"]
    for head, meaning, do in entries(doc):
        cells = [c.replace("|", "\\|") for c in (head, meaning, do)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(readme: str, doc: str) -> str:
    block = f"{BEGIN}\n{table(doc)}\n{END}"
    if BEGIN in readme and END in readme:
        start = readme.index(BEGIN)
        stop = readme.index(END) + len(END)
        return readme[:start] + block + readme[stop:]
    if "TROUBLESHOOTING_TABLE" in readme:
        return readme.replace("TROUBLESHOOTING_TABLE", block)
    raise SystemExit("README.md has no troubleshooting markers")


def main(argv: list[str]) -> int:
    readme = README.read_text(encoding="utf-8")
    new = render(readme, DOC.read_text(encoding="utf-8"))
    if "--check" in argv:
        if new != readme:
            print("README.md's troubleshooting table is out of date: run tools/sync_readme.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
