"""DPO's 3D-properties on PreferenceToy-v0, asserted as changes from the start of training.

Every property is a change from epoch 0 (the policy = π_ref) to the last epoch
(300), computed by quadgym.repro.dpo3d's ``changes``: the drastic drop as
Δ log10 rejected mass (decades), the degradation as Δ ln chosen mass (nats) and its
fall from the peak, the dispersion as Δ unseen mass. Defaults: β = 0.1, Adam lr 1e-3,
batch 64, 64 pairs per prompt, a rank-2 response embedding.

What happens here (docs/dpo3d.md): on-policy data shows all three; off-policy data
shows the drop, weaker than on-policy, the chosen mass rising (on 9 of seeds 0-9; it
collapses on seed 9) and the unseen mass falling: the paper's "worse off-policy" is not
reproduced, and the tests say so. Both fixes (β⁻ = 0.01 < β⁺ = 0.1; λ = 1 SFT) reduce
each property on every seed.

Seed 0's thresholds run in ``make test``; over seeds 0-9 (the ``paper`` mark) each claim
is a family of paired comparisons over seeds (two-sided paired t-test, Holm-corrected
within the claim: tests/claims.py), not a per-seed tolerance.
"""

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from claims import assert_significant, paired_claims
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import quadgym
from quadgym.agents.preference.plugins import dpo_loss
from quadgym.repro import dpo3d as script
from quadgym.repro import dpo3d_run, dpo3d_tables
from quadgym.stats import holm

EPOCHS = 300
ALL_SEEDS = range(10)
FIXES = {
    "dpo_flex": ("dpo_flex", {"beta_plus": 0.1, "beta_minus": 0.01}),
    "dpo_sft": ("dpo_sft", {"sft_weight": 1.0}),
}
_RUNS: dict = {}


def changes(method: str, scenario: str, seed: int) -> dict[str, float]:
    """The script's changes of one run (cached for the module)."""
    key = (method, scenario, seed)
    if key not in _RUNS:
        torch.set_num_threads(1)
        algo, extra = FIXES.get(method, (method, {}))
        chosen, rejected = scenario.split("_")
        run = script.train(algo, seed, EPOCHS, chosen=chosen, rejected=rejected, **extra)
        _RUNS[key] = run["changes"]
    return _RUNS[key]


def test_gradient_ratio_corollary():
    """With probabilities as free variables, ∂ℓ/∂π⁻ : ∂ℓ/∂π⁺ = −π⁺/π⁻."""
    beta = 0.1
    for p_w, p_l in [(0.3, 0.2), (0.05, 0.6), (0.5, 1e-4)]:
        pw = torch.tensor(p_w, dtype=torch.float64, requires_grad=True)
        pl = torch.tensor(p_l, dtype=torch.float64, requires_grad=True)
        ref = torch.tensor(0.1, dtype=torch.float64)
        loss = dpo_loss(torch.log(pw) - torch.log(ref), torch.log(pl) - torch.log(ref), beta)
        gw, gl = torch.autograd.grad(loss, (pw, pl))
        assert (gl / gw).item() == pytest.approx(-p_w / p_l, rel=1e-10)


@pytest.mark.parametrize("seed", [0])
def test_on_policy_dpo_shows_the_three_properties_as_changes(seed):
    c = changes("dpo", "on_on", seed)
    # drastic drop: the rejected mass falls by > 12 decades, tenfold within 70 epochs
    assert c["drop_log10_rejected"] < -12
    assert c["epochs_to_tenth"] <= 70
    # degradation: the chosen mass rises, then ends > 0.3 nats below its peak and no
    # higher than where it started (below it on 8 of seeds 0-9)
    assert c["dln_chosen_from_peak"] < -0.3
    assert c["dln_chosen"] < 0.01
    # dispersion: > 0.3 of the probability moves onto responses the data never shows
    assert c["d_unseen"] > 0.3


@pytest.mark.parametrize("seed", [0])
def test_off_policy_dpo_shows_no_property_more_strongly_than_on_policy(seed):
    """The paper's direction (all three worse off-policy) fails in this toy."""
    off, on = changes("dpo", "off_off", seed), changes("dpo", "on_on", seed)
    assert off["drop_log10_rejected"] < -5  # a drastic drop, ...
    assert off["drop_log10_rejected"] > on["drop_log10_rejected"] + 0.5  # ... milder than on
    # the chosen mass moves far from its start (up 3.1-4.3 nats on 9 of seeds 0-9, down
    # 7.8 nats on seed 9), where on-policy it ends within 1 nat of its start
    assert abs(off["dln_chosen"]) > 2.5 and abs(on["dln_chosen"]) < 1
    # next to no dispersion: the unseen mass falls (or rises by < 0.05 on seed 9)
    assert off["d_unseen"] < 0.05
    assert off["d_unseen"] < on["d_unseen"] - 0.3


