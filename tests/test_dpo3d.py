"""DPO's 3D-properties on PreferenceToy-v0: the corollary, the three D's and the fixes.

Thresholds were measured on seeds 0, 1, 2 with the defaults (β = 0.1, lr 1e-3,
batch 64, 300 epochs, a rank-2 response embedding) and hold on each.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import quadgym
from quadgym.agents.contrastive import dpo_loss

SEEDS = [0, 1, 2]
EPOCHS = 300


def run(scenario, seed, algo="dpo", **kw):
    torch.set_num_threads(1)
    chosen, rejected = scenario.split("_")
    agent = quadgym.make_algo(
        algo, "PreferenceToy-v0", chosen=chosen, rejected=rejected, seed=seed, **kw
    )
    hist = agent.learn(EPOCHS)
    return {k: np.array([h[k] for h in hist]) for k in ("chosen", "rejected", "unseen")}


@pytest.fixture(scope="module")
def curves():
    return {(sc, s): run(sc, s) for sc in ("on_on", "off_off") for s in SEEDS}


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


@pytest.mark.parametrize("seed", SEEDS)
def test_drastic_drop_of_rejected_off_policy(curves, seed):
    c = curves[("off_off", seed)]
    collapsed = np.flatnonzero(c["rejected"] < 0.1 * c["rejected"][0])
    assert collapsed.size, "the rejected likelihood never fell tenfold"
    t = collapsed[0]
    assert t <= 100
    assert c["chosen"][t] < 0.35  # the chosen responses have gained little by then


@pytest.mark.parametrize("seed", SEEDS)
def test_degradation_on_policy(curves, seed):
    c = curves[("on_on", seed)]
    peak = c["chosen"].argmax()
    assert 0 < peak < EPOCHS // 4  # an early rise ...
    assert c["chosen"][peak] > c["chosen"][0] + 0.1
    assert c["chosen"][-1] < c["chosen"][peak] - 0.2  # ... then well below the peak


@pytest.mark.parametrize("seed", SEEDS)
def test_dispersion_onto_unseen_off_policy(curves, seed):
    c = curves[("off_off", seed)]
    assert c["unseen"][-1] >= 0.5
    assert c["rejected"][-1] < 1e-3


def test_on_policy_ends_with_higher_chosen_than_off_policy(curves):
    on = np.mean([curves[("on_on", s)]["chosen"][-1] for s in SEEDS])
    off = np.mean([curves[("off_off", s)]["chosen"][-1] for s in SEEDS])
    assert on > off + 0.1


@pytest.mark.slow
def test_lower_beta_minus_raises_final_chosen(curves):
    sweep = [0.05, 0.02, 0.01]
    finals = np.array(
        [
            [curves[("on_on", s)]["chosen"][-1]]
            + [
                run("on_on", s, "dpo_flex", beta_plus=0.1, beta_minus=b)["chosen"][-1]
                for b in sweep
            ]
            for s in SEEDS
        ]
    )
    assert np.all(np.diff(finals.mean(axis=0)) > 0)  # monotone in the mean over seeds
    assert np.all(finals[:, 1:] > finals[:, :1] + 0.1)  # every β⁻ < β⁺ beats DPO on every seed


@pytest.mark.parametrize("seed", SEEDS)
def test_sft_term_keeps_chosen_high(curves, seed):
    c = run("on_on", seed, "dpo_sft", sft_weight=1.0)
    assert c["chosen"][-1] > 0.8
    assert c["chosen"][20:].min() > 0.65
    assert c["chosen"][-1] > curves[("on_on", seed)]["chosen"][-1] + 0.3


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
