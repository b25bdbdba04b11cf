"""HardShift-v0 (HARD, Nix et al. 2023): data, teacher invariance, the env's step, the plugins."""

import functools
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from claims import claim_seeds
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import quadgym
from quadgym.agents.distillation.warp import WarpGenerator
from quadgym.envs.hard.data import make_dataset, make_toy, roll_rows
from quadgym.envs.hard.models import (
    estimate_shift,
    kd_kl,
    shift_interpolate,
    warp_interpolate,
    warp_nearest,
)
from quadgym.stats import holm, paired_test

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2, 3, 4)


def make(**kwargs):
    return gym.make("HardShift-v0", **kwargs).unwrapped


@pytest.mark.parametrize("action_type", ["shift", "continuous", "additive"])
def test_env_passes_the_checkers(action_type):
    gym_check_env(gym.make("HardShift-v0", action_type=action_type, budget=20).unwrapped)
    sb3_check_env(gym.make("HardShift-v0", action_type=action_type, budget=20), warn=False)


# --------------------------------------------------------------------- data


def test_toy_places_each_template_at_its_position():
    data = make_toy(seed=3, noise=0.0)
    assert data.x_train.shape == (512, 32) and data.length == 32
    assert set(np.unique(data.pos_train)) == set(range(8))
    assert set(np.unique(data.pos_eval)) == set(range(32))
    # without noise, rolling a sample back to position 0 gives its class template exactly
    back = roll_rows(data.x_eval, -data.pos_eval)
    assert data.num_classes == 8 and set(np.unique(data.y_train)) == set(range(8))
    for c in range(data.num_classes):
        rows = back[data.y_eval == c]
        np.testing.assert_array_equal(rows, np.broadcast_to(rows[0], rows.shape))
        assert np.all(rows[:, 6:] == 0) and np.sqrt(np.mean(rows[0, :6] ** 2)) == pytest.approx(1)


def test_mnist1d_split_is_by_position():
    data = make_dataset("mnist1d", seed=0)
    assert data.x_train.shape == (4000, 40) and data.x_eval.shape == (1000, 40)
    assert data.num_classes == 10 and data.pos_train.max() < 8
    assert (~data.in_window(data.pos_eval)).mean() > 0.7  # mostly unseen positions
    again = make_dataset("mnist1d", seed=0)
    np.testing.assert_array_equal(data.x_eval, again.x_eval)


def test_mnist1d_generation_leaves_numpys_global_generator_alone():
    state = np.random.get_state()  # noqa: NPY002 - the global generator is what is tested
    make_dataset("mnist1d", seed=1, num_samples=100)
    after = np.random.get_state()  # noqa: NPY002
    assert after[1].tolist() == state[1].tolist() and after[2] == state[2]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset": "cifar"}, "dataset must be one of 'toy', 'mnist1d', got 'cifar'"),
        ({"window": 32}, "window must be in 1..31"),
        ({"action_type": "rotate"}, "action_type must be one of .*, got 'rotate'"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"temperature": float("nan")}, "temperature must be a finite number"),
    ],
)
def test_impossible_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("HardShift-v0", **kwargs)


# ------------------------------------------------------------------ models


@pytest.mark.slow  # ~10 s on mnist1d
@pytest.mark.parametrize("dataset", ["toy", "mnist1d"])
def test_teacher_is_shift_invariant_and_accurate(dataset):
    env = make(dataset=dataset)
    x = torch.as_tensor(env.data.x_eval[:64])
    with torch.no_grad():
        ref = env.teacher(x)
        for s in range(env.data.length):
            rolled = torch.roll(x, shifts=s, dims=1)
            torch.testing.assert_close(env.teacher(rolled), ref, atol=1e-5, rtol=1e-5)
    # measured, seeds 0-4: toy 0.973-1.0; mnist1d 0.984-0.995
    floor = 0.97 if dataset == "toy" else 0.98
    assert env.teacher_accuracy["in_distribution"] >= floor
    assert env.teacher_accuracy["shifted"] >= floor


