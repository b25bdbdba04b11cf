"""Training recipes of the SB3 plugins: each does what its option says."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecEnv

import quadgym
from quadgym.agents.sb3.algorithms import BatchedVecEnv
from quadgym.agents.sb3.recipes import PrecisionBonus, SmoothnessPenalty
from quadgym.agents.sb3.shared import SwarmVecEnv
from quadgym.registry import make_parallel_env


def lanes(seed: int = 0, env_id: str = "QuadHover-v0") -> BatchedVecEnv:
    envs = gym.make_vec(
        env_id,
        num_envs=3,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
        **({"start_height": 1.0} if env_id == "QuadHover-v0" else {}),
    )
    venv = BatchedVecEnv(envs)
    venv.seed(seed)
    return venv


def test_the_smoothness_penalty_takes_the_mean_squared_action_change_from_the_reward():
    """Same lanes, same actions: the wrapped reward is the plain one minus
    λ·mean((a_t − a_{t−1})²), a_{−1} = 0; a constant action pays only at its first step."""
    plain, smooth = lanes(), SmoothnessPenalty(lanes(), weight=0.5)
    plain.reset(), smooth.reset()
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-0.2, 0.2, (3, 4)) for _ in range(4)] + [np.full((3, 4), 0.1)] * 2
    before = np.zeros((3, 4))
    for a in actions:
        _, r0, *_ = plain.step(a)
        _, r1, *_ = smooth.step(a)
        want = 0.5 * np.mean((a - before) ** 2, axis=1)
        np.testing.assert_allclose(r0 - r1, want, rtol=1e-5, atol=1e-7)
        before = a
    assert np.all(want == 0) and smooth.previous.shape == (3, 4)


def test_ppo_takes_the_smoothness_option_typed_and_wraps_its_training_envs():
    algo = quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, action_smoothness=0.1)
    try:
        assert isinstance(algo.venv.venv, SmoothnessPenalty) and algo.venv.venv.weight == 0.1
    finally:
        algo.close()
    with pytest.raises(ValueError, match="action_smoothness"):
        quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, action_smoothness=-1.0)


def test_the_lanes_report_each_ones_distance_to_the_goal():
    """The batched env's ``position_error`` info is each lane's distance to its target
    after the step, as the single env reports it."""
    venv = lanes()
    venv.reset()
    _, _, _, infos = venv.step(np.zeros((3, 4)))
    env = venv.venv.unwrapped
    want = np.linalg.norm(env.episode.goal - env.episode.state.pos, axis=1)
    assert want.min() > 0.1  # the lanes start on the ground, 1 m below the target
    np.testing.assert_allclose([info["position_error"] for info in infos], want)


def bonus_beside_plain(plain: VecEnv, sharp: PrecisionBonus, steps: int = 5) -> np.ndarray:
    """Step two equal envs, one wrapped in the bonus, with the same random actions and check
    that each slot's wrapped reward is its plain one plus w·exp(−d/σ), d its reported
    distance; the last step's distances (m)."""
    plain.reset(), sharp.reset()
    rng = np.random.default_rng(1)
    for _ in range(steps):
        a = rng.uniform(-0.3, 0.3, (plain.num_envs, 4))
        _, r0, *_ = plain.step(a)
        _, r1, _, infos = sharp.step(a)
        d = np.array([info["position_error"] for info in infos])
        want = sharp.weight * np.exp(-d / sharp.radius)
        np.testing.assert_allclose(r1 - r0, want, rtol=1e-5, atol=1e-6)
    return d


def test_the_precision_bonus_adds_a_peak_of_the_given_width_at_the_goal():
    """Same lanes, same actions: the wrapped reward is the plain one plus
    w·exp(−d/σ), d the reported distance (here about 1 m: the lanes take off from the
    ground, so that with σ = 0.5 m the bonus is about 2·e^(−2))."""
    d = bonus_beside_plain(lanes(), PrecisionBonus(lanes(), weight=2.0, radius=0.5))
    assert np.all(d > 0.5) and np.all(2.0 * np.exp(-d / 0.5) > 0.1)


