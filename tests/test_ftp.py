"""GPT and FTP on ToyCoding-v0: shapes, causality, the FTP loss, generation, learning."""

import json
import math
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from claims import claim_seeds
from scriptload import load_script
from torch.nn import functional as F

import quadgym
from quadgym.agents.sequence.nets import FTP, GPT
from quadgym.envs.coding import EOS, PAD, CodingTask
from quadgym.repro import ftp_jobs as jobs
from quadgym.repro.ftp_analysis import COMPARED, family, loss_matched, success_at_loss
from quadgym.repro.ftp_figures import FIGURES
from quadgym.repro.ftp_tables import tables, timing_table

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = load_script("reproduce_ftp")
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
# The default run's claims (ftp against the regularised GPT, paired over seeds 0-4) are
# tested on its committed results, docs/results/ftp-default.json (tests/test_ftp_results.py).


def trained(name, seed, steps, **config):
    algo = quadgym.make_algo(name, "ToyCoding-v0", seed=seed, **config)
    algo.learn(steps)
    return algo


#: steps at which the floor holds on seeds 0-4: gpt 0.29-0.41 at 600 (0.06-0.27 at 400),
#: ftp 0.34-0.42 at 800 (0.07 and 0.22 on seeds 0 and 4 at 600: it sits at chance longer).
#: On this round's install (torch 2.13): gpt 0.317, 0.307, 0.357 at 600 on seeds 0-2; ftp's
#: seed 0 is still at chance at 800 (0.027; seeds 1-2 0.417, 0.477) and 0.333 at 1200, so
#: ftp's budget here is 1200 steps
LEARN_STEPS = {"gpt": 600, "ftp": 1200}


@pytest.mark.slow  # ~30 s a model and seed
@pytest.mark.parametrize("seed", claim_seeds(0, 1, 2))
@pytest.mark.parametrize(
    # ftp's seeds are all paper tests (1200 steps cost ~60 s of CPU); make test holds
    # GPT's first seed, the paper run FTP's and the paired few-programs claim
    "name",
    ["gpt", pytest.param("ftp", marks=pytest.mark.paper)],
)
def test_both_models_learn_well_above_chance(name, seed):
    assert trained(name, seed, LEARN_STEPS[name]).evaluate(300) >= SUCCESS_FLOOR


#: The default run of scripts/reproduce_ftp.py (the few regime); its claims are tested on
#: its committed results (tests/test_ftp_results.py).
DEFAULT = SCRIPT.Args()


def test_the_default_run_is_the_few_regime_and_full_makes_both():
    """The default run stays under 5 minutes on 2 cores by making the few-programs
    regime only (docs/ftp.md); ``--regimes fresh`` makes the 600-step fresh regime with
    the same runs and prompts, ``--full`` both regimes with 3000 fresh steps, FTP and the
    four baselines, the search for the strongest GPT first in each regime."""
    assert DEFAULT.resolved("regimes") == ("few",)
    assert [j["regime"] for j in jobs.plan_jobs(DEFAULT)] == ["few"] * 10
    fresh = SCRIPT.Args(regimes=("fresh",))
    assert jobs.regime_steps(fresh, "fresh") == 600 and fresh.resolved("eval_prompts") == 200
    full = SCRIPT.Args(full=True)
    assert full.resolved("regimes") == ("few", "fresh") and jobs.regime_steps(full, "fresh") == 3000
    assert jobs.regime_steps(full, "fresh", "gpt_matched_compute") == 3000 * jobs.COMPUTE_RATIO
    planned = jobs.plan_jobs(full)
    search = len(jobs.SEARCH) * len(jobs.SEARCH_SEEDS)
    assert len(planned) == 2 * (search + 4 * 5)  # gpt_tuned's jobs wait for the search
    # regime by regime; in each seed by seed, then the search, on seeds never reported
    assert [j["regime"] for j in planned] == ["few"] * (search + 20) + ["fresh"] * (search + 20)
    for start in (0, search + 20):
        rest = planned[start : start + 20]
        assert [j["seed"] for j in rest] == sorted(j["seed"] for j in rest)
        head = planned[start + 20 : start + 20 + search]
        assert all(j["search"] and j["eval_split"] == "tune" for j in head)
        assert {j["seed"] for j in head} == set(jobs.SEARCH_SEEDS)
        assert all(j["config"]["train_split"] == "fit" for j in head)
        assert set(jobs.SEARCH_SEEDS).isdisjoint(j["seed"] for j in rest)
    # within a seed the longest first: ftp, then the matched GPTs
    assert [j["key"] for j in planned[:4]] == [
        "ftp",
        "gpt_matched_params",
        "gpt_matched_compute",
        "ftp_next",
    ]