def test_interpolated_shift_matches_roll_at_integers_and_is_differentiable():
    x = torch.randn(5, 12)
    s = torch.tensor([0.0, 1.0, 5.0, 11.0, 3.0])
    expected = torch.stack([torch.roll(x[i], int(s[i])) for i in range(5)])
    torch.testing.assert_close(shift_interpolate(x, s), expected)
    half = shift_interpolate(x, torch.full((5,), 2.5))
    mid = 0.5 * (torch.roll(x, 2, dims=1) + torch.roll(x, 3, dims=1))
    torch.testing.assert_close(half, mid)
    s = torch.full((5,), 2.3, requires_grad=True)
    shift_interpolate(x, s).pow(2).sum().backward()
    assert torch.all(torch.isfinite(s.grad)) and s.grad.abs().sum() > 0


def test_warp_with_a_constant_field_is_the_shift_and_interpolates_a_field_by_hand():
    x = torch.randn(3, 10)
    shifts = torch.tensor([0.0, 2.5, 9.25])
    field = shifts[:, None].expand(3, 10)
    torch.testing.assert_close(warp_interpolate(x, field), shift_interpolate(x, shifts))
    # out[i] = x(i - d[i]): d = (0, 0.5, -1, 0, ...) reads x[0], halfway x[0]..x[1], x[3], x[3], ...
    row = torch.arange(10.0)[None, :] ** 2
    d = torch.zeros(1, 10)
    d[0, 1], d[0, 2] = 0.5, -1.0
    expected = row.clone()
    expected[0, 1], expected[0, 2] = 0.5 * (0 + 1), 9.0
    torch.testing.assert_close(warp_interpolate(row, d), expected)
    # the wrap: position 0 moved by +0.5 reads halfway between x[9] and x[0]
    d = torch.zeros(1, 10)
    d[0, 0] = 0.5
    assert warp_interpolate(row, d)[0, 0].item() == pytest.approx(0.5 * 81)
    d = torch.full((1, 10), 0.3, requires_grad=True)
    warp_interpolate(row, d).sum().backward()
    assert torch.all(torch.isfinite(d.grad)) and d.grad.abs().sum() > 0


def test_estimate_shift_recovers_every_roll():
    x = np.random.default_rng(0).normal(size=(40, 32))
    shifts = np.arange(40) % 32
    np.testing.assert_array_equal(estimate_shift(x, roll_rows(x, shifts)), shifts)


def test_kd_kl_is_zero_for_equal_logits_and_matches_hand_value():
    t = torch.tensor([[2.0, 0.0]])
    assert kd_kl(t, t, 4.0).item() == pytest.approx(0.0, abs=1e-7)
    p, q = torch.softmax(t / 2, -1), torch.softmax(torch.zeros(1, 2), -1)
    hand = 4 * (p * (p.log() - q.log())).sum()
    assert kd_kl(t, torch.zeros(1, 2), 2.0).item() == pytest.approx(hand.item(), rel=1e-6)


# --------------------------------------------------------------------- env


def student_state(env):
    return {k: v.clone() for k, v in env.student.state_dict().items()}


def test_step_pays_the_disagreement_on_the_augmented_batch_then_updates():
    env = make()
    obs, _ = env.reset(seed=0)
    shifts = np.arange(env.batch_size) % env.data.length
    augmented = torch.as_tensor(roll_rows(obs, shifts))
    with torch.no_grad():
        hand = kd_kl(env.teacher(augmented), env.student(augmented), env.temperature)
    before = student_state(env)
    _, reward, terminated, truncated, info = env.step(shifts)
    assert reward == pytest.approx(hand.mean().item(), rel=1e-5)
    np.testing.assert_allclose(info["kl"], hand.numpy(), rtol=1e-5)
    assert not terminated and not truncated and info["updates"] == 1
    assert any(not torch.equal(before[k], v) for k, v in env.student.state_dict().items())


