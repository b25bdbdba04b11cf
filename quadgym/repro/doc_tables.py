"""The write-ups' tables, generated from the reproductions' committed results, and checked.

A doc marks each generated table with the renderer, the table's name and the results file
(relative to the repository) it comes from::

    <!-- table ftp:few docs/results/ftp-baselines.json -->
    ... the table, exactly as ``RENDERERS["ftp"](results)["few"]`` prints it ...
    <!-- /table -->

A renderer is a reproduction's ``table_sections(results) -> {name: Markdown}`` (the same
function its script writes ``tables.md`` with). :func:`blocks` reads the marked tables back,
:func:`mismatches` names every block whose text is not what its results file regenerates
(what tests/test_doc_tables.py asserts is empty), :func:`fill` rewrites them, and
``python -m quadgym.repro.doc_tables docs/copg.md ...`` writes the filled doc through a
rename, so that no number in those tables can drift from what the reproduction wrote.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quadgym.repro import copg_tables, dpo3d_tables, ftp_tables, hard_tables
from quadgym.repro.io import write_text

ROOT = Path(__file__).resolve().parents[2]
#: renderer name -> results.json (parsed) -> {table name: its Markdown}
RENDERERS: dict[str, Callable[[dict], dict[str, str]]] = {
    "copg": copg_tables.table_sections,
    "dpo3d": dpo3d_tables.table_sections,
    "hard": hard_tables.table_sections,
    "ftp": ftp_tables.table_sections,
}
#: a marker opens a line; the same words elsewhere (in prose, quoted) are not a table
_OPEN = re.compile(r"^<!-- table", re.MULTILINE)
_BLOCK = re.compile(
    r"^<!-- table (?P<renderer>[\w-]+):(?P<name>[\w-]+) (?P<path>\S+) -->\n"
    r"(?P<body>.*?)<!-- /table -->",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    """One marked table of a doc: where its text sits (``start``..``end``, the text between
    the markers) and what it should hold (``renderer``'s table ``name`` of ``path``)."""

    renderer: str
    name: str
    path: str
    body: str
    start: int
    end: int

    @property
    def label(self) -> str:
        """``renderer:name path``, as the marker writes it."""
        return f"{self.renderer}:{self.name} {self.path}"


def blocks(text: str) -> list[Block]:
    """The marked tables of a doc's ``text``, in order.

    Raises:
        ValueError: a line opening with ``<!-- table`` that is not a whole block of this
            form (a typo would otherwise leave a table unchecked), or one table marked twice.
    """
    found: list[Block] = []
    for m in _BLOCK.finditer(text):
        found.append(
            Block(m["renderer"], m["name"], m["path"], m["body"], m.start("body"), m.end("body"))
        )
    opened = list(_OPEN.finditer(text))
    if len(opened) != len(found):
        starts = {b.start for b in found}
        for m in opened:
            if text.find("\n", m.start()) + 1 not in starts:
                line = text.count("\n", 0, m.start()) + 1
                raise ValueError(
                    f"line {line}: {text[m.start() : text.find(chr(10), m.start())]!r} is not "
                    "a generated table '<!-- table RENDERER:NAME PATH -->' closed by "
                    "'<!-- /table -->'"
                )
    labels = [b.label for b in found]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ValueError(f"the table {twice[0]!r} is marked twice")
    return found


def _sections(renderer: str, path: str, root: Path, cache: dict) -> dict[str, str]:
    """``renderer``'s tables of the results file ``path`` (read once per call of the
    public functions)."""
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; known: {', '.join(RENDERERS)}")
    if (renderer, path) not in cache:
        results = json.loads((root / path).read_text())
        cache[renderer, path] = RENDERERS[renderer](results)
    return cache[renderer, path]


def expected(block: Block, root: Path = ROOT) -> str:
    """What ``block`` should hold: its table as the renderer prints it from the results
    file (``path`` under ``root``), ending in one newline.

    Raises:
        ValueError: an unknown renderer.
        KeyError: a table name the renderer does not give for that file.
    """
    return _expected(block, root, {})


def _expected(block: Block, root: Path, cache: dict) -> str:
    """:func:`expected`, each results file read and rendered once per ``cache``."""
    sections = _sections(block.renderer, block.path, root, cache)
    if block.name not in sections:
        raise KeyError(
            f"no table {block.name!r} in {block.renderer} of {block.path}; "
            f"it gives {sorted(sections)}"
        )
    return sections[block.name].rstrip("\n") + "\n"


def mismatches(text: str, root: Path = ROOT) -> list[str]:
    """The labels (``renderer:name path``) of the marked tables of ``text`` whose text is
    not what their results file regenerates."""
    cache: dict = {}
    return [b.label for b in blocks(text) if b.body != _expected(b, root, cache)]


def fill(text: str, root: Path = ROOT) -> str:
    """``text`` with every marked table rewritten from its results file."""
    cache: dict = {}
    out, at = [], 0
    for b in blocks(text):
        out += [text[at : b.start], _expected(b, root, cache)]
        at = b.end
    return "".join(out) + text[at:]


def regenerate(doc: str | Path, root: Path = ROOT) -> int:
    """Rewrite every marked table of ``doc`` from its results file (through a rename);
    returns how many tables changed."""
    text = Path(doc).read_text()
    changed = len(mismatches(text, root))
    if changed:
        write_text(doc, fill(text, root))
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {regenerate(name)} table(s) rewritten")