def test_a_landing_is_paid_the_bonus_at_the_goal_for_each_step_it_credits():
    """A lane set down at rest 3 mm above the pad lands at the first step and the task pays
    it the steps left (info ``credited_steps``: max_steps − 1); the bonus then pays w for
    each of them as well as w·exp(−d/σ) for the step itself, and only w·exp(−d/σ) to the
    lanes still in the air (credited 0)."""
    plain, under = lanes(env_id="QuadLand-v0"), lanes(env_id="QuadLand-v0")
    sharp = PrecisionBonus(under, weight=2.0, radius=0.5)
    for venv in (plain, under):
        venv.reset()
        env = venv.venv.unwrapped
        pad = env.episode.goal[0]
        env.episode.state.pos[0] = pad + [0.0, 0.0, 0.003]
        env.episode.state.vel[0] = env.episode.state.ang_vel[0] = 0.0
    _, r0, done, _ = plain.step(np.zeros((3, 4)))
    _, r1, _, infos = sharp.step(np.zeros((3, 4)))
    credited = [info["credited_steps"] for info in infos]
    assert done[0] and not done[1:].any()
    assert credited == [env.max_steps - 1, 0, 0]
    d = np.array([info["position_error"] for info in infos])
    want = 2.0 * (np.exp(-d / 0.5) + np.array(credited))
    np.testing.assert_allclose(r1 - r0, want, rtol=1e-5)
    assert r1[0] - r0[0] > 2.0 * (env.max_steps - 1)


def test_the_precision_bonus_refuses_an_env_without_a_position_error():
    venv = SmoothnessPenalty(lanes(), weight=0.0)
    venv.step_wait = lambda: (None, np.zeros(3), np.zeros(3, bool), [{}, {}, {}])
    sharp = PrecisionBonus(venv, weight=1.0, radius=0.1)
    with pytest.raises(KeyError, match="position_error"):
        sharp.step_wait()


def test_ppo_takes_the_precision_option_typed_and_wraps_its_training_envs():
    algo = quadgym.make_algo(
        "ppo", "QuadHover-v0", num_envs=2, precision_bonus=0.5, precision_radius=0.1
    )
    try:
        wrapped = algo.venv.venv
        assert isinstance(wrapped, PrecisionBonus)
        assert (wrapped.weight, wrapped.radius) == (0.5, 0.1)
    finally:
        algo.close()
    with pytest.raises(ValueError, match="precision_bonus"):
        quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, precision_bonus=-1.0)
    with pytest.raises(ValueError, match="precision_radius"):
        quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, precision_radius=0.0)


def test_the_precision_bonus_warms_up_linearly_on_the_clock_it_is_given():
    """With warmup W the weight is w·min(1, t/W), t read from the clock at each step: the
    same lanes and actions gain 0 at t = 0, half the bonus at t = W/2, all of it after W."""
    now = {"t": 0}
    plain = lanes()
    sharp = PrecisionBonus(lanes(), weight=2.0, radius=0.5, warmup=1000, clock=lambda: now["t"])
    plain.reset(), sharp.reset()
    for t, share in ((0, 0.0), (500, 0.5), (1000, 1.0), (5000, 1.0)):
        now["t"] = t
        a = np.full((3, 4), 0.1)
        _, r0, *_ = plain.step(a)
        _, r1, _, infos = sharp.step(a)
        d = np.array([info["position_error"] for info in infos])
        assert sharp.current_weight() == 2.0 * share
        np.testing.assert_allclose(r1 - r0, 2.0 * share * np.exp(-d / 0.5), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="clock"):
        PrecisionBonus(lanes(), weight=1.0, radius=0.1, warmup=10)


def test_ppo_warms_the_bonus_up_on_its_own_step_counter():
    """The ramp reads the model's num_timesteps, which a resumed run restores."""
    algo = quadgym.make_algo(
        "ppo", "QuadHover-v0", num_envs=2, precision_bonus=1.0, precision_warmup=1000
    )
    try:
        wrapped = algo.venv.venv
        assert wrapped.current_weight() == 0.0
        algo.model.num_timesteps = 250
        assert wrapped.current_weight() == 0.25
    finally:
        algo.close()
    with pytest.raises(ValueError, match="precision_warmup"):
        quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, precision_warmup=-1)


def swarms(seed: int = 0) -> SwarmVecEnv:
    """Two swarms of two drones as ppo_shared's four training slots (``dyn`` physics)."""
    envs = [make_parallel_env("quad_swarm_v0", num_drones=2, physics="dyn") for _ in range(2)]
    return SwarmVecEnv(envs, seed=seed)


def test_the_swarm_slots_report_their_drones_step_infos():
    """Each slot's info is its drone's own: the distance to its goal (which the swarm
    reports per agent), as the precision bonus needs it."""
    venv = swarms()
    venv.reset()
    _, _, _, infos = venv.step(np.zeros((4, 4)))
    for k, env in enumerate(venv.envs):
        goal, pos = env.goal, env.episode.state.pos
        want = np.linalg.norm(goal - pos, axis=1)
        got = [infos[2 * k + j]["position_error"] for j in range(2)]
        np.testing.assert_allclose(got, want)
    venv.close()