def test_positions_report_where_the_pattern_moved():
    env = make()
    env.reset(seed=0)
    start = env.batch_positions.copy()
    shifts = np.full(env.batch_size, 30)
    _, _, _, _, info = env.step(shifts)
    np.testing.assert_array_equal(info["positions"], (start + 30) % 32)
    np.testing.assert_array_equal(info["in_window"], (start + 30) % 32 < 8)


def test_episode_is_the_budget_and_ends_with_accuracies():
    env = make(budget=3)
    env.reset(seed=0)
    for i in range(3):
        _, _, _, truncated, info = env.step(np.zeros(env.batch_size, dtype=np.int64))
        assert truncated == (i == 2)
    assert {"acc_in_distribution", "acc_shifted", "acc_all", "teacher"} <= set(info)
    with pytest.raises(RuntimeError, match="budget spent"):
        env.step(np.zeros(env.batch_size, dtype=np.int64))


@pytest.mark.parametrize(
    "action_type, action, message",
    [
        ("shift", np.full(32, 32), "shift 32 is outside the signal: allowed 0 .. 31"),
        ("shift", np.full(32, -1), "shift -1 is outside the signal"),
        ("shift", np.zeros(31, dtype=np.int64), r"shape \(32,\)"),
        ("shift", np.zeros((32, 32), dtype=np.int64), r"shape \(32,\)"),
        ("shift", np.full(32, 1.5), "must be integers"),
        ("continuous", np.full(32, np.nan, dtype=np.float32), "non-finite entry nan"),
        ("continuous", np.full(32, 33.0, dtype=np.float32), r"allowed \[0, 32\]"),
        ("additive", np.full((32, 32), np.inf, dtype=np.float32), "non-finite entry inf"),
        ("additive", np.zeros(32, dtype=np.float32), r"shape \(32, 32\)"),
    ],
)
def test_bad_actions_are_refused_and_leave_the_student_untouched(action_type, action, message):
    env = make(action_type=action_type)
    env.reset(seed=0)
    before, updates = student_state(env), env.updates
    with pytest.raises(ValueError, match=message):
        env.step(action)
    after = env.student.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and env.updates == updates


def test_step_before_reset_is_refused():
    with pytest.raises(RuntimeError, match="reset"):
        make().step(np.zeros(32, dtype=np.int64))


def test_same_seed_same_run_other_seed_other_student():
    def run(seed):
        env = make(budget=50)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        rewards = []
        while True:
            obs, r, _, truncated, info = env.step(rng.integers(32, size=32))
            rewards.append(r)
            if truncated:
                return rewards, info["acc_shifted"]

    assert run(7) == run(7)
    assert run(7)[0] != run(8)[0]


# ----------------------------------------------------------------- plugins


def train(name, seed, **config):
    """A 600-update toy run of plugin ``name`` (seed = task seed): the plugin and its records.
    Cached in the process, so that tests comparing the same runs train each once (read only)."""
    return _train(name, seed, tuple(sorted(config.items())))


@functools.cache
def _train(name, seed, config):
    algo = quadgym.make_algo(
        name, "HardShift-v0", seed=seed, env_kwargs={"task_seed": seed}, **dict(config)
    )
    history = algo.learn(600)
    return algo, history