@pytest.mark.parametrize("seed", [0])
@pytest.mark.parametrize("fix", list(FIXES))
def test_each_fix_reduces_each_property(seed, fix):
    dpo, fixed = changes("dpo", "on_on", seed), changes(fix, "on_on", seed)
    assert fixed["drop_log10_rejected"] > dpo["drop_log10_rejected"] + 8
    assert fixed["drop_log10_rejected"] > -4
    assert fixed["dln_chosen"] > dpo["dln_chosen"] + 0.3
    assert fixed["dln_chosen"] > 0.3  # the chosen mass now rises
    assert fixed["d_unseen"] < dpo["d_unseen"] - 0.2
    assert abs(fixed["d_unseen"]) < 0.15  # next to no dispersion
    # off-policy too: the rejected mass no longer drops, less mass on unseen responses
    dpo_off, fixed_off = changes("dpo", "off_off", seed), changes(fix, "off_off", seed)
    assert fixed_off["drop_log10_rejected"] > 0
    assert fixed_off["d_unseen"] < dpo_off["d_unseen"] - 0.15


def over_seeds(method: str, scenario: str, change: str) -> list[float]:
    """``change`` of ``method`` on ``scenario`` for seeds 0-9."""
    return [changes(method, scenario, s)[change] for s in ALL_SEEDS]


@pytest.mark.paper
def test_on_policy_dpo_shows_the_three_properties_over_seeds():
    """Each change against no change, over seeds 0-9 (Holm over the four): the rejected
    mass drops, the chosen mass ends below its peak and below its start, the unseen mass
    rises. (On 5 seeds the fall below the start is not significant: docs/dpo3d.md.)"""
    zero = [0.0] * len(ALL_SEEDS)
    names = ("drop_log10_rejected", "dln_chosen_from_peak", "dln_chosen", "d_unseen")
    tests = paired_claims({n: (over_seeds("dpo", "on_on", n), zero) for n in names})
    signs = dict(zip(names, (-1, -1, -1, +1), strict=True))
    assert_significant(tests, signs)


@pytest.mark.paper
def test_off_policy_dpo_shows_no_property_more_strongly_over_seeds():
    """Off- against on-policy, paired by seed (Holm over the three): the drop and the
    dispersion are significantly weaker off-policy; the degradation is not stronger (the
    chosen mass falls less off-policy, on average)."""
    tests = paired_claims(
        {
            n: (over_seeds("dpo", "off_off", n), over_seeds("dpo", "on_on", n))
            for n in ("drop_log10_rejected", "dln_chosen", "d_unseen")
        }
    )
    assert_significant(tests, {"drop_log10_rejected": +1, "d_unseen": -1})
    assert tests["dln_chosen"]["diff"] > 0  # off-policy the chosen mass falls less


@pytest.mark.paper
def test_each_fix_reduces_each_property_over_seeds():
    """Each fix against DPO on on-policy data, paired by seed (Holm over the six): a
    shallower drop, a chosen mass that ends higher, less dispersion."""
    cases, signs = {}, {}
    for fix in FIXES:
        for name, sign in (("drop_log10_rejected", +1), ("dln_chosen", +1), ("d_unseen", -1)):
            key = f"{fix} {name}"
            cases[key] = (over_seeds(fix, "on_on", name), over_seeds("dpo", "on_on", name))
            signs[key] = sign
    assert_significant(paired_claims(cases), signs)


ROOT = Path(__file__).resolve().parents[1]


def committed() -> dict:
    """docs/results/dpo3d.json: the results the write-up's tables are generated from."""
    return json.loads((ROOT / "docs" / "results" / "dpo3d.json").read_text())


