"""GPT and FTP on ToyCoding-v0: shapes, causality, the FTP loss, generation, learning."""

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from claims import claim_seeds
from torch.nn import functional as F

import quadgym
from quadgym.agents.seqnets import FTP, GPT
from quadgym.envs.coding import EOS, PAD, CodingTask

ROOT = Path(__file__).resolve().parents[1]
TASK = CodingTask()
V, T = TASK.vocab_size, TASK.max_length


def nets():
    torch.manual_seed(0)
    return {"gpt": GPT(V, T), "ftp": FTP(V, T, n_future=3, pseudo_len=4)}


@pytest.mark.parametrize("name", ["gpt", "ftp"])
def test_shapes(name):
    net = nets()[name]
    tokens = torch.randint(V, (5, T))
    assert net.next_logits(tokens).shape == (5, T, V)
    assert net.encoder(tokens).shape == (5, T, 64)
    with pytest.raises(ValueError, match="exceeds the model's 12"):
        net.encoder(torch.zeros(1, T + 1, dtype=torch.long))


@pytest.mark.parametrize("name", ["gpt", "ftp"])
@pytest.mark.parametrize("changed", [1, 5, 8, T - 1])
def test_no_position_depends_on_later_tokens(name, changed):
    net = nets()[name].eval()
    tokens = torch.randint(V, (4, T))
    other = tokens.clone()
    other[:, changed] = (other[:, changed] + 7) % V
    with torch.no_grad():
        h, h2 = net.encoder(tokens), net.encoder(other)
        out, out2 = net.next_logits(tokens), net.next_logits(other)
    torch.testing.assert_close(h[:, :changed], h2[:, :changed], rtol=0, atol=1e-6)
    torch.testing.assert_close(out[:, :changed], out2[:, :changed], rtol=0, atol=1e-6)
    assert not torch.allclose(out[:, changed], out2[:, changed])  # and it does see its own


def masked(tokens):
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 5:] = tokens[:, 5:] != PAD
    return mask


def test_ftp_with_horizon_one_is_next_token_cross_entropy():
    torch.manual_seed(0)
    net = FTP(V, T, n_future=1)
    tokens = torch.as_tensor(TASK.corpus(np.random.default_rng(0), 16))
    mask = masked(tokens)
    logits = net.next_logits(tokens[:, :-1])
    ce = F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")
    expected = ce[mask[:, 1:]].mean()
    torch.testing.assert_close(net.loss(tokens, mask), expected)


def test_ftp_loss_weights_future_tokens_geometrically():
    """With every decoder output forced to the same logits, the loss is the γ-weighted
    mean of per-offset cross-entropies; check against a hand computation."""
    torch.manual_seed(0)
    net = FTP(V, T, n_future=2, gamma=0.25)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.arange(V, dtype=torch.float) / V)
    tokens = torch.as_tensor(TASK.corpus(np.random.default_rng(1), 4))
    mask = masked(tokens)
    logp = torch.log_softmax(net.head.bias, -1)
    per_pos = []
    for b in range(4):
        for t in range(T - 1):
            if not mask[b, t + 1]:
                continue
            ce = [-logp[tokens[b, t + 1]]]
            w = [1.0]
            if t + 2 < T and mask[b, t + 2]:
                ce.append(-logp[tokens[b, t + 2]])
                w.append(0.25)
            per_pos.append(sum(c * x for c, x in zip(ce, w, strict=True)) / sum(w))
    torch.testing.assert_close(net.loss(tokens, mask), torch.stack(per_pos).mean())


def test_bad_ftp_config_is_refused():
    with pytest.raises(ValueError, match="n_future >= 1"):
        FTP(V, T, n_future=0)


# ---------------------------------------------------------------- plugins


@pytest.mark.parametrize("name", ["gpt", "ftp"])
def test_act_in_the_env_writes_what_generate_writes(name):
    algo = quadgym.make_algo(name, "ToyCoding-v0", seed=0)
    algo.learn(30)
    env = gym.make("ToyCoding-v0")
    obs, _ = env.reset(seed=5)
    prompt = obs[:5].copy()
    written, terminated = [], False
    while not terminated:
        token = algo.act(obs)
        written.append(token)
        obs, reward, terminated, _, info = env.step(token)
    expected = algo.generate(prompt[None])[0]
    np.testing.assert_array_equal(written, expected[: len(written)])
    assert np.all(expected[len(written) :] == PAD)
    assert reward == float(TASK.execute(prompt, expected)[0])