def second_half_out_of_window(history):
    """Fraction of augmented patterns that start outside the window, over the run's second half."""
    return np.mean([r["out_of_window"] for r in history[len(history) // 2 :]])


# Toy (8 classes, noise 0.3, 600 updates), measured over seeds 0-4 (docs/hard.md): teacher
# in-distribution 0.973-1.0 and shifted 0.979-1.0; kd in-distribution 0.797-0.906, shifted
# 0.132-0.156 (chance 0.125); shifted: kd_noise 0.156-0.210, kd_random_shift 0.495-0.598,
# hard 0.523-0.633, hard_grad 0.411-0.534, hard_warp 0.430-0.562.


@pytest.mark.parametrize("seed", claim_seeds(*SEEDS))
def test_kd_alone_does_not_transfer_the_invariance(seed):
    algo, _ = train("kd", seed)
    assert algo.final["acc_in_distribution"] >= 0.75
    assert algo.final["acc_shifted"] <= 0.20


@pytest.mark.parametrize("name", ["kd_random_shift", "hard", "hard_grad"])
@pytest.mark.parametrize("seed", claim_seeds(*SEEDS))
def test_shift_augmentations_transfer_the_invariance(name, seed):
    algo, history = train(name, seed)
    assert algo.final["acc_shifted"] >= 0.38
    if name == "hard":
        # uniform shifts leave 24/32 = 0.75 of patterns outside the window; the learned
        # policy puts more there (measured 0.942-0.968 over the second half, seeds 0-4)
        assert second_half_out_of_window(history) >= 0.9


@pytest.mark.parametrize("seed", claim_seeds(*SEEDS))
def test_hard_warp_transfers_the_invariance_better_than_kd_and_learns_to_shift(seed):
    """The spatial-transformer augmentor, which the env only sees as additive perturbations,
    moves patterns out of the window (measured 0.906-0.923 of them over the second half,
    uniform shifts 0.75) and lifts shifted accuracy over plain KD by 0.296-0.365 (seeds 0-4)."""
    warp, history = train("hard_warp", seed)
    kd, _ = train("kd", seed)
    assert warp.final["acc_shifted"] >= kd.final["acc_shifted"] + 0.25
    assert second_half_out_of_window(history) >= 0.85


@pytest.mark.paper
def test_hard_warp_beats_kd_on_the_toy_paired_over_five_seeds():
    warp = [train("hard_warp", s)[0].final["acc_shifted"] for s in range(5)]
    kd = [train("kd", s)[0].final["acc_shifted"] for s in range(5)]
    test = paired_test(warp, kd)
    assert test["higher"] == 5 and test["p"] < 0.01 and test["diff_ci"][0] > 0.2


# The MNIST-1D claims (3000 updates a run, ~17 s of CPU each, 50 runs) are tested on their
# committed results, docs/results/hard-mnist1d.json (tests/test_hard_results.py).


def test_kd_noise_helps_little():
    algo, _ = train("kd_noise", 0)
    assert algo.final["acc_shifted"] <= 0.25  # measured 0.156-0.210 over seeds 0-4


def test_hard_grad_gradient_points_uphill():
    """A small step along the augmentor's gradient raises the disagreement (first order)."""
    algo = quadgym.make_algo("hard_grad", "HardShift-v0", seed=0)
    env = algo.task
    obs, _ = env.reset(seed=0)
    x = torch.as_tensor(obs)
    z = torch.randn(len(x), algo.augmentor.noise_dim, generator=torch.Generator().manual_seed(1))

    def kl():
        return env.disagreement(env.augment_tensor(x, algo.augmentor(x, z))).mean()

    assert_a_step_along_the_gradient_raises(kl, list(algo.augmentor.parameters()))


def assert_a_step_along_the_gradient_raises(kl, params):
    """A step of length 1e-3 along the normalised gradient of ``kl()`` raises it."""
    grads = torch.autograd.grad(kl(), params)
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    before = kl().item()
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            p += 1e-3 * g / norm
    assert kl().item() > before


def hard_grad_out_of_window(seed, **config):
    return second_half_out_of_window(train("hard_grad", seed, **config)[1])


# hard_grad against its untrained generator (lr 0: the noise input alone), fraction of
# augmented patterns outside the window over the second half, seeds 0-4: trained 0.774,
# 0.857, 0.743, 0.861, 0.745; untrained 0.60, 0.54, 0.61, 0.66, 0.84. Higher on 4 of 5 seeds.


@pytest.mark.slow  # ~12 s
def test_hard_grad_moves_patterns_out_of_the_window_more_than_its_noise_alone():
    assert hard_grad_out_of_window(0) >= hard_grad_out_of_window(0, lr=0.0) + 0.1  # 0.17


@pytest.mark.paper
def test_hard_grad_out_of_window_over_seeds():
    trained = [hard_grad_out_of_window(s) for s in SEEDS]
    untrained = [hard_grad_out_of_window(s, lr=0.0) for s in SEEDS]
    test = paired_test(trained, untrained)
    assert test["higher"] >= 4 and test["diff"] >= 0.05


def test_plugin_needs_its_action_type():
    with pytest.raises(ValueError, match="action_type='continuous'"):
        quadgym.make_algo("hard_grad", gym.make("HardShift-v0"))


def test_interrupted_and_resumed_run_equals_one_run(tmp_path):
    whole = quadgym.make_algo("hard", "HardShift-v0", seed=0, env_kwargs={"budget": 40})
    whole.learn(40)
    first = quadgym.make_algo("hard", "HardShift-v0", seed=0, env_kwargs={"budget": 40})
    first.learn(25)
    first.save(tmp_path / "ckpt")
    second = quadgym.make_algo("hard", "HardShift-v0", seed=0, env_kwargs={"budget": 40})
    second.load(tmp_path / "ckpt")
    second.learn(15)
    assert second.final == whole.final
    np.testing.assert_array_equal(second.position_counts, whole.position_counts)


# ------------------------------------------------------------ hard_warp


def test_warp_generator_keeps_its_bounds_for_any_raw_output():
    length, modes = 32, 6
    gen = WarpGenerator(length, modes, max_shift=0.25, max_slope=0.5, noise_dim=0, hidden=8)
    raw = 100 * torch.randn(500, 2 + 2 * modes, generator=torch.Generator().manual_seed(0))
    field = gen.field(raw)
    # the modes average to 0 over the circle, so the mean of a field is its constant part
    constant = field.mean(dim=1)
    assert constant.abs().max() <= 0.25 * length + 1e-4
    assert constant.abs().max() >= 0.24 * length  # the bound is reached, not just respected
    slope = torch.diff(field - constant[:, None], dim=1, append=field[:, :1] - constant[:, None])
    assert slope.abs().max() <= 0.5 + 1e-4  # never folds: each step moves less than a sample


def test_hard_warp_hands_the_env_its_warp_as_an_additive_perturbation():
    algo = quadgym.make_algo("hard_warp", "HardShift-v0", seed=0)
    assert algo.task.action_type == "additive"
    obs, _ = algo.env.reset(seed=0)
    field = algo.warp_field(obs)
    expected = warp_interpolate(torch.as_tensor(obs), field).numpy() - obs
    np.testing.assert_allclose(algo.act(obs), expected, atol=1e-6)
    # what it induced is read back by cross-correlation: a pure roll is recovered exactly
    shifts = np.arange(algo.task.batch_size) % 32
    np.testing.assert_array_equal(algo.induced_shifts(obs, roll_rows(obs, shifts) - obs), shifts)


def test_hard_warp_pathwise_gradient_points_uphill():
    algo = quadgym.make_algo("hard_warp", "HardShift-v0", seed=0, estimator="pathwise")
    env, gen = algo.task, algo.generator
    obs, _ = env.reset(seed=0)
    x = torch.as_tensor(obs)
    z = torch.randn(len(x), gen.noise_dim, generator=torch.Generator().manual_seed(1))

    def kl():
        return env.disagreement(warp_interpolate(x, gen.field(gen.raw(x, z)))).mean()

    assert_a_step_along_the_gradient_raises(kl, list(gen.net.parameters()))


def test_hard_warp_score_step_favours_the_draws_the_env_paid_most_for():
    algo = quadgym.make_algo("hard_warp", "HardShift-v0", seed=0)
    obs, _ = algo.env.reset(seed=0)
    action = algo.augment(obs)
    x, z, raw, _ = algo._draw

    def log_prob():
        with torch.no_grad():
            mean, log_std = algo.generator.raw(x, z), algo.generator.log_std
            return (-0.5 * ((raw - mean) / log_std.exp()) ** 2 - log_std).sum(dim=-1)

    before = log_prob()
    kl = np.zeros(algo.task.batch_size)
    kl[0] = 1.0  # the env paid for draw 0 only
    algo.update(obs, action, {"kl": kl})
    change = log_prob() - before
    assert change[0] > 0 and change[0] > change[1:].max()


def test_hard_warp_refuses_a_folding_bound():
    with pytest.raises(ValueError, match="max_slope must be < 1"):
        quadgym.make_algo("hard_warp", "HardShift-v0", max_slope=1.0)


@pytest.mark.parametrize(
    "config",
    [
        {"estimator": "score"},
        {"estimator": "pathwise"},
        {"estimator": "score", "standard": "random_shift", "warp_fraction": 0.5},
        {"estimator": "pathwise", "standard": "random_shift", "warp_fraction": 0.5},
    ],
)
def test_hard_warp_interrupted_and_resumed_run_equals_one_run(tmp_path, config):
    def make():
        return quadgym.make_algo(
            "hard_warp", "HardShift-v0", seed=0, env_kwargs={"budget": 30}, **config
        )

    whole = make()
    whole.learn(30)
    first = make()
    first.learn(17)
    first.save(tmp_path / "ckpt")
    second = make()
    second.load(tmp_path / "ckpt")
    second.learn(13)
    assert second.final == whole.final
    np.testing.assert_array_equal(second.shift_counts, whole.shift_counts)


# ------------------------------------ hard_warp with the standard augmentation


def test_hard_warp_composed_with_random_shifts_warps_the_shifted_signal():
    """compose=True: the generator sees x rolled by a uniform integer s and its field d is
    applied to that: x(i − s − d(i)), which the env receives minus x."""
    algo = quadgym.make_algo(
        "hard_warp", "HardShift-v0", seed=0, standard="random_shift", compose=True
    )
    obs, _ = algo.env.reset(seed=0)
    shifts, warped = algo._standard(obs, deterministic=True)
    assert warped.all() and len(set(shifts.tolist())) > 1  # varied shifts, every signal warped
    rolled = roll_rows(obs, shifts)
    with torch.no_grad():
        gen = algo.generator
        d = gen.field(gen.raw(torch.as_tensor(rolled), torch.zeros(len(obs), gen.noise_dim)))
    expected = warp_interpolate(torch.as_tensor(rolled), d).numpy() - obs
    np.testing.assert_allclose(algo.act(obs), expected, atol=1e-5)
    field = algo.warp_field(obs)  # the whole field: the shift plus the generator's
    torch.testing.assert_close(field, d + torch.as_tensor(shifts, dtype=torch.float32)[:, None])


def test_hard_warp_warp_fraction_leaves_the_other_signals_to_the_standard_shift():
    algo = quadgym.make_algo(
        "hard_warp", "HardShift-v0", seed=0, standard="random_shift", warp_fraction=0.25
    )
    obs, _ = algo.env.reset(seed=0)
    action = algo.augment(obs)
    inputs, _, _, warped = algo._draw
    assert warped.sum() == 8  # 0.25 of the 32 augmented signals
    # without compose the generator warps the clean signals
    np.testing.assert_array_equal(inputs.numpy()[warped], obs[warped])
    shifts = algo.induced_shifts(obs, action)
    # the others are exact rolls: the action is the roll minus the signal, to rounding
    plain = ~warped
    np.testing.assert_allclose(
        action[plain], roll_rows(obs[plain], shifts[plain]) - obs[plain], atol=1e-5
    )
    assert not np.allclose(action[warped], roll_rows(obs[warped], shifts[warped]) - obs[warped])


def test_hard_warp_score_step_ignores_the_signals_it_did_not_warp():
    """The REINFORCE step learns from the warped signals' KL only: what the env paid for
    the standard-only signals does not change it."""

    def step(kl_of_the_others):
        algo = quadgym.make_algo(
            "hard_warp", "HardShift-v0", seed=0, standard="random_shift", warp_fraction=0.5
        )
        obs, _ = algo.env.reset(seed=0)
        action = algo.augment(obs)
        warped = algo._draw[3]
        kl = np.where(warped, np.linspace(0, 1, len(obs)), kl_of_the_others)
        algo.update(obs, action, {"kl": kl})
        return [p.detach().clone() for p in algo.generator.parameters()]

    for a, b in zip(step(0.0), step(100.0), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"warp_fraction": 0.0}, "warp_fraction must be > 0"),
        ({"warp_fraction": 1.5}, "warp_fraction must be <= 1"),
        ({"standard": "flip"}, "standard must be one of 'none', 'random_shift', got 'flip'"),
        ({"standard": "random_shift"}, "would never be applied"),
        ({"compose": True}, "compose=True needs a standard augmentation"),
        ({"sampler": "nearest", "estimator": "pathwise"}, "not differentiable"),
    ],
)
def test_hard_warp_refuses_bad_standard_options(config, message):
    with pytest.raises(ValueError, match=message):
        quadgym.make_algo("hard_warp", "HardShift-v0", **config)