def test_the_committed_fixes_over_instances_are_their_own_analysis_and_weaken_the_drop():
    """The fixes replicated over 10 independent instances (docs/dpo3d.md): the committed
    statistics are the paired tests of the committed per-instance changes (Holm over the
    table's 12); each fix weakens the drastic drop on both data (Holm p < 0.05) and moves
    the degradation and the dispersion in the fix's direction on average, and on-policy
    those two are not significant after the correction on 10 instances (what the
    headline says)."""
    results = committed()
    fixes, dpo = results["instance_fixes"], results["instances"]
    assert set(fixes["changes"]) == {
        f"{fix}/{sc}" for fix in ("dpo_flex β⁻=0.01", "dpo_sft λ=1") for sc in ("on_on", "off_off")
    }
    signs = dict(script.PROPERTIES.values())
    again = []
    for t in fixes["comparisons"]:
        sc = t["b"].removeprefix("dpo/")
        a, b = fixes["changes"][t["a"]][t["change"]], dpo["changes"][sc][t["change"]]
        assert len(a) == len(b) == 10
        again.append({**script.paired(a, b, signs[t["change"]]), "a": t["a"]})
        assert again[-1]["diff"] == pytest.approx(t["diff"], rel=1e-12)
    assert len(again) == 12
    holm_again = holm([t["p"] for t in again])
    assert [t["p_holm"] for t in fixes["comparisons"]] == pytest.approx(holm_again, rel=1e-12)
    for t in fixes["comparisons"]:
        fix_direction = -signs[t["change"]] * t["diff"] > 0
        assert fix_direction, t
        if t["change"] == "drop_log10_rejected":
            assert t["p_holm"] < 0.05, t
        elif t["b"] == "dpo/on_on":
            assert t["p_holm"] >= 0.05, t


@pytest.mark.paper
def test_the_committed_fixes_over_instances_are_this_codes_runs():
    """Instance 1 of each fix-over-instances run, rerun, gives the committed changes
    exactly (the runs are deterministic in their seed: the table is this code's)."""
    results = committed()
    setup = {k: tuple(v) if isinstance(v, list) else v for k, v in results["setup"].items()}
    args = script.Args.from_mapping({k: setup[k] for k in script.Args.__dataclass_fields__})
    runs = script.fix_runs(args)
    torch.set_num_threads(1)
    for key, stored in results["instance_fixes"]["changes"].items():
        name, sc = key.split("/")
        algo, extra = runs[name]
        chosen, rejected = sc.split("_")
        cfg = {"beta": args.beta, "lr": args.lr, "chosen": chosen, "rejected": rejected}
        run = script.train(algo, 1, args.epochs, task_seed=1, **cfg, **extra)
        np.testing.assert_equal(run["changes"], {k: v[1] for k, v in stored.items()})


def test_script_statistics_and_changes_against_hand_computation():
    mean, low, high = script.t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4)·s/√n
    assert (mean, low, high) == pytest.approx((3.0, 3.0 - half, 3.0 + half))
    test = script.paired([1.0, 2.0, 4.0], [2.0, 2.5, 3.0], sign=-1)
    assert test["diff"] == pytest.approx(-0.1666666, rel=1e-5)
    assert test["stronger"] == 2 and test["n"] == 3
    d = np.array([-1.0, -0.5, 1.0])
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    from scipy import stats

    assert test["p"] == pytest.approx(2 * stats.t.sf(abs(t), 2))
    c = script.changes([0.5, 0.8, 0.4], [0.4, 0.03, 4e-4], [0.1, 0.17, 0.5996])
    assert c["dln_chosen"] == pytest.approx(math.log(0.8))
    assert c["dln_chosen_from_peak"] == pytest.approx(math.log(0.5))
    assert c["drop_log10_rejected"] == pytest.approx(-3.0)
    assert c["epochs_to_tenth"] == 1.0
    assert c["d_unseen"] == pytest.approx(0.4996)
    assert math.isnan(script.changes([1, 1], [1, 0.5], [0, 0])["epochs_to_tenth"])


