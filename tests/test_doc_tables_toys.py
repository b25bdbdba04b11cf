"""The HARD and FTP write-ups' tables are generated from the reproductions' committed
results (docs/results/*.json): every block equals what its renderer prints for its file,
so a number in a doc's table cannot disagree with the results the reproduction wrote."""

from pathlib import Path

import pytest

from quadgym.repro.doc_tables import blocks, expected, regenerate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("docs/hard.md", "docs/ftp.md")


@pytest.mark.parametrize("doc", DOCS)
def test_every_generated_table_equals_its_results(doc):
    found = blocks((ROOT / doc).read_text())
    assert found, f"{doc} has no generated tables"
    for m in found:
        assert (ROOT / m["path"]).exists(), m["path"]
        assert m["body"] == expected(m["renderer"], m["path"]), (
            f"{doc}: the tables from {m['path']} differ from the doc; "
            f"python -m quadgym.repro.doc_tables {doc}"
        )


def test_a_changed_number_is_caught_and_regenerate_restores_it(tmp_path):
    """Edit one digit of a generated table: the block no longer equals its results, and
    regenerate() writes it back."""
    doc = tmp_path / "doc.md"
    text = (ROOT / "docs/ftp.md").read_text()
    m = blocks(text)[0]
    body = m["body"]
    i = next(k for k, c in enumerate(body) if c.isdigit())
    wrong = body[:i] + str((int(body[i]) + 1) % 10) + body[i + 1 :]
    doc.write_text(text[: m.start("body")] + wrong + text[m.end("body") :])
    edited = blocks(doc.read_text())[0]
    assert edited["body"] != expected(edited["renderer"], edited["path"])
    assert regenerate(doc) == 1
    assert doc.read_text() == text