def test_nearest_sampler_reads_the_nearest_sample_and_never_blurs():
    x = torch.arange(10.0)[None, :] ** 2
    torch.testing.assert_close(warp_nearest(x, torch.full((1, 10), 3.0)), torch.roll(x, 3, 1))
    # out[i] = x[round(i - d[i])]: d[1] = 0.4 reads x[1]; d[2] = 0.6 reads x[1]; d[3] = -1.7
    # reads x[5]; d[0] = 0.7 reads x[-1] = x[9] across the wrap
    d = torch.zeros(1, 10)
    d[0, :4] = torch.tensor([0.7, 0.4, 0.6, -1.7])
    expected = x.clone()
    expected[0, :4] = torch.tensor([81.0, 1.0, 1.0, 25.0])
    torch.testing.assert_close(warp_nearest(x, d), expected)


def test_hard_warp_nearest_hands_the_env_the_signals_own_samples():
    algo = quadgym.make_algo("hard_warp", "HardShift-v0", seed=0, sampler="nearest")
    obs, _ = algo.env.reset(seed=0)
    warped = obs + algo.augment(obs)
    assert not np.allclose(warped, obs)
    for row, clean in zip(warped, obs, strict=True):  # every value is one of its own samples
        assert np.abs(row[:, None] - clean[None, :]).min(axis=1).max() < 1e-5