def test_generate_refuses_empty_or_bad_prompts():
    algo = quadgym.make_algo("gpt", "ToyCoding-v0")
    with pytest.raises(ValueError, match=r"prompts must be \(B, 5\)"):
        algo.generate(np.zeros((1, 0), dtype=np.int64))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        algo.generate(np.array([[1, 4, 5, 99, 2]]))
    with pytest.raises(ValueError, match="unknown key 'n_future'"):
        quadgym.make_algo("gpt", "ToyCoding-v0", n_future=3)


def test_sampled_generation_is_seeded_and_differs_from_greedy():
    algo = quadgym.make_algo("ftp", "ToyCoding-v0", seed=0)
    algo.learn(30)
    prompts, _ = TASK.sample(np.random.default_rng(0), 64, "test")
    a = algo.generate(prompts, greedy=False, generator=torch.Generator().manual_seed(1))
    b = algo.generate(prompts, greedy=False, generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, algo.generate(prompts, greedy=True))
    assert np.all((a == EOS).sum(axis=1) <= 1)


# --------------------------------------------------------------- learning
# Thresholds from runs of seeds 0-4 (docs/ftp.md); chance, writing K uniformly
# random operations, is 0.037. Each test trains its own models so that
# pytest-xdist can spread them over the cores.
SUCCESS_FLOOR = 0.25
# 1000 programs, 800 steps, 300 prompts, seeds 0-4 (docs/ftp.md): ftp 0.247-0.330, gpt
# 0.087-0.247, ftp − gpt +0.057 to +0.190
FEW_PROGRAMS_MARGIN = 0.04
FTP_FEW_FLOOR = 0.24
# the same runs: gpt_regularised (dropout 0.1, weight decay 0.1, early stopping) 0.090-0.217
GPT_REGULARISED_CEILING = 0.23
# adjacent cosine at 800 steps on 1000 programs: gpt 0.508-0.556, ftp 0.380-0.514 (gpt − ftp
# +0.022 to +0.164); at initialisation both 0.082-0.172 (the same encoder draws)
COSINE_ABOVE_INIT = 0.15
# measured at 3000 steps: +0.03 on seed 1 (docs/ftp.md), +0.034 on seed 0 on this project's
# machine (+0.08 on the one docs/ftp.md was written on: the margin depends on rounding)
COSINE_MARGIN = 0.02


def trained(name, seed, steps, **config):
    algo = quadgym.make_algo(name, "ToyCoding-v0", seed=seed, **config)
    algo.learn(steps)
    return algo


#: steps at which the floor holds on seeds 0-4: gpt 0.29-0.41 at 600 (0.06-0.27 at 400),
#: ftp 0.34-0.42 at 800 (0.07 and 0.22 on seeds 0 and 4 at 600: it sits at chance longer)
LEARN_STEPS = {"gpt": 600, "ftp": 800}


@pytest.mark.parametrize("seed", claim_seeds(0, 1, 2))
@pytest.mark.parametrize(
    # ftp's first seed joins the paper tests: make test already holds FTP far above
    # chance (0.037) in the few-programs test (FTP_FEW_FLOOR, from fewer programs), and
    # this run costs ~35 s of the suite
    "name",
    ["gpt", pytest.param("ftp", marks=pytest.mark.paper)],
)
def test_both_models_learn_well_above_chance(name, seed):
    assert trained(name, seed, LEARN_STEPS[name]).evaluate(300) >= SUCCESS_FLOOR


@pytest.mark.parametrize("seed", claim_seeds(0, 1, 2, 3, 4))
def test_ftp_beats_gpt_when_programs_are_few(seed):
    """The gap: from one fixed set of 1000 programs, FTP generalises to held-out
    prompts better than GPT; but GPT's neighbouring vectors are the more similar
    (the paper's smoothness does not appear here), both far above initialisation."""
    init = quadgym.make_algo("gpt", "ToyCoding-v0", seed=seed).adjacent_cosine(300)
    assert quadgym.make_algo("ftp", "ToyCoding-v0", seed=seed).adjacent_cosine(300) == init
    gpt = trained("gpt", seed, 800, corpus_size=1000)
    ftp = trained("ftp", seed, 800, corpus_size=1000)
    gpt_success, ftp_success = gpt.evaluate(300), ftp.evaluate(300)
    assert ftp_success >= gpt_success + FEW_PROGRAMS_MARGIN, (ftp_success, gpt_success)
    assert ftp_success >= FTP_FEW_FLOOR
    gpt_cos, ftp_cos = gpt.adjacent_cosine(300), ftp.adjacent_cosine(300)
    assert gpt_cos > ftp_cos >= init + COSINE_ABOVE_INIT, (gpt_cos, ftp_cos, init)


