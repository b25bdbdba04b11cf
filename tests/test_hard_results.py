"""The committed results of the learned augmentors against the strongest standard
augmentation (docs/results/hard-standard.json, written by ``scripts/reproduce_hard.py --out
results/hard-standard --seeds 10 --workers 1 --methods
kd_random_shift,kd_standard,hard_warp_nearest,hard_warp_mix``): its statistics are the
analysis of its own per-seed numbers, and the claims of docs/hard.md's headline hold on it,
paired by seed, Holm-corrected over each table, on the selection seeds 0-4 and the fresh
confirmation seeds 5-9. Its seed-0 toy runs, rerun (``paper``), give its numbers.

And the MNIST-1D runs behind test_hard's two MNIST-1D claims (docs/results/hard-mnist1d.json,
written by ``scripts/reproduce_hard.py --out results/hard-mnist1d --datasets mnist1d --seeds
10 --methods kd,kd_random_shift,hard_warp,hard_warp_mix,hard_warp_mix_untrained``): the
claims hold on it; the runs it shares with hard-standard.json are the same numbers there;
its other runs of seed 0, rerun (``paper``), give its numbers. Each MNIST-1D run is ~17 s of
CPU: the claims read the 50 runs, CI reruns 3."""

import json
from pathlib import Path

import pytest
from scriptload import load_script

from quadgym.repro import hard_jobs
from quadgym.stats import holm, paired_test

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "docs/results/hard-standard.json").read_text())
MNIST1D = json.loads((ROOT / "docs/results/hard-mnist1d.json").read_text())


def shifted(key, seeds=range(10)):
    """Shifted accuracy of MNIST-1D method ``key`` on ``seeds`` (hard-mnist1d.json)."""
    return [MNIST1D["runs"]["mnist1d"][key]["acc_shifted"][s] for s in seeds]


def paired(ds, seeds):
    return RESULTS["summary"][ds]["paired"][seeds]["tests"]


def test_the_summary_is_the_analysis_of_the_per_seed_numbers():
    # compared as JSON: an undefined p-value is NaN, which equals nothing
    again = json.dumps(hard_jobs.summarise(RESULTS["runs"]))
    assert again == json.dumps(RESULTS["summary"])
    assert RESULTS["setup"]["seeds"] == 10
    for ds in ("toy", "mnist1d"):
        sets = RESULTS["summary"][ds]["paired"]
        assert sets["selection"]["seeds"] == [0, 4] and sets["confirmation"]["seeds"] == [5, 9]


def test_the_headline():
    """docs/hard.md's headline, Holm-corrected: the standard augmentation with warps and
    noise is not above random shifts; the learned augmentors are not significantly ahead of
    random shifts on the fresh seeds 5-9 (pinned: when it turns, the doc must change), but
    ahead over all ten on the toy (hard_warp_nearest) and MNIST-1D (hard_warp_mix)."""
    for ds in ("toy", "mnist1d"):
        standard = paired(ds, "all")["kd_standard vs kd_random_shift"]
        assert not (standard["diff"] > 0 and standard["p"] < 0.05)
    for ds, key in (("toy", "hard_warp_nearest"), ("mnist1d", "hard_warp_mix")):
        fresh = paired(ds, "confirmation")[f"{key} vs kd_random_shift"]
        assert fresh["p_holm"] > 0.05
        every = paired(ds, "all")[f"{key} vs kd_random_shift"]
        assert every["p_holm"] < 0.05 and every["diff"] > 0 and every["higher"] >= 9


def assert_seed_0_reruns(results, dataset, methods):
    """Seed 0 of ``methods`` on ``dataset``, rerun in this process as the script runs a seed,
    gives ``results``' accuracies to the bit."""
    script = load_script("reproduce_hard")
    args = script.Args(seeds=1, datasets=(dataset,), methods=tuple(methods), workers=1)
    again = hard_jobs.run_seed(dataset, 0, args)
    for key in methods:
        run = results["runs"][dataset][key]
        assert again["methods"][key]["acc_shifted"] == run["acc_shifted"][0], key
        assert again["methods"][key]["acc_in_distribution"] == run["acc_in_distribution"][0]