# --------------------------- hard_warp_nearest and hard_warp_mix: the claims

#: the configurations of scripts/reproduce_hard.py
NEAREST = {"sampler": "nearest"}
#: the toy's runs in docs/results/hard-standard.json: method -> field -> per seed 0-9
STANDARD_TOY = json.loads((ROOT / "docs/results/hard-standard.json").read_text())["runs"]["toy"]
MIX = {"sampler": "nearest", "standard": "random_shift", "warp_fraction": 0.25}

# Toy, seeds 0-9 (docs/hard.md), shifted accuracy: kd_random_shift 0.398-0.599; hard_warp
# 0.365-0.577; hard_warp_nearest 0.434-0.635, above hard_warp by 0.055-0.103 on every seed
# and above kd_random_shift on 9 of 10 (+0.031 [0.018, 0.045], p = 0.001).


@pytest.mark.slow  # ~10 s a seed
@pytest.mark.parametrize("seed", claim_seeds(*SEEDS))
def test_reading_the_nearest_sample_lifts_hard_warp_on_the_toy(seed):
    """Linear interpolation at a fractional displacement averages neighbouring samples, a
    blur no evaluation signal has; the nearest sample does not blur, and the same generator
    then transfers more (0.055-0.103 more shifted accuracy, seeds 0-9; patterns outside the
    window over the second half 0.898-0.943)."""
    nearest, history = train("hard_warp", seed, **NEAREST)
    linear, _ = train("hard_warp", seed)
    assert nearest.final["acc_shifted"] >= linear.final["acc_shifted"] + 0.04
    assert second_half_out_of_window(history) >= 0.85


