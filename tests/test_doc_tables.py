"""The write-ups' tables are generated from the reproductions' committed results
(docs/results/*.json) by one mechanism, quadgym.repro.doc_tables: every marked table of
every doc equals what its renderer prints for its results file, so a number in a doc's
table cannot disagree with the results the reproduction wrote."""

import json
from pathlib import Path

import pytest

from quadgym.repro.doc_tables import blocks, expected, fill, mismatches, regenerate

ROOT = Path(__file__).resolve().parents[1]
#: every doc with a generated table (found, so a new one is checked without a list to edit)
DOCS = sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md") if blocks(p.read_text())
)
#: the tables each toy's write-up must have (a doc that dropped its markers fails here)
REQUIRED = {
    "docs/copg.md": {
        "default",
        "paper",
        "copg_vs",
        "policies",
        "ipo_exact",
        "ipo_tuned",
        "bandits",
    },
    "docs/dpo3d.md": {"changes", "per_seed", "comparisons", "instances", "tokens"},
    "docs/hard.md": {"toy", "mnist1d"},
    "docs/ftp.md": {"few", "fresh"},
}


def test_every_toy_doc_has_its_generated_tables():
    assert set(REQUIRED) <= set(DOCS)
    for doc, names in REQUIRED.items():
        assert names <= {b.name for b in blocks((ROOT / doc).read_text())}, doc


@pytest.mark.parametrize("doc", DOCS)
def test_every_generated_table_equals_its_results(doc):
    text = (ROOT / doc).read_text()
    for b in blocks(text):
        assert (ROOT / b.path).exists(), b.path
    assert mismatches(text) == [], f"python -m quadgym.repro.doc_tables {doc}"


def test_a_changed_number_is_caught_and_regenerate_restores_it(tmp_path):
    """Edit one digit of a generated table: the block no longer equals its results, and
    regenerate() writes it back."""
    doc = tmp_path / "doc.md"
    text = (ROOT / "docs/ftp.md").read_text()
    b = blocks(text)[0]
    i = b.start + next(k for k, c in enumerate(b.body) if c.isdigit())
    doc.write_text(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :])
    assert mismatches(doc.read_text()) == [b.label]
    assert regenerate(doc) == 1
    assert doc.read_text() == text
    assert regenerate(doc) == 0


def _toy_results(tmp_path):
    """A copy of HARD's committed results as ``tmp_path/r.json`` (a results file outside
    docs/results, read relative to the root given)."""
    results = json.loads((ROOT / "docs/results/hard-standard.json").read_text())
    (tmp_path / "r.json").write_text(json.dumps(results))


def test_blocks_are_found_filled_and_checked(tmp_path):
    _toy_results(tmp_path)
    toy = "<!-- table hard:toy r.json -->\n"
    mnist = "<!-- table hard:mnist1d r.json -->\n"
    doc = f"a\n{toy}old\n<!-- /table -->\nb\n{mnist}| 1 |\n<!-- /table -->\nc\n"
    found = blocks(doc)
    assert [(b.renderer, b.name, b.path, b.body) for b in found] == [
        ("hard", "toy", "r.json", "old\n"),
        ("hard", "mnist1d", "r.json", "| 1 |\n"),
    ]
    assert mismatches(doc, tmp_path) == ["hard:toy r.json", "hard:mnist1d r.json"]
    filled = fill(doc, tmp_path)
    assert filled.startswith("a\n" + toy) and filled.endswith("<!-- /table -->\nc\n")
    assert [b.body for b in blocks(filled)] == [expected(b, tmp_path) for b in found]
    assert blocks(filled)[0].body.startswith("#### toy: student accuracy, 10 seeds")
    assert mismatches(filled, tmp_path) == []


def test_malformed_markers_are_refused_by_name(tmp_path):
    _toy_results(tmp_path)
    with pytest.raises(ValueError, match="marked twice"):
        blocks("<!-- table hard:toy r.json -->\nx\n<!-- /table -->\n" * 2)
    with pytest.raises(ValueError, match=r"line 2: '<!-- table: toy -->' is not a generated"):
        blocks("a\n<!-- table: toy -->\nx\n<!-- /table -->\n")
    with pytest.raises(ValueError, match="is not a generated table"):
        blocks("<!-- table hard:toy r.json -->\nnever closed\n")
    with pytest.raises(ValueError, match="unknown renderer 'nope'; known: copg, dpo3d"):
        mismatches("<!-- table nope:toy r.json -->\nx\n<!-- /table -->\n", tmp_path)
    with pytest.raises(KeyError, match=r"no table 'fresh' in hard of r.json; it gives \['mnist1d"):
        mismatches("<!-- table hard:fresh r.json -->\nx\n<!-- /table -->\n", tmp_path)


def test_the_second_mechanism_is_gone_and_says_where_to_go():
    with pytest.raises(ImportError, match="quadgym.repro.docblocks was removed; .*doc_tables"):
        import quadgym.repro.docblocks  # noqa: F401