@pytest.mark.slow  # ~13 s
def test_script_tiny_full_run(tmp_path):
    torch.set_num_threads(1)
    argv = ["--out", str(tmp_path), "--seeds", "2", "--epochs", "3", "--token-epochs", "2"]
    res = dpo3d_run.main([*argv, "--beta-minus", "0.01", "--sft-lambda", "1.0", "--full"])
    for name in ("results.json", "curves.json", "tables.md", "figure.png", "fixes.png"):
        assert (tmp_path / name).is_file()
    for name in ("figure.png", "fixes.png"):
        assert (tmp_path / name).stat().st_size < 200_000
    runs = json.loads((tmp_path / "curves.json").read_text())["runs"]
    keys = {"dpo/on_on", "dpo/off_off", "dpo_flex β⁻=0.01/on_on", "dpo_sft λ=1/off_off"}
    assert (
        keys | {"dpo/sampled_top", "dpo_sft λ=1/sampled_rarest"} <= set(runs) == set(res["summary"])
    )
    assert len(runs["dpo/on_on"]["chosen"]) == 2 and len(runs["dpo/on_on"]["chosen"][0]) == 4
    assert res["starts"]["dpo/on_on"]["chosen"] == [c[0] for c in runs["dpo/on_on"]["chosen"]]
    text = (tmp_path / "tables.md").read_text()
    assert "Paired comparisons" in text and "sampled-and-labelled" in text
    assert "independent problem instances" in text and "Token sequences" in text
    props = {(t["a"], t["property"]) for t in res["comparisons"]}
    assert ("dpo/off_off", "dispersion") in props and ("dpo_sft λ=1/on_on", "degradation") in props
    assert all(t["p"] <= t["p_holm"] <= 1 for t in res["comparisons"] if t["p"] == t["p"])
    assert len(res["instances"]["changes"]["off_off"]["d_unseen"]) == 2
    # the fixes over the same instances: 2 fixes x 2 data x 3 properties, against DPO's runs
    assert "The fixes over 2 independent problem instances" in text
    fixes = res["instance_fixes"]
    assert len(fixes["changes"]["dpo_sft λ=1/off_off"]["d_unseen"]) == 2
    assert len(fixes["comparisons"]) == 12
    assert {t["b"] for t in fixes["comparisons"]} == {"dpo/on_on", "dpo/off_off"}
    assert len(res["tokens"]["changes"]["on"]["dln_chosen"]) == 2
    # the tables are regenerated from results.json alone
    written = json.loads((tmp_path / "results.json").read_text())
    assert "\n".join(dpo3d_tables.table_sections(written).values()) == text


def test_every_plugin_logs_the_sets_and_gradients():
    for algo in ("dpo", "dpo_flex", "dpo_sft", "ipo", "slic"):
        agent = quadgym.make_algo(algo, "PreferenceToy-v0", seed=0)
        rec = agent.learn(2)[-1]
        assert rec["chosen"] + rec["rejected"] + rec["unseen"] == pytest.approx(1.0)
        assert rec["grad_chosen"] > 0 and rec["grad_rejected"] > 0


def test_env_passes_the_checkers_and_scenarios_use_their_pools():
    gym_check_env(gym.make("PreferenceToy-v0").unwrapped)
    sb3_check_env(gym.make("PreferenceToy-v0"), warn=False)
    env = gym.make("PreferenceToy-v0").unwrapped
    on = env.preference_dataset("on", "off", 16, seed=0)
    ref = env.ref_policy
    assert np.all(ref[on["prompt"], on["y"]] > ref[on["prompt"], on["y2"]])
    sets = env.response_sets(on)
    assert np.all((sets == 1).sum(1) <= 2) and np.all((sets == 2).sum(1) <= 2)


def test_bad_input():
    env = gym.make("PreferenceToy-v0").unwrapped
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        quadgym.make_algo("dpo", "PreferenceToy-v0", beta=0.0)
    with pytest.raises(ValueError, match="beta_minus must be a finite number > 0"):
        quadgym.make_algo("dpo_flex", "PreferenceToy-v0", beta_minus=-0.1)
    empty = {k: np.array([], dtype=np.int64) for k in ("prompt", "y", "y2", "r", "r2")}
    empty["first_preferred"] = np.array([], dtype=bool)
    with pytest.raises(ValueError, match="dataset is empty"):
        quadgym.make_algo("dpo", "PreferenceToy-v0", data=empty)
    with pytest.raises(ValueError, match="response 12 is outside the vocabulary 0..9"):
        env.preference_probability(0, 1, 12)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        env.step(12)
    partial = env.preference_dataset("on", "on", 8, seed=0, prompts=[0, 1])
    with pytest.raises(ValueError, match=r"prompts \[2, 3\] have no preference pairs"):
        quadgym.make_algo("dpo", "PreferenceToy-v0", data=partial)
    with pytest.raises(ValueError, match="chosen must be 'on' or 'off'"):
        env.preference_dataset("maybe", "on")


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): × 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> 0.06
    adjusted = holm([0.01, 0.04, 0.03, float("nan"), 0.005])
    assert adjusted[:3] + adjusted[4:] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[3])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