def test_the_matched_runs_are_sized_from_ftp():
    """``gpt_matched_params``: the GPT depth closest to FTP's parameter count (4 layers,
    206k against 193k); ``ftp_next``: FTP with N = 1, the same network."""
    nets = jobs.networks(DEFAULT)
    assert nets["gpt_matched_params"] == ("gpt", {"d_model": 64, "layers": 4})
    assert nets["ftp_next"][1] == {**nets["ftp"][1], "n_future": 1}
    assert nets["gpt_matched_compute"] == nets["gpt"]


def test_the_search_chooses_the_best_mean_on_tune_and_the_first_on_a_tie():
    scores = {name: {"success_rate": [0.2, 0.2]} for name in jobs.SEARCH}
    assert jobs.choose(scores) == next(iter(jobs.SEARCH))
    scores["lr 4e-3"] = {"success_rate": [0.1, 0.35]}  # mean 0.225
    assert jobs.choose(scores) == "lr 4e-3"
    reg = jobs.candidate(DEFAULT, "regularised")
    assert reg["dropout"] == 0.1 and reg["early_stop_every"] == 50 and reg["lr"] == 2e-3
    assert jobs.candidate(DEFAULT, "lr 1e-3")["lr"] == 1e-3


def test_timing_adds_up_each_workers_jobs():
    """Two workers (pids 7 and 8) over a pool alive from t = 100 to 200 s: worker 7 ran
    jobs 100-130 and 130-190 (busy 90 s, idle 0 s first and 10 s last), worker 8 one
    job 105-160 (busy 55 s, idle 5 s and 40 s); per run the mean seconds over seeds."""
    run = {
        "train_seconds": [20.0, 50.0],
        "cpu_seconds": [18.0, 40.0],
        "other_seconds": [10.0, 10.0],
        "pid": [7, 7],
        "began": [100.0, 130.0],
        "ended": [130.0, 190.0],
    }
    other = {**run, "pid": [8], "began": [105.0], "ended": [160.0]}
    other.update(train_seconds=[45.0], cpu_seconds=[44.0], other_seconds=[10.0])
    t = jobs.timing({"few": {"ftp": run}, "fresh": {"gpt": other}}, 100.0, 200.0)
    assert t["seconds"] == 100.0
    assert t["jobs"]["few/ftp"] == {"train": 35.0, "other": 10.0, "cpu_train": 29.0}
    assert t["jobs"]["fresh/gpt"] == {"train": 45.0, "other": 10.0, "cpu_train": 44.0}
    assert t["workers"] == [
        {"busy": 90.0, "idle_start": 0.0, "idle_end": 10.0},
        {"busy": 55.0, "idle_start": 5.0, "idle_end": 40.0},
    ]
    # resumed: the jobs were run by an earlier process, from t = 100; this one began at 180
    again = jobs.timing({"few": {"ftp": run}, "fresh": {"gpt": other}}, 180.0, 200.0)
    assert again["seconds"] == 100.0 and again["workers"] == t["workers"]
    text = timing_table(t)
    assert "| few/ftp | 35.0 | 29.0 | 10.0 |" in text
    assert "Worker 1: busy 55 s, idle 5 s before its first job and 40 s after its last." in text


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


class Turning(torch.nn.Module):
    """An encoder whose vector at position t points at angle θ·t² (any length): the cosine
    of neighbours t, t+1 is cos(θ·(2t+1))."""

    theta = 0.05

    def forward(self, tokens):
        angle = self.theta * torch.arange(tokens.shape[1], dtype=torch.float) ** 2
        h = torch.zeros(*tokens.shape, 64)
        h[..., 0], h[..., 1] = torch.cos(angle), torch.sin(angle)
        return h * (1.0 + tokens[..., None])


def test_adjacent_cosine_profile_by_hand():
    algo = quadgym.make_algo("gpt", "ToyCoding-v0", seed=0)
    algo.net.encoder = Turning()
    prompts, _ = TASK.sample(np.random.default_rng(2025), 200, "test")  # EVAL_SEED + 1
    ks = prompts[:, 3] - 4  # K's number token
    expected = [math.cos(Turning.theta * (2 * t + 1)) for t in range(4, 11)]  # from <sep>
    np.testing.assert_allclose(algo.adjacent_cosine_profile(200), expected, rtol=1e-5)
    counts = [np.sum(ks >= i) for i in range(7)]  # pair i is reached when K >= i
    mean = np.dot(counts, expected) / np.sum(counts)
    assert algo.adjacent_cosine(200) == pytest.approx(mean, rel=1e-5)


