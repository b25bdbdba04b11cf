"""scripts/reproduce_hard.py, in-process: every key is written, each method's console line
carries its own name, the histograms cover the second half of each run, the paired tests
are the ones of its COMPARISONS, and the figures are drawn."""

import json
import sys

import pytest
from scriptload import load_script

from quadgym.repro import hard_jobs
from quadgym.repro.hard_figures import FIGURES


@pytest.mark.slow  # ~11 s
def test_writes_every_key_labels_and_second_half_histograms(tmp_path, capsys):
    script = load_script("reproduce_hard")
    budget, batch = 6, 4
    # two seeds (the paired tests need two), the toy only: each seed trains its own teacher
    args = ["--out", tmp_path, "--seeds", 2, "--batch-size", batch, "--datasets", "toy"]
    args += ["--toy-budget", budget, "--workers", 1]
    written = script.main([str(a) for a in args])
    out = capsys.readouterr().out.splitlines()
    lines = [line.split()[:2] for line in out if "in-distribution" in line]
    keys = list(hard_jobs.METHODS)
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
    sets = results["summary"][ds]["paired"]
    assert list(sets) == ["selection"] and sets["selection"]["seeds"] == [0, 1]
    paired = sets["selection"]["tests"]
    expected = [f"{a} vs {b}" for a, b in hard_jobs.COMPARISONS if a in keys and b in keys]
    assert list(paired) == expected and all(t["n"] == 2 for t in paired.values())
    assert all(t["p_holm"] >= t["p"] or t["p"] != t["p"] for t in paired.values())
    assert list(results["examples"][ds]) == list(hard_jobs.EXAMPLE_METHODS)
    for ex in results["examples"][ds].values():
        n = hard_jobs.EXAMPLES
        assert len(ex["original"]) == len(ex["warped"]) == len(ex["field"]) == n
    assert results["teacher"]["toy"]["shifted"][0] >= 0.95
    assert results["setup"]["seeds"] == 2
    assert "hard_warp vs kd_random_shift" in (tmp_path / "tables.md").read_text()
    for png in FIGURES:
        assert (tmp_path / png).stat().st_size > 0


class Planned(Exception):
    """Raised by a stand-in for the jobs, carrying the arguments they were given."""


@pytest.mark.parametrize(("seeds", "expected"), [(["--seeds", "2"], 2), ([], 10)])
def test_full_keeps_the_seeds_given_on_the_command_line(tmp_path, monkeypatch, seeds, expected):
    """--full means 10 seeds unless --seeds is given, also when the arguments come from
    the command line (sys.argv) rather than main's argv; and it adds FULL_ONLY's methods.
    The jobs are stood in for: what they do with the arguments is the test above's."""
    script = load_script("reproduce_hard")

    def planned(args):
        raise Planned(args)

    monkeypatch.setattr(script, "collect", planned)
    argv = ["--out", tmp_path, "--full", *seeds, "--batch-size", 4, "--datasets", "toy"]
    monkeypatch.setattr(sys, "argv", ["reproduce_hard.py", *map(str, argv)])
    with pytest.raises(Planned) as given:
        script.main()
    args = given.value.args[0]
    assert args.seeds == expected and args.full and args.datasets == ("toy",)
    assert set(hard_jobs.methods_of(args)) == set(hard_jobs.METHODS) | set(hard_jobs.FULL_ONLY)
    assert set(hard_jobs.FULL_ONLY) - set(hard_jobs.METHODS)  # --full adds methods


def test_a_run_that_dies_leaves_no_earlier_run_beside_it(tmp_path, monkeypatch):
    """results.json, tables.md and the figures of an earlier run are removed before the
    jobs start: a run killed midway leaves none of them to be read as its own."""
    script = load_script("reproduce_hard")
    stale = ["results.json", "tables.md", *FIGURES]
    for name in stale:
        (tmp_path / name).write_text("an earlier run")

    def dies(args):
        assert not any((tmp_path / name).exists() for name in stale)
        raise KeyboardInterrupt

    monkeypatch.setattr(script, "collect", dies)
    with pytest.raises(KeyboardInterrupt):
        script.main(["--out", str(tmp_path), "--datasets", "toy", "--workers", "1"])
    assert not any((tmp_path / name).exists() for name in stale)


def test_seed_sets_split_selection_from_confirmation():
    """Seeds 0-4 chose the variants; the paired tests are also made on the fresh seeds
    after them, and on all, once there are two of each."""
    assert hard_jobs.seed_sets(5) == {"selection": (0, 5)}
    assert hard_jobs.seed_sets(6) == {"selection": (0, 5), "all": (0, 6)}
    assert hard_jobs.seed_sets(10) == {
        "selection": (0, 5),
        "confirmation": (5, 10),
        "all": (0, 10),
    }


def test_methods_runs_only_those_named(tmp_path):
    script = load_script("reproduce_hard")
    argv = ["--out", tmp_path, "--seeds", 2, "--batch-size", 4, "--datasets", "toy"]
    argv += ["--toy-budget", 4, "--workers", 1, "--methods", "kd_standard,hard_warp_composed"]
    written = script.main([str(a) for a in argv])
    assert list(written["runs"]["toy"]) == ["kd_standard", "hard_warp_composed"]
    with pytest.raises(ValueError, match="each method once"):
        script.Args(methods=("kd", "kd"))