def test_each_drone_of_ppo_shared_gets_its_own_precision_bonus():
    """Same swarms, same actions: each slot's reward is the plain one plus w·exp(−d/σ),
    d its own drone's distance to its goal."""
    plain, sharp = swarms(), PrecisionBonus(swarms(), weight=2.0, radius=0.5)
    d = bonus_beside_plain(plain, sharp)
    assert np.ptp(d) > 0  # the drones' distances differ, and so do their bonuses
    plain.close(), sharp.close()


def test_ppo_shared_takes_the_recipes_typed_and_wraps_its_training_swarms():
    algo = quadgym.make_algo(
        "ppo_shared",
        "quad_swarm_v0",
        num_drones=2,
        n_swarms=2,
        env_kwargs={"physics": "dyn"},
        action_smoothness=0.1,
        precision_bonus=0.5,
        precision_radius=0.1,
        precision_warmup=1000,
    )
    try:
        sharp = algo.venv.venv
        assert isinstance(sharp, PrecisionBonus) and isinstance(sharp.venv, SmoothnessPenalty)
        assert (sharp.weight, sharp.radius, sharp.venv.weight) == (0.5, 0.1, 0.1)
        algo.model.num_timesteps = 250  # agent-steps
        assert sharp.current_weight() == 0.125
    finally:
        algo.close()
    for bad in ({"precision_bonus": -1.0}, {"action_smoothness": -0.1}, {"precision_radius": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            quadgym.make_algo("ppo_shared", "quad_swarm_v0", num_drones=2, **bad)


def small_ppo(**config):
    """PPO on two QuadHover-v0 lanes with 16-step rollouts (32 samples an update)."""
    return quadgym.make_algo(
        "ppo", "QuadHover-v0", num_envs=2, n_steps=16, batch_size=32, n_epochs=1, **config
    )


def test_the_cosine_schedule_decays_the_step_size_on_the_step_counter():
    """½(1 + cos(π·t/H))·lr at t steps of a horizon H, read from num_timesteps."""
    algo = small_ppo(learning_rate=1e-3, schedule="cosine", horizon=1000)
    try:
        for t, factor in ((0, 1.0), (250, 0.5 + 0.5 * np.cos(np.pi / 4)), (500, 0.5), (1000, 0.0)):
            algo.model.num_timesteps = t
            assert algo.model.lr_schedule(1.0) == pytest.approx(1e-3 * factor, abs=1e-15)
        algo.model.num_timesteps = 4000  # after the horizon: 0, not rising again
        assert algo.model.lr_schedule(1.0) == 0.0
    finally:
        algo.close()
    constant = small_ppo(learning_rate=1e-3)
    try:
        constant.model.num_timesteps = 500
        assert constant.model.lr_schedule(1.0) == 1e-3
    finally:
        constant.close()
    with pytest.raises(ValueError, match="schedule"):
        small_ppo(schedule="linear")
    with pytest.raises(ValueError, match="horizon"):
        small_ppo(schedule="cosine", horizon=0)


def test_a_chunked_cosine_run_steps_as_an_uninterrupted_one(tmp_path):
    """Each update's step size is the cosine of the steps taken over the run's horizon: a
    run learnt in two calls, saved and resumed between them, uses the step sizes of one
    call (its weights differ: the resumed envs start new episodes); without a horizon a
    call decays to its own end."""

    def step_sizes(algo):
        seen = []
        train = algo.model.train

        def spied():
            train()
            seen.append(algo.model.policy.optimizer.param_groups[0]["lr"])

        algo.model.train = spied
        return seen

    config = {"learning_rate": 1e-3, "schedule": "cosine", "horizon": 128, "seed": 3}
    whole = small_ppo(**config)
    part = small_ppo(**config)
    resumed = small_ppo(**config)
    try:
        expected = step_sizes(whole)
        whole.learn(128)
        assert expected == pytest.approx(
            [1e-3 * 0.5 * (1 + np.cos(np.pi * t / 128)) for t in (32, 64, 96, 128)], abs=1e-15
        )
        got = step_sizes(part)
        part.learn(64)
        part.save(tmp_path / "ckpt")
        resumed.load(tmp_path / "ckpt")
        rest = step_sizes(resumed)
        resumed.learn(64)
        assert got + rest == expected
    finally:
        for algo in (whole, part, resumed):
            algo.close()
    unbounded = small_ppo(learning_rate=1e-3, schedule="cosine")
    try:
        seen = step_sizes(unbounded)
        unbounded.learn(64)
        unbounded.learn(64)  # the second call's horizon: its own end, step 128
        assert seen == pytest.approx(
            [1e-3 * 0.5 * (1 + np.cos(np.pi * t / 64)) for t in (32, 64)]
            + [1e-3 * 0.5 * (1 + np.cos(np.pi * t / 128)) for t in (96, 128)],
            abs=1e-15,
        )
    finally:
        unbounded.close()