def test_trained_pair_cosines_leave_out_each_programs_last_pair():
    """``jobs.cosines``: over all pairs it is the plugin's adjacent cosine and profile;
    without each program's pair (last operation, ``<eos>``) pair i is kept only where
    K >= i + 1, so the last position (K = 6's (last operation, ``<eos>``) alone) is NaN
    and the mean weights the same by-hand cosines by those counts."""
    algo = quadgym.make_algo("gpt", "ToyCoding-v0", seed=0)
    algo.net.encoder = Turning()
    prompts, _ = TASK.sample(np.random.default_rng(2025), 200, "test")  # EVAL_SEED + 1
    ks = prompts[:, 3] - 4
    expected = [math.cos(Turning.theta * (2 * t + 1)) for t in range(4, 11)]
    got = jobs.cosines(algo, 200)
    assert got["adjacent_cosine"] == algo.adjacent_cosine(200)
    assert got["cosine_profile"] == algo.adjacent_cosine_profile(200)
    np.testing.assert_allclose(got["cosine_profile_trained"][:6], expected[:6], rtol=1e-5)
    assert math.isnan(got["cosine_profile_trained"][6])
    counts = [np.sum(ks >= i + 1) for i in range(6)]
    mean = np.dot(counts, expected[:6]) / np.sum(counts)
    assert got["adjacent_cosine_trained"] == pytest.approx(mean, rel=1e-5)
    assert got["adjacent_cosine_trained"] != pytest.approx(got["adjacent_cosine"], rel=1e-3)


def test_the_reported_seeds_start_at_first_seed_and_miss_the_search():
    """``--first-seed 5``: every run on seeds 5-9 (fresh for FTP's settings, screened on
    seeds 0-1), the search still on its own seeds; reported seeds that include a search
    seed are refused when ``gpt_tuned`` runs."""
    args = SCRIPT.Args(regimes=("fresh",), runs=("ftp", "gpt_tuned"), first_seed=5)
    planned = jobs.plan_jobs(args)
    assert {j["seed"] for j in planned if not j.get("search")} == {5, 6, 7, 8, 9}
    assert {j["seed"] for j in planned if j.get("search")} == set(jobs.SEARCH_SEEDS)
    assert list(jobs.reported_seeds(DEFAULT)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"reported seeds 97\.\.101 must not include"):
        SCRIPT.Args(runs=("ftp", "gpt_tuned"), first_seed=97)
    assert list(jobs.reported_seeds(SCRIPT.Args(first_seed=97))) == [97, 98, 99, 100, 101]


def test_scores_do_not_depend_on_the_training_mode():
    algo = quadgym.make_algo("gpt", "ToyCoding-v0", seed=0, dropout=0.5)
    algo.net.train()
    scores = [algo.evaluate(50), algo.adjacent_cosine(50), algo.validation_loss()]
    assert algo.net.training  # restored
    algo.net.eval()
    assert [algo.evaluate(50), algo.adjacent_cosine(50), algo.validation_loss()] == scores


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


