"""GPT and FTP on ToyCoding-v0: shapes, causality, the FTP loss, generation, learning."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
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
    with pytest.raises(ValueError, match="unknown config"):
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
