"""The privileged vector (the quad faces' ``privileged=True``) and the ``asymmetric_critic`` of
``ppo`` and ``ppo_shared``: the critic reads it, the actor cannot, and the exported actor acts
on the env's own observation as the plugin does."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import quadgym
from quadgym.deploy import MLPPolicy
from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.episode import PRIVILEGED
from quadgym.export import mlp_policy

P = len(PRIVILEGED)
KNOWN = "wind=(0.01,-0.02,0),motor_tau=0.03,mass=1.2,inertia=0.9,obs_noise=0.01,action_delay=1"


def _columns(obs):
    return dict(zip(PRIVILEGED, obs[-P:].astype(float), strict=True))


def _blind_actor_seeing_critic(policy, obs: np.ndarray) -> np.ndarray:
    """Check that two random fillings of the privileged columns after ``obs`` give the same
    actions and different values; return the first filling's observations."""
    rng = np.random.default_rng(0)
    a = np.concatenate([obs, rng.normal(0, 1, (len(obs), P))], 1).astype(np.float32)
    b = np.concatenate([obs, rng.normal(0, 1, (len(obs), P))], 1).astype(np.float32)
    with torch.no_grad():
        ta, tb = torch.as_tensor(a), torch.as_tensor(b)
        act_a, act_b = policy.get_distribution(ta).mode(), policy.get_distribution(tb).mode()
        val_a, val_b = policy.predict_values(ta), policy.predict_values(tb)
    torch.testing.assert_close(act_a, act_b, rtol=0, atol=0)
    assert (val_a - val_b).abs().min() > 1e-4
    return a


@pytest.mark.parametrize("physics", ["dyn", "pyb"])
def test_the_privileged_vector_holds_the_true_state_and_the_episodes_parameters(physics):
    """Under known perturbations: the parameters as set, the true error (not the noisy
    observed one), the episode's flown fraction; off, the observation is today's."""
    env = gym.make("QuadHover-v0", physics=physics, perturb=KNOWN, privileged=True)
    plain = gym.make("QuadHover-v0", physics=physics, perturb=KNOWN)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (22 + P,) == env.observation_space.shape
    assert plain.observation_space.shape == (22,)
    assert env.observation_space.contains(obs)
    for _ in range(3):
        obs, *_ = env.step(np.zeros(4, dtype=np.float32))
    c, u = _columns(obs), env.unwrapped
    want = {"mass": 1.2, "inertia": 0.9, "motor_tau": 0.03, "obs_noise": 0.01}
    want.update(wind_x=0.01, wind_y=-0.02, wind_z=0.0, action_delay=1.0)
    for key, value in want.items():
        assert c[key] == pytest.approx(value, rel=1e-6), key
    assert c["time"] == pytest.approx(3 / 240, rel=1e-6)
    assert c["kf_0"] == c["kf_1"] == 1.0 and c["gust_x"] == 0.0
    true_error = (u.goal - u._state.pos)[0]
    np.testing.assert_allclose(obs[-P:][:3], true_error, rtol=1e-6, atol=1e-7)
    assert np.abs(obs[:3] - true_error).max() > 1e-4  # the policy's copy is noisy


def test_each_lane_is_told_its_own_draws_and_an_autoreset_tells_the_new_ones():
    """Randomised: the lanes' masses, motor constants and thrust factors are the
    Disturbances' draws, and the privileged columns of the final and the new observation
    of a lane that ends are those of its two episodes; the other lanes keep their draws."""
    kw = {"randomize": "motors", "motors": True, "privileged": True}
    envs = gym.make_vec("QuadHover-v0", num_envs=3, autoreset_mode="same_step", **kw)
    obs, _ = envs.reset(seed=0)
    d = envs.unwrapped._disturb
    np.testing.assert_allclose(obs[:, -P + 19], d.mass[:, 0], rtol=1e-6)
    np.testing.assert_allclose(obs[:, -P + 21 : -P + 25], d.factor, rtol=1e-6)
    np.testing.assert_allclose(obs[:, -P + 25], d.tau[:, 0], rtol=1e-6)
    assert np.ptp(obs[:, -P + 19]) > 0.01  # each lane its own draw
    first, noise = obs[:, -P + 19].copy(), obs[:, -2].copy()
    assert np.ptp(noise) > 1e-4
    flip = np.zeros((3, 4), dtype=np.float32)
    flip[0] = [1.0, -1.0, 1.0, -1.0]  # lane 0 spins and crashes; the others hover on
    for _ in range(60):
        obs, _, term, trunc, info = envs.step(flip)
        if term.any():
            break
    np.testing.assert_array_equal(term, [True, False, False])
    lane = 0
    assert info["final_obs"][lane][-P + 19] == pytest.approx(first[lane], rel=1e-6)
    assert obs[lane, -P + 19] == pytest.approx(d.mass[lane, 0], rel=1e-6) != first[lane]
    assert obs[lane, -P + 18] == 0.0  # a new episode's time
    obs, *_ = envs.step(np.zeros((3, 4), dtype=np.float32))
    # the others keep their sensor noise (a lane's reset used to clear every lane's draw)
    np.testing.assert_array_equal(obs[1:, -2], noise[1:])


def test_the_checkers_pass():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    kw = {"physics": "dyn", "randomize": "motors", "motors": True, "privileged": True}
    check_env(gym.make("QuadHover-v0", **kw).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make("QuadHover-v0", **kw), warn=True)


