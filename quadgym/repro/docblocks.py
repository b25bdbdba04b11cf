"""Tables in a write-up that are generated from a reproduction's results.json, and checked.

A write-up marks each generated table as

    <!-- table: NAME -->
    ...the table, exactly as the reproduction's ``table_sections(results)[NAME]``...
    <!-- /table -->

:func:`blocks` reads them back, :func:`fill` rewrites them from the sections (how the
tables get into the doc), and :func:`mismatches` lists every block whose text differs from
what the committed results.json regenerates (what the tests assert is empty).
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<!-- table: (\S+) -->\n(.*?)<!-- /table -->", re.DOTALL)


def blocks(text: str) -> dict[str, str]:
    """NAME -> the text between the markers of each generated table of ``text``.

    Raises:
        ValueError: a table name used twice.
    """
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(text):
        name = match.group(1)
        if name in found:
            raise ValueError(f"the table {name!r} is marked twice")
        found[name] = match.group(2)
    return found


def fill(text: str, sections: dict[str, str]) -> str:
    """``text`` with every marked table replaced by its section.

    Raises:
        KeyError: a marked table that ``sections`` does not have.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in sections:
            raise KeyError(f"no table {name!r}; the results give {sorted(sections)}")
        return f"<!-- table: {name} -->\n{sections[name]}<!-- /table -->"

    return _BLOCK.sub(replace, text)


def mismatches(text: str, sections: dict[str, str]) -> list[str]:
    """The names of the marked tables of ``text`` whose text is not their section's (or
    that the sections lack)."""
    return [name for name, body in blocks(text).items() if sections.get(name) != body]


def main(argv: list[str] | None = None) -> None:
    """``python -m quadgym.repro.docblocks DOC RESULTS MODULE``: rewrite DOC's marked tables
    from RESULTS (a results.json) through ``MODULE.table_sections``."""
    import importlib
    import json
    import sys
    from pathlib import Path

    from quadgym.repro.io import write_text

    doc, results, module = argv if argv is not None else sys.argv[1:]
    sections = importlib.import_module(module).table_sections(json.loads(Path(results).read_text()))
    write_text(doc, fill(Path(doc).read_text(), sections))


if __name__ == "__main__":
    main()
