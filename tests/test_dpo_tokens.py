"""The token-sequence DPO toy (PreferenceTokens-v0, quadgym/repro/dpo_tokens.py): the env's
exact quantities, its pairs, the policy starting at π_ref, and the off-policy claim.

What happens (docs/dpo3d.md): with chosen and rejected responses sharing a prefix and the
vocabulary, DPO lowers the chosen log-likelihood (less than the rejected one) on both
sources; off-policy data does not make any of the three properties stronger.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from claims import paired_claims
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import quadgym
from quadgym.envs.preference_tokens import PreferenceTokensEnv
from quadgym.repro import dpo_tokens

_RUNS: dict = {}


def run(source: str, seed: int) -> dict:
    """One token-toy run at the write-up's settings (cached for the module)."""
    if (source, seed) not in _RUNS:
        torch.set_num_threads(1)
        _RUNS[source, seed] = dpo_tokens.token_run(source, seed, epochs=100)
    return _RUNS[source, seed]


def test_env_passes_the_checkers():
    gym_check_env(gym.make("PreferenceTokens-v0").unwrapped)
    sb3_check_env(gym.make("PreferenceTokens-v0"), warn=False)


def test_reference_is_the_markov_chain_by_hand():
    env = PreferenceTokensEnv(vocab=3, length=3, task_seed=1)
    first, trans = env.chains["on"]

    def p(z):
        return np.exp(z) / np.exp(z).sum()

    seq = [2, 0, 1]
    by_hand = p(first)[2] * p(trans[2])[0] * p(trans[0])[1]
    assert env.ref_policy[env.outcome_index(seq)] == pytest.approx(by_hand, rel=1e-12)
    assert env.ref_policy.sum() == pytest.approx(1.0)
    assert np.exp(env.log_probs("off")).sum() == pytest.approx(1.0)
    # the score: w[t, y_t] summed plus u[y_{t-1}, y_t] summed, checked against a rollout
    env.reset(seed=0)
    for t in seq:
        _, reward, done, _, _ = env.step(t)
    assert done and reward == env.rewards[env.outcome_index(seq)]


def test_pairs_share_a_prefix_and_follow_their_source():
    env = PreferenceTokensEnv(vocab=5, length=4, task_seed=0)
    on, off = (env.preference_pairs(s, 400, seed=0) for s in ("on", "off"))
    for d in (on, off):
        y, y2 = env.outcomes[d["y"]], env.outcomes[d["y2"]]
        assert np.all(d["y"] != d["y2"])
        assert all(np.array_equal(a[:k], b[:k]) for a, b, k in zip(y, y2, d["shared"], strict=True))
        assert set(d["shared"]) == {0, 1, 2, 3}
    # off-policy responses are rare under π_ref: their mean ln π_ref is far below
    lp = np.log(env.ref_policy)
    assert lp[off["y"]].mean() < lp[on["y"]].mean() - 5
    with pytest.raises(ValueError, match="source must be one of"):
        env.preference_pairs("sideways", 4)
    with pytest.raises(ValueError, match="n must be a positive number of pairs"):
        env.preference_pairs("on", 0)


def test_the_policy_starts_at_pi_ref_and_acts_by_it():
    env = gym.make("PreferenceTokens-v0", vocab=4, length=3)
    data = env.unwrapped.preference_pairs("on", 16, seed=0)
    agent = quadgym.make_algo("dpo", env, seed=0, data=data, hidden=8)
    np.testing.assert_allclose(agent.distribution(), env.unwrapped.ref_policy, rtol=1e-10)
    first, trans = env.unwrapped.chains["on"]
    prefix = np.array([2, 4, 4])  # token 2, then padding: the next token follows trans[2]
    probs = agent.problem.action_probs(agent.policy, prefix)
    np.testing.assert_allclose(probs, np.exp(trans[2]) / np.exp(trans[2]).sum(), rtol=1e-10)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"vocab\*\*length must be <= 65536"):
        PreferenceTokensEnv(vocab=20, length=4)
    with pytest.raises(ValueError, match="ref_scale must be"):
        PreferenceTokensEnv(ref_scale=0)
    with pytest.raises(ValueError, match="length must be >= 2"):
        PreferenceTokensEnv(length=1)


def test_token_toy_instance_0_degrades_the_chosen_likelihood():
    """Instance 0 (in the write-up: on-policy −8.2 and −15 nats, off-policy −7.6 and −18):
    DPO lowers the chosen responses' mean log-likelihood on both sources, and the
    rejected ones' more."""
    for source in ("on", "off"):
        c = run(source, 0)["changes"]
        assert c["dln_chosen"] < -2, (source, c)
        assert c["dln_rejected"] < c["dln_chosen"] - 2, (source, c)


@pytest.mark.paper
def test_token_toy_off_policy_is_not_worse_over_instances():
    """Over the confirmation instances 3-9 (the settings were chosen after a look at 0-2),
    paired by instance (Holm over the three properties): no property is significantly
    stronger off-policy, the paper's direction; and the chosen log-likelihood falls (each
    source against no change, Holm over the two)."""
    seeds = range(3, 10)
    per = {
        s: {k: [run(s, i)["changes"][k] for i in seeds] for k in dpo_tokens.CHANGES}
        for s in ("on", "off")
    }
    tests = paired_claims(
        {k: (per["off"][k], per["on"][k]) for k, _ in dpo_tokens.PROPERTIES.values()}
    )
    for change, sign in dpo_tokens.PROPERTIES.values():
        t = tests[change]
        assert not (sign * t["diff"] > 0 and t["p_holm"] < 0.05), (change, t)
    zero = [0.0] * len(seeds)
    falls = paired_claims({s: (per[s]["dln_chosen"], zero) for s in ("on", "off")})
    # on-policy significantly (p (Holm) 0.005 on instances 3-9); off-policy on average
    # (p (Holm) 0.047 there: borderline, so only its sign is asserted)
    assert falls["on"]["diff"] < 0 and falls["on"]["p_holm"] < 0.05, falls
    assert falls["off"]["diff"] < 0, falls
    assert not math.isnan(tests["dln_chosen"]["p"])