@pytest.mark.paper
def test_the_toy_runs_of_seed_0_rerun_give_the_committed_numbers():
    assert_seed_0_reruns(RESULTS, "toy", RESULTS["setup"]["methods"])


def test_the_mnist1d_file_is_its_command_and_shares_its_runs_with_the_standard_file():
    """Ten seeds of the five methods at the default budget, summarised as the script does;
    random shifts and the mix, also in hard-standard.json, are the same numbers there (the
    same jobs, each file from its own run)."""
    setup = MNIST1D["setup"]
    assert setup["datasets"] == ["mnist1d"] and setup["seeds"] == 10
    assert setup["mnist1d_budget"] == 3000 and setup["batch_size"] == 32 and setup["window"] == 8
    methods = ("kd", "kd_random_shift", "hard_warp", "hard_warp_mix", "hard_warp_mix_untrained")
    assert list(setup["methods"]) == list(methods)
    assert json.dumps(hard_jobs.summarise(MNIST1D["runs"])) == json.dumps(MNIST1D["summary"])
    for key in ("kd_random_shift", "hard_warp_mix"):
        for field in ("acc_shifted", "acc_in_distribution", "out_of_window"):
            assert MNIST1D["runs"]["mnist1d"][key][field] == RESULTS["runs"]["mnist1d"][key][field]


def test_on_mnist1d_hard_warp_transfers_but_does_not_beat_random_shifts():
    """Seeds 0-4, 3000 updates: hard_warp well above kd in shifted accuracy (interval of
    the paired difference above 0.25), but not above random shifts. A negative result,
    pinned as one: the day it turns, this test fails and docs/hard.md must change."""
    warp, kd, shift = (shifted(k, range(5)) for k in ("hard_warp", "kd", "kd_random_shift"))
    assert paired_test(warp, kd)["diff_ci"][0] > 0.25
    against_shift = paired_test(warp, shift)
    assert not (against_shift["diff"] > 0 and against_shift["p"] < 0.05)


def test_on_mnist1d_hard_warp_mix_beats_random_shifts_but_not_through_its_training():
    """HARD with the standard augmentation against the standard augmentation alone, at the
    same budget (seeds 0-9), Holm-corrected over the two comparisons: above random shifts
    on at least 9 of 10 seeds; but the same mix with the generator frozen at initialisation
    (random warps) does as well. So the gain over random shifts is the random warps', not
    the learned disagreement's; both are pinned: the day either turns, this test fails and
    docs/hard.md must change."""
    mix, shift = shifted("hard_warp_mix"), shifted("kd_random_shift")
    untrained = shifted("hard_warp_mix_untrained")
    against_shift, against_untrained = paired_test(mix, shift), paired_test(mix, untrained)
    p_shift, _ = holm([against_shift["p"], against_untrained["p"]])
    assert against_shift["higher"] >= 9 and p_shift < 0.05
    assert against_shift["diff"] > 0.005
    assert not (against_untrained["diff"] > 0 and against_untrained["p"] < 0.05)
    # and on the fresh seeds 5-9 alone, the win over random shifts is not significant: the
    # headline of docs/hard.md says so
    fresh = paired_test(mix[5:], shift[5:])
    assert not (fresh["diff"] > 0 and fresh["p"] < 0.05)


@pytest.mark.paper
def test_the_mnist1d_runs_of_seed_0_rerun_give_the_committed_numbers():
    """The three runs only this file holds (kd, hard_warp, the untrained mix), seed 0, rerun
    in this process: ~50 s of CPU instead of the claims' 50 runs."""
    assert_seed_0_reruns(MNIST1D, "mnist1d", ("kd", "hard_warp", "hard_warp_mix_untrained"))