@pytest.fixture(scope="module")
def asymmetric():
    """A briefly trained asymmetric ppo (its VecNormalize statistics are no longer 0 and 1)
    and 64 observations of the env it flies (its own, without privileged columns)."""
    torch.set_num_threads(1)
    algo = quadgym.make_algo(
        "ppo",
        "QuadHover-v0",
        num_envs=8,
        n_steps=16,
        batch_size=64,
        asymmetric_critic=True,
        env_kwargs={"motors": True, "randomize": "motors", "error_integral": 2.0},
    )
    algo.learn(256)
    env = gym.make("QuadHover-v0", physics="dyn", **algo.config.interface())
    obs, seen = env.reset(seed=0)[0], []
    for _ in range(64):
        seen.append(obs)
        obs, _, term, trunc, _ = env.step(algo.act(obs))
        if term or trunc:
            obs, _ = env.reset()
    return algo, np.array(seen, dtype=np.float32)


def test_the_actor_ignores_the_privileged_columns_and_the_critic_reads_them(asymmetric):
    algo, obs = asymmetric
    assert algo.model.observation_space.shape == (obs.shape[1] + P,)
    a = _blind_actor_seeing_critic(algo.model.policy, obs)
    np.testing.assert_array_equal(algo.act(obs), algo.act(a))  # zeros or anything: the same


def test_the_exported_actor_acts_on_the_envs_own_observation_as_the_plugin(asymmetric):
    algo, obs = asymmetric
    policy = mlp_policy(algo)
    assert policy.obs_dim == obs.shape[1]
    np.testing.assert_allclose(policy.act(obs), algo.act(obs), rtol=0, atol=2e-6)
    with pytest.raises(ValueError, match="observation"):
        policy.act(np.zeros(obs.shape[1] + P, dtype=np.float32))
    assert isinstance(policy, MLPPolicy)


def test_each_drone_of_a_swarm_is_told_its_own_state_and_draws_after_its_neighbours():
    """The swarm's privileged columns follow the plain observation unchanged (same seed,
    same episode), hold each drone's true error and its own randomised mass, motor constant
    and thrust factors, and pass PettingZoo's api and seed tests."""
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    kw = {"num_drones": 3, "randomize": "motors", "motors": True, "action_history": 1}
    env = quad_swarm_v0.parallel_env(privileged=True, **kw)
    plain = quad_swarm_v0.parallel_env(**kw)
    obs, _ = env.reset(seed=3)
    own, _ = plain.reset(seed=3)
    actions = {a: np.full(4, 0.1, dtype=np.float32) for a in env.agents}
    for _ in range(3):
        obs, *_ = env.step(actions)
        own, *_ = plain.step(actions)
    d, state = env.world._disturb, env._state
    masses = []
    for i, agent in enumerate(env.possible_agents):
        o, width = obs[agent], own[agent].shape[0]
        assert o.shape == (width + P,) == env.observation_space(agent).shape
        assert env.observation_space(agent).contains(o)
        np.testing.assert_array_equal(o[:width], own[agent])
        c = _columns(o)
        assert c["mass"] == pytest.approx(d.mass[i, 0], rel=1e-6)
        assert c["motor_tau"] == pytest.approx(d.tau[i, 0], rel=1e-6)
        np.testing.assert_allclose(o[-P + 21 : -P + 25], d.factor[i], rtol=1e-6)
        np.testing.assert_allclose(o[-P:][:3], env.target[i] - state.pos[i], rtol=1e-6, atol=1e-7)
        assert c["time"] == pytest.approx(3 / env.max_steps, rel=1e-6)
        masses.append(c["mass"])
    assert np.ptp(masses) > 0.01  # each drone its own draw
    parallel_api_test(quad_swarm_v0.parallel_env(privileged=True, **kw), num_cycles=50)
    parallel_seed_test(lambda: quad_swarm_v0.parallel_env(privileged=True, **kw))


def test_ppo_shared_trains_an_asymmetric_critic_and_its_actor_flies_the_plain_swarm():
    """ppo_shared with asymmetric_critic: the training swarms carry the privileged columns
    (the model's width), the actor's actions ignore them while the critic's values do not,
    and the policy flies the swarm a user evaluates on (no privileged columns)."""
    torch.set_num_threads(1)
    algo = quadgym.make_algo(
        "ppo_shared",
        "quad_swarm_v0",
        num_drones=2,
        n_swarms=2,
        n_steps=16,
        batch_size=32,
        asymmetric_critic=True,
        env_kwargs={"physics": "dyn", "motors": True, "randomize": "motors"},
    )
    algo.learn(128)
    env = algo.env
    obs, _ = env.reset(seed=0)
    width = env.observation_space(env.agents[0]).shape[0]
    assert algo.model.observation_space.shape == (width + P,)
    seen = []
    for _ in range(8):
        seen += [obs[a] for a in env.agents]
        obs, *_ = env.step(algo.act(obs))
    seen = np.array(seen, dtype=np.float32)
    a = _blind_actor_seeing_critic(algo.model.policy, seen)
    one = {"drone_0": seen[0], "drone_1": seen[1]}
    padded = algo.act({"drone_0": a[0], "drone_1": a[1]})
    for agent, action in algo.act(one).items():
        np.testing.assert_array_equal(action, padded[agent])
    np.testing.assert_allclose(
        mlp_policy(algo).act(seen[:2]), np.stack(list(algo.act(one).values())), atol=2e-6
    )
    algo.close()


@pytest.mark.parametrize("face", ["single", "swarm"])
def test_privileged_without_the_kinematic_vector_is_refused_by_name(face):
    """It is appended to the kinematic vector: with images alone it used to vanish."""
    make = {
        "single": lambda **kw: gym.make("QuadHover-v0", **kw),
        "swarm": lambda **kw: quad_swarm_v0.parallel_env(num_drones=2, **kw),
    }[face]
    with pytest.raises(ValueError, match="privileged=True appends to the kinematic vector"):
        make(privileged=True, obs_type="rgb")
    env = make(privileged=True, obs_type="kin+rgb")
    env.close()