@pytest.mark.paper  # ~50 s of wall clock and two spawned workers: out of the five-minute suite
def test_reproduce_script_writes_every_key(tmp_path):
    """A tiny --full run of every run in two spawned workers: every regime, run and key,
    the search, the summary with Holm-adjusted p-values, the figures; and a job rerun in
    this process gives the worker's numbers exactly."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "reproduce_ftp.py"),
            "--out",
            str(tmp_path),
            "--full",
            "--runs",
            ",".join(jobs.RUNS),
            "--seeds",
            "2",
            "--few-steps",
            "10",
            "--fresh-steps",
            "10",
            "--corpus-size",
            "30",
            "--eval-every",
            "5",
            "--eval-prompts",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["few"]) == list(results["fresh"]) == list(jobs.RUNS)
    for regime in ("few", "fresh"):
        search = results["search"][regime]
        assert search["chosen"] in jobs.SEARCH and search["seeds"] == list(jobs.SEARCH_SEEDS)
        assert all(len(c["success_rate"]) == 2 for c in search["candidates"].values())
        tests = family(results["summary"][regime])
        assert len(tests) == len(COMPARED) * (len(jobs.RUNS) - 1) + len(jobs.RUNS)
        assert all(t["p_holm"] >= t["p"] for t in tests if t["p"] == t["p"])
    for regime in ("few", "fresh"):
        for run in results[regime].values():
            assert len(run["success_rate"]) == 2 and 0 <= run["success_rate"][0] <= 1
            assert [c[0] for c in run["curve"][0]][:3] == [0, 5, 10]
            assert run["params"] > 0 and len(run["cpu_seconds"]) == 2
            assert -1 <= run["adjacent_cosine"][0] <= 1 and len(run["cosine_profile"][0]) == 7
            assert -1 <= run["adjacent_cosine_trained"][0] <= 1
            assert len(run["init_cosine_profile_trained"][0]) == 7
        summ = results["summary"][regime]
        mean, low, high = summ["ftp"]["success_rate"]
        assert low <= mean <= high
        assert summ["ftp_vs_gpt"]["loss_matched"]["test"]["n"] == 2
    fresh = results["fresh"]
    assert abs(fresh["gpt_matched_params"]["params"] / fresh["ftp"]["params"] - 1) < 0.15
    assert fresh["gpt_matched_compute"]["steps"] == 10 * jobs.COMPUTE_RATIO
    for name in ("ftp_success", "ftp_loss_matched", "ftp_cosine"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    assert (tmp_path / "tables.md").read_text() == tables(results) + "\n"
    assert "success at equal loss" in tables(results)
    timing = results["timing"]
    assert set(timing["jobs"]) == {f"few/{k}" for k in results["few"]} | {
        f"fresh/{k}" for k in results["fresh"]
    }
    assert len(timing["workers"]) == 2  # both spawned workers ran jobs
    busy = sum(w["busy"] for w in timing["workers"])
    assert 0 < busy <= 2 * timing["seconds"] and "Worker 1: busy" in proc.stdout
    # the same job in this process: spawned workers share no state that changes results
    args = SCRIPT.Args(full=True, few_steps=10, corpus_size=30, eval_every=5, eval_prompts=10)
    plugin, config = jobs.networks(args)["ftp"]
    again = jobs.run_job(jobs.job_spec(args, "few", "ftp", 1, 10, plugin, config))
    assert [list(c) for c in again["curve"]] == results["few"]["ftp"]["curve"][1]
    assert again["adjacent_cosine"] == results["few"]["ftp"]["adjacent_cosine"][1]


def test_a_reproduction_that_dies_leaves_no_earlier_run_beside_it(tmp_path, monkeypatch):
    """jobs.jsonl, results.json, tables.md and the figures of an earlier run are removed
    before the jobs start: a run killed midway leaves none of them to be read as its own
    (results.json is written last, through a rename)."""
    stale = ["jobs.jsonl", "results.json", "tables.md", *FIGURES]
    for name in stale:
        (tmp_path / name).write_text("an earlier run")

    def dies(args, log):
        assert not any((tmp_path / name).exists() for name in stale)
        raise KeyboardInterrupt

    monkeypatch.setattr(SCRIPT, "run_all", dies)
    with pytest.raises(KeyboardInterrupt):
        SCRIPT.main(["--out", str(tmp_path), "--workers", "1"])
    assert not any((tmp_path / name).exists() for name in stale)


def test_success_at_equal_loss_interpolates_the_first_crossing():
    curve = [(0, 0.0, 3.0), (100, 0.2, 1.0), (200, 0.6, 0.8), (300, 0.1, 1.2), (400, 0.9, 0.7)]
    assert success_at_loss(curve, 0.9) == pytest.approx(0.4)  # halfway 1.0 -> 0.8
    assert success_at_loss(curve, 1.0) == pytest.approx(0.2)
    assert success_at_loss(curve, 2.0) == pytest.approx(0.1)  # 3.0 -> 1.0: a half
    assert success_at_loss(curve, 5.0) == 0.0
    assert success_at_loss(curve, 0.75) == pytest.approx(0.1 + 0.9 * 0.8)  # 1.2 -> 0.7
    assert np.isnan(success_at_loss(curve, 0.6))
    a = {"curve": [curve, [(0, 0.0, 3.0), (100, 0.5, 0.9)]]}
    b = {"curve": [[(0, 0.0, 3.0), (100, 0.3, 0.85)], [(0, 0.0, 3.0), (100, 0.2, 1.0)]]}
    m = loss_matched(a, b)
    # seed 0: both reach 0.85 (b's lowest); a first at 1.0 -> 0.8, a quarter of the way
    # seed 1: both reach 1.0 (b's lowest); a from 3.0 -> 0.9, 2/2.1 of the way
    assert m["level"] == pytest.approx([0.85, 1.0])
    assert m["a"] == pytest.approx([0.2 + 0.75 * 0.4, 0.5 * 2.0 / 2.1])
    assert m["b"] == pytest.approx([0.3, 0.2])
    assert m["test"]["n"] == 2 and m["test"]["higher"] == 2


def test_script_refuses_a_regime_or_run_twice():
    with pytest.raises(ValueError, match="regimes must name each once"):
        SCRIPT.Args(regimes=("few", "few"))
    with pytest.raises(ValueError, match="runs must name each once"):
        SCRIPT.Args(runs=("ftp", "ftp"))


@pytest.mark.slow  # ~9 s
def test_resume_takes_the_logged_jobs_and_runs_the_rest(tmp_path, monkeypatch):
    """--resume: the jobs jobs.jsonl holds are read back, not run (a job cut short by a
    kill, its line missing, runs again), and the results equal an uninterrupted run's."""
    argv = ["--out", str(tmp_path), "--runs", "ftp,gpt_tuned", "--seeds", "2"]
    argv += ["--few-steps", "4", "--corpus-size", "20", "--eval-every", "2"]
    argv += ["--eval-prompts", "4", "--workers", "1"]
    SCRIPT.main(argv)
    whole = json.loads((tmp_path / "results.json").read_text())
    log = tmp_path / "jobs.jsonl"
    lines = log.read_text().splitlines()
    assert len(lines) == len(jobs.SEARCH) * len(jobs.SEARCH_SEEDS) + 2 * 2
    log.write_text("\n".join(lines[:-1]) + "\n")  # the last job was killed
    ran = []
    real = jobs.run_job

    def counted(job):
        ran.append((job["key"], job["seed"]))
        return real(job)

    monkeypatch.setattr(jobs, "run_job", counted)
    SCRIPT.main([*argv, "--resume"])
    again = json.loads((tmp_path / "results.json").read_text())
    assert ran == [tuple(json.loads(lines[-1])["job"][k] for k in ("key", "seed"))]
    assert again["search"] == whole["search"] and again["summary"] == whole["summary"]
    assert again["few"]["ftp"]["curve"] == whole["few"]["ftp"]["curve"]


