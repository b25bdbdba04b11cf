"""The write-ups' tables, generated from the reproductions' committed ``results.json``.

A doc marks each generated block with the renderer and the results file it comes from::

    <!-- tables ftp docs/results/ftp-baselines.json -->
    ... the tables, exactly as the renderer prints them ...
    <!-- end tables -->

:func:`blocks` finds them, :func:`expected` renders what each should hold, and
``python -m quadgym.repro.doc_tables docs/ftp.md ...`` rewrites them (through a rename);
tests/test_doc_tables_toys.py fails when a doc's block and its results file disagree, so
that no number in those tables can drift from what the reproduction wrote.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from quadgym.files import atomic_write_bytes
from quadgym.repro import ftp_tables, hard_tables

ROOT = Path(__file__).resolve().parents[2]
#: renderer name -> results.json (parsed) -> the Markdown of the tables
RENDERERS: dict[str, Callable[[dict], str]] = {
    "ftp": ftp_tables.tables,
    "hard": lambda r: hard_tables.tables(r["summary"], r["teacher"], r["setup"]["seeds"]),
}
BLOCK = re.compile(
    r"<!-- tables (?P<renderer>\S+) (?P<path>\S+) -->\n(?P<body>.*?)<!-- end tables -->",
    re.DOTALL,
)


def blocks(text: str) -> list[re.Match]:
    """The generated blocks of a doc's ``text``, in order."""
    return list(BLOCK.finditer(text))


def expected(renderer: str, path: str) -> str:
    """What a block of ``renderer`` over the results file ``path`` (relative to the
    repository) holds: the renderer's output and a newline."""
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; known: {', '.join(RENDERERS)}")
    results = json.loads((ROOT / path).read_text())
    return RENDERERS[renderer](results).rstrip("\n") + "\n"


def regenerate(doc: Path) -> int:
    """Rewrite every generated block of ``doc`` from its results file; returns how many
    blocks changed."""
    text = doc.read_text()
    changed = 0

    def fill(m: re.Match) -> str:
        nonlocal changed
        body = expected(m["renderer"], m["path"])
        changed += body != m["body"]
        return f"<!-- tables {m['renderer']} {m['path']} -->\n{body}<!-- end tables -->"

    new = BLOCK.sub(fill, text)
    if new != text:
        atomic_write_bytes(doc, new.encode())
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {regenerate(Path(name))} block(s) rewritten")