@pytest.mark.paper
def test_hard_warp_nearest_beats_random_shifts_on_the_toy_by_its_training():
    """Seeds 0-9 (docs/hard.md): hard_warp_nearest − kd_random_shift +0.031 [0.018, 0.045],
    p = 0.0006, 9/10; − the same generator untrained (lr 0) +0.037 [0.022, 0.051], p = 0.0003,
    9/10: what beats random shifts is what the generator learned."""
    seeds = range(10)
    # the trained generator and random shifts: the committed runs (train() gives the same
    # numbers: seeds 0 and 3 checked; test_hard_results reruns seed 0), the frozen one here
    nearest = STANDARD_TOY["hard_warp_nearest"]["acc_shifted"]
    shift = STANDARD_TOY["kd_random_shift"]["acc_shifted"]
    frozen = [train("hard_warp", s, **NEAREST, lr=0.0)[0].final["acc_shifted"] for s in seeds]
    tests = [paired_test(nearest, shift), paired_test(nearest, frozen)]
    for test, p in zip(tests, holm([t["p"] for t in tests]), strict=True):
        assert test["higher"] >= 9 and p < 0.01 and test["diff_ci"][0] > 0.01


# ------------------------------------ kd_standard: the strongest standard augmentation


def test_random_shift_with_warps_and_noise_is_the_nearest_warp_of_a_shift_plus_noise():
    """kd_random_shift with ``warp_slope``/``noise_std`` (kd_standard): an additive action
    whose noise-free part reads every signal's own samples, its pattern moved by the
    uniform shift (recovered by cross-correlation), and whose noise has the set size;
    without them it is the plain integer shift."""
    assert quadgym.make_algo("kd_random_shift", "HardShift-v0").task.action_type == "shift"
    warped = quadgym.make_algo("kd_random_shift", "HardShift-v0", seed=0, warp_slope=0.1)
    assert warped.task.action_type == "additive"
    obs, _ = warped.env.reset(seed=0)
    out = obs + warped.act(obs)
    for row, clean in zip(out, obs, strict=True):  # no noise: only the signal's own values
        assert np.abs(row[:, None] - clean[None, :]).min(axis=1).max() < 1e-5
    # a local warp of slope below 0.1 moves no sample by more than a fraction of one from
    # the shift: the shift of best overlap spreads over all positions, like the uniform draw
    assert len(set(estimate_shift(obs, out).tolist())) > 10
    noisy = quadgym.make_algo("kd_random_shift", "HardShift-v0", seed=0, noise_std=0.5)
    base = quadgym.make_algo("kd_random_shift", "HardShift-v0", seed=0, noise_std=1e-9)
    noise = (obs + noisy.act(obs)) - (obs + base.act(obs))  # same draws, only the noise size
    assert abs(noise.std() - 0.5) < 0.05
    np.testing.assert_array_equal(warped.act(obs), warped.act(obs))  # deterministic act


def test_the_random_local_warp_keeps_its_slope_bound():
    from quadgym.envs.hard.models import fourier_modes

    basis, bound = fourier_modes(40, 6, 0.1)
    rng = np.random.default_rng(0)
    amplitudes = rng.choice([-1.0, 1.0], size=(200, 12)) * bound.numpy()  # at the bound
    field = amplitudes @ basis.numpy()
    slope = np.abs(np.diff(field, axis=1, append=field[:, :1]))
    assert slope.max() <= 0.1 + 1e-6


@pytest.mark.parametrize(
    "name", ["kd", "kd_noise", "kd_random_shift", "hard", "hard_grad", "hard_warp"]
)
def test_each_distillation_plugin_logs_exactly_the_columns_it_declares(name):
    """``logged`` is what scripts/tune.py checks a --metric against before Ray starts: it
    must be every key the records carry over an episode (the warp's log_std comes after
    its first update), no more."""
    algo = quadgym.make_algo(name, "HardShift-v0", seed=0, env_kwargs={"budget": 20})
    records = algo.learn(20)
    algo.env.close()
    keys = {k for record in records for k in record} - {"step"}
    assert keys == set(type(algo).logged)