@pytest.mark.parametrize("seed", claim_seeds(0, 1, 2, 3, 4))
def test_regularised_gpt_stays_below_ftp_when_programs_are_few(seed):
    """The fair baseline (dropout, weight decay, early stopping on held-out programs)
    stays below the floor FTP clears in the test above, on every seed."""
    gpt = trained(
        "gpt",
        seed,
        800,
        corpus_size=1000,
        horizon=800,
        dropout=0.1,
        weight_decay=0.1,
        early_stop_every=50,
        patience=4,
    )
    assert gpt.evaluate(300) <= GPT_REGULARISED_CEILING


def test_early_stopping_keeps_the_best_weights():
    algo = quadgym.make_algo(
        "gpt",
        "ToyCoding-v0",
        seed=0,
        corpus_size=20,
        lr=1e-2,
        schedule="constant",
        early_stop_every=5,
        patience=2,
        val_programs=200,
        dropout=0.2,
    )
    assert algo.net.encoder.blocks.layers[0].dropout1.p == 0.2
    history = algo.learn(300)
    assert algo.stopped and len(history) == 300 and history[-1]["stopped"] == 1.0
    best = min(loss for _, loss in algo.val_history)
    assert algo.validation_loss() == pytest.approx(best, abs=1e-6)
    with pytest.raises(ValueError, match="dropout must be < 1"):
        quadgym.make_algo("gpt", "ToyCoding-v0", dropout=1.0)


@pytest.mark.paper
def test_ftp_neighbouring_vectors_are_more_similar_than_gpts():
    # only trained models show it: at 800-1500 steps GPT's neighbours are the
    # more similar; at 3000 FTP's are, on every seed measured
    gpt = trained("gpt", 0, 3000).adjacent_cosine(300)
    ftp = trained("ftp", 0, 3000).adjacent_cosine(300)
    assert ftp >= gpt + COSINE_MARGIN, (ftp, gpt)


def test_fixed_corpus_draws_only_its_own_programs():
    algo = quadgym.make_algo("gpt", "ToyCoding-v0", seed=4, corpus_size=50, batch_size=64)
    again = quadgym.make_algo("gpt", "ToyCoding-v0", seed=4, corpus_size=50)
    np.testing.assert_array_equal(algo.fixed_corpus, again.fixed_corpus)
    assert algo.fixed_corpus.shape == (50, T)
    known = {tuple(row) for row in algo.fixed_corpus}
    tokens, mask = algo.batch(64)
    assert {tuple(row) for row in tokens.numpy()} <= known
    assert len({tuple(row) for row in tokens.numpy()}) > 1
    assert not mask[:, : TASK.prompt_length].any()
    with pytest.raises(ValueError, match="corpus_size must be >= 1"):
        quadgym.make_algo("gpt", "ToyCoding-v0", corpus_size=0)


def test_resumed_training_equals_uninterrupted(tmp_path):
    whole = quadgym.make_algo("ftp", "ToyCoding-v0", seed=3, horizon=20)
    whole.learn(20)
    first = quadgym.make_algo("ftp", "ToyCoding-v0", seed=3, horizon=20)
    first.learn(12)
    first.save(tmp_path / "ckpt")
    second = quadgym.make_algo("ftp", "ToyCoding-v0", seed=3, horizon=20)
    second.load(tmp_path / "ckpt")
    second.learn(8)
    for a, b in zip(whole.net.state_dict().values(), second.net.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="checkpoint of 'ftp'"):
        quadgym.make_algo("gpt", "ToyCoding-v0").load(tmp_path / "ckpt")


def test_reproduce_script_writes_every_key(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "reproduce_ftp.py"),
            "--out",
            str(tmp_path),
            "--full",
            "--seeds",
            "2",
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--eval-prompts",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    for key in ("gpt", "ftp", "gpt_regularised", "gpt_matched_params", "gpt_matched_compute"):
        run = results[key]
        assert len(run["success_rate"]) == 2 and 0 <= run["success_rate"][0] <= 1
        assert run["params"] > 0 and len(run["train_seconds"]) == 2
        assert -1 <= run["adjacent_cosine"][0] <= 1
    assert abs(results["gpt_matched_params"]["params"] / results["ftp"]["params"] - 1) < 0.15
    assert results["setup"]["matched_compute_steps"] >= 20
    assert results["setup"]["corpus_size"] is None and results["setup"]["steps"] == 20
    mean, low, high = results["summary"]["ftp"]["success_rate"]
    assert low <= mean <= high
    assert results["summary"]["ftp_vs_gpt"]["success_rate"]["n"] == 2
    assert (tmp_path / "success.png").stat().st_size > 0