@pytest.mark.parametrize("name", ["gpt", "ftp"])
def test_no_loss_reaches_the_vector_at_eos(name):
    """Why the cosine profile falls to about 0 at its last position (docs/ftp.md): that
    pair is (last operation, ``<eos>``) on the longest programs only, and the top-layer
    vector at ``<eos>`` is never trained (nothing after ``<eos>`` is a target), so it is
    free to point anywhere; the vector at the last operation, which predicts ``<eos>``, is."""
    net = nets()[name]
    tokens = torch.as_tensor(TASK.corpus(np.random.default_rng(3), 32))
    mask = masked(tokens)
    kept = {}

    def keep(module, inputs, output):
        output.retain_grad()
        kept["h"] = output

    handle = net.encoder.register_forward_hook(keep)
    net.loss(tokens, mask).backward()
    handle.remove()
    grad = kept["h"].grad.abs().sum(-1)  # (B, T-1): the encoder sees tokens[:, :-1]
    eos = (tokens == EOS).int().argmax(1)
    rows = torch.arange(len(tokens))
    inside = eos < tokens.shape[1] - 1
    assert torch.all(grad[rows[inside], eos[inside]] == 0)
    assert torch.all(grad[rows, eos - 1] > 0)


def test_training_on_fit_never_sees_a_tune_prompt():
    """``train_split="fit"``: the fixed corpus, the fresh batches and the early-stopping
    programs all come from the training split without its ``tune`` part, which the
    search for the strongest GPT scores on."""
    algo = quadgym.make_algo(
        "gpt", "ToyCoding-v0", seed=0, corpus_size=300, train_split="fit", early_stop_every=5
    )
    fresh = quadgym.make_algo("gpt", "ToyCoding-v0", seed=0, train_split="fit")
    for tokens in (algo.fixed_corpus, algo.val_tokens.numpy(), fresh.batch(300)[0].numpy()):
        x, t, k = (tokens[:, i] - 4 for i in (1, 2, 3))  # number tokens follow 4 specials
        assert not TASK.is_holdout(x, t, k).any() and not TASK.is_tune(x, t, k).any()
