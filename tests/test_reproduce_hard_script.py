"""scripts/reproduce_hard.py, in-process: every key is written, each method's console line
carries its own name, the histograms cover the second half of each run, the paired tests
are the ones of its COMPARISONS, and the figures are drawn."""

import json
import sys

import pytest
from scriptload import load_script


def test_writes_every_key_labels_and_second_half_histograms(tmp_path, capsys):
    script = load_script("reproduce_hard")
    budget, batch = 6, 4
    # two seeds (the paired tests need two), the toy only: each seed trains its own teacher
    args = ["--out", tmp_path, "--seeds", 2, "--batch-size", batch, "--datasets", "toy"]
    args += ["--toy-budget", budget, "--workers", 1]
    written = script.main([str(a) for a in args])
    out = capsys.readouterr().out.splitlines()
    lines = [line.split()[:2] for line in out if "in-distribution" in line]
    keys = list(script.METHODS)
    assert lines == [[key, "toy"] for key in keys]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["runs"] == json.loads(json.dumps(written["runs"]))
    ds = "toy"
    for key in keys:
        run = results["runs"][ds][key]
        assert len(run["acc_in_distribution"]) == 2 and 0 <= run["acc_shifted"][0] <= 1
        # one augmented pattern per signal per step, over the last budget - budget // 2
        # steps of each of the 2 seeds
        assert sum(run["positions"]) == sum(run["shifts"]) == 2 * (budget - budget // 2) * batch
    warp, kd = results["runs"][ds]["hard_warp"], results["runs"][ds]["kd"]
    assert warp["shifts"][0] < sum(warp["shifts"])  # hard_warp's warps shift patterns
    assert kd["shifts"][0] == sum(kd["shifts"])  # kd's are all 0
    paired = results["summary"][ds]["paired"]
    expected = [f"{a} vs {b}" for a, b in script.COMPARISONS if a in keys and b in keys]
    assert list(paired) == expected and all(t["n"] == 2 for t in paired.values())
    assert list(results["examples"][ds]) == list(script.EXAMPLE_METHODS)
    for ex in results["examples"][ds].values():
        assert len(ex["original"]) == len(ex["warped"]) == len(ex["field"]) == script.EXAMPLES
    assert results["teacher"]["toy"]["shifted"][0] >= 0.95
    assert results["setup"]["seeds"] == 2
    assert "hard_warp vs kd_random_shift" in (tmp_path / "tables.md").read_text()
    for png in ("accuracy.png", "shifts.png", "warps.png"):
        assert (tmp_path / png).stat().st_size > 0


def test_full_keeps_the_seeds_given_on_the_command_line(tmp_path, monkeypatch):
    """--full means 10 seeds unless --seeds is given, also when the arguments come from
    the command line (sys.argv) rather than main's argv."""
    script = load_script("reproduce_hard")
    argv = ["--out", tmp_path, "--full", "--seeds", 2, "--batch-size", 4, "--datasets", "toy"]
    argv += ["--toy-budget", 6, "--workers", 1]
    monkeypatch.setattr(sys, "argv", ["reproduce_hard.py", *map(str, argv)])
    written = script.main()
    assert written["setup"]["seeds"] == 2
    assert all(len(run["acc_shifted"]) == 2 for run in written["runs"]["toy"].values())
    assert set(written["runs"]["toy"]) == set(script.METHODS) | set(script.FULL_ONLY)


def test_a_run_that_dies_leaves_no_earlier_run_beside_it(tmp_path, monkeypatch):
    """results.json, tables.md and the figures of an earlier run are removed before the
    jobs start: a run killed midway leaves none of them to be read as its own."""
    script = load_script("reproduce_hard")
    stale = ["results.json", "tables.md", "accuracy.png", "shifts.png", "warps.png"]
    for name in stale:
        (tmp_path / name).write_text("an earlier run")

    def dies(args):
        assert not any((tmp_path / name).exists() for name in stale)
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "collect", dies)
    with pytest.raises(KeyboardInterrupt):
        script.main(["--out", str(tmp_path), "--datasets", "toy", "--workers", "1"])
    assert not any((tmp_path / name).exists() for name in stale)
