"""Perturbations: each against its hand-computed effect, on every face, refused when wrong."""

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from twins import fly_lane_beside, start_lanes_like

from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.sim.models import GRAVITY, get_model
from quadgym.envs.quad.sim.perturb import PRESETS, Perturbations, parse_perturb

M = get_model("cf2x")
STILL = {"start_height": 1.0, "target": [0, 0, 1.0], "start_xy_noise": 0.0, "start_yaw_noise": 0.0}
DT, SUB = 1 / 240, 8


def hold(perturb, physics, steps, action_type="one_d_rpm", action=(0.0,)):
    """The drone's states over ``steps`` control steps of a constant action."""
    env = gym.make(
        "QuadHover-v0", physics=physics, action_type=action_type, perturb=perturb, **STILL
    ).unwrapped
    env.reset(seed=0)
    out = []
    for _ in range(steps):
        env.step(np.array(action, dtype=np.float32))
        out.append(env.world.get_state())
    return env, out


@pytest.mark.parametrize("physics, tol", [("dyn", 1e-12), ("pyb", 1e-6)])
def test_wind_accelerates_a_hovering_drone_by_f_over_m(physics, tol):
    """Hover RPM (thrust = weight) and a 0.02 N wind along x: x = (F/m)·dt²·N(N+1)/2
    after N substeps (semi-implicit Euler, Bullet's scheme too), no climb or sink."""
    env, states = hold({"wind": (0.02, 0.0, 0.0)}, physics, 15)
    n = 15 * SUB
    x0 = env.target[0, 0]
    want = 0.02 / M.mass * DT**2 * n * (n + 1) / 2
    assert states[-1].pos[0, 0] - x0 == pytest.approx(want, rel=tol, abs=tol)
    assert abs(states[-1].pos[0, 2] - states[0].pos[0, 2]) < 1e-3
    assert want > 0.09  # 9 cm in half a second: a visible push


@pytest.mark.parametrize("physics, tol", [("dyn", 1e-12), ("pyb", 1e-6)])
def test_a_heavier_frame_sinks_at_hover_rpm(physics, tol):
    """Mass x1.2 at the URDF's hover RPM: a = (m·g − 1.2·m·g)/(1.2·m) = −g/6."""
    env, states = hold({"mass": 1.2}, physics, 15)
    n = 15 * SUB
    z0 = env.world.rest_height + 1.0
    want = -GRAVITY / 6 * DT**2 * n * (n + 1) / 2
    assert states[-1].pos[0, 2] - z0 == pytest.approx(want, rel=tol, abs=tol)


def test_inertia_scales_the_angular_response():
    """A pitch command from rest: one substep's body rate is τ/J, so a frame with inertia
    x2 turns at half the rate (dyn, from rest: no gyroscopic term)."""
    # motors 0 (+x, -y) and 3 (+x, +y), the front pair, faster: a torque about body y alone
    roll = (0.1, -0.1, -0.1, 0.1)
    rates = []
    for factor in (1.0, 2.0):
        env = gym.make(
            "QuadHover-v0",
            physics="dyn",
            physics_hz=240,
            control_hz=240,
            perturb={"inertia": factor},
            **STILL,
        ).unwrapped
        env.reset(seed=0)
        env.step(np.array(roll, dtype=np.float32))
        rates.append(env.world.get_state().ang_vel[0])
    assert rates[0][0] == rates[0][2] == 0.0 and rates[0][1] < 0  # nose up: -y
    np.testing.assert_allclose(rates[1], rates[0] / 2, rtol=1e-9)


def test_sensor_noise_has_the_given_spread_and_the_seed_fixes_it():
    clean = gym.make("QuadHover-v0", physics="dyn", action_type="pid", **STILL)
    noisy = gym.make(
        "QuadHover-v0", physics="dyn", action_type="pid", perturb="obs_noise=0.01", **STILL
    )
    again = gym.make(
        "QuadHover-v0", physics="dyn", action_type="pid", perturb="obs_noise=0.01", **STILL
    )
    diffs, repeat = [], []
    for env in (clean, noisy, again):
        env.reset(seed=4)
    for _ in range(100):
        a = np.zeros(3, dtype=np.float32)
        c, n, r = (e.step(a)[0] for e in (clean, noisy, again))
        diffs.append(n - c)
        repeat.append(r - n)
    diffs = np.array(diffs)[:, 3:12]  # the rotation entries (never clipped near hover)
    assert np.std(diffs) == pytest.approx(0.01, rel=0.1)
    assert abs(np.mean(diffs)) < 0.002
    np.testing.assert_array_equal(np.array(repeat), 0.0)


def test_an_action_takes_effect_after_the_delay():
    """action_delay=2: the motor speeds of step t are those of the action of step t−2; the
    first two steps fly the zero action (hover RPM)."""
    env = gym.make("QuadHover-v0", perturb={"action_delay": 2}, **STILL)
    env.reset(seed=0)
    actions = [np.full(4, v, dtype=np.float32) for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    rpms = [env.step(a)[4]["rpm"][0, 0] for a in actions]
    want = [M.hover_rpm * (1 + 0.5 * v) for v in (0.0, 0.0, 0.1, 0.2, 0.3)]
    np.testing.assert_allclose(rpms, want, rtol=1e-6)
    env.reset(seed=0)  # a reset empties the queue
    assert env.step(actions[4])[4]["rpm"][0, 0] == pytest.approx(M.hover_rpm)


def test_every_face_flies_the_same_perturbed_episode():
    """Lane 1 of the vector backend and drone 0 of a one-drone swarm run the single env's
    dyn episode under wind, mass and a delay, to 1e-12."""
    perturb = "wind=(0.01,-0.02,0),mass=1.1,inertia=0.9,action_delay=1"
    single = gym.make("QuadHover-v0", physics="dyn", perturb=perturb).unwrapped
    envs = gym.make_vec("QuadHover-v0", num_envs=3, physics="dyn", perturb=perturb)
    start_lanes_like(single, envs, 3)
    fly_lane_beside(single, envs, 40)
    swarm = quad_swarm_v0.parallel_env(num_drones=2, perturb="harsh")
    swarm.reset(seed=0)
    assert swarm.world.true_model.mass == pytest.approx(1.25 * M.mass)
    assert swarm.task._obs_noise == 0.02 and swarm.config.perturbations == parse_perturb("harsh")


def test_presets_and_bad_perturbations(forbid):
    assert parse_perturb(None) == Perturbations() and set(PRESETS) == {
        "none",
        "mild",
        "harsh",
        "heldout",
    }
    forbid((pybullet, "connect"))
    for value, error, message in [
        ("windy", ValueError, "unknown perturb preset 'windy'"),
        ("mas=1.2", ValueError, "did you mean 'mass'"),
        ({"wind": (5.0, 0, 0)}, ValueError, "wind must be 3 finite forces"),
        ({"mass": -1.0}, ValueError, "mass"),
        ("obs_noise=nan", ValueError, "obs_noise"),
        (3.0, TypeError, "perturb must be"),
    ]:
        with pytest.raises(error, match=message):
            gym.make("QuadHover-v0", perturb=value)


def _settle(perturb, seconds=12.0):
    """QuadHover-v0 with the env's PID holding the target (pid actions, 240 Hz), long
    enough to settle; the last state and motor speeds."""
    env = gym.make(
        "QuadHover-v0",
        physics="dyn",
        action_type="pid",
        perturb=perturb,
        episode_seconds=seconds,
        **STILL,
    ).unwrapped
    env.reset(seed=0)
    for _ in range(round(seconds * 30)):
        _, _, term, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert not term
    return env, env.world.get_state(), info["rpm"][0]


def test_a_steady_wind_displaces_the_pid_by_what_its_integral_limit_predicts():
    """At rest against a wind F the position loop's force p·e + i·∫e equals F. The x
    integral saturates at i_pos_limit (2 m·s) × i (0.05 N/(m·s)) = 0.1 N, so a 0.2 N wind
    leaves e = (F − 0.1 N) / p = 0.1 / 0.4 = 0.25 m downwind, and 0.05 N none at all."""
    from quadgym.envs.quad.control.pid import PIDGains

    g = PIDGains()
    cap = g.i_pos_limit[0] * g.i_pos[0]
    env, state, _ = _settle({"wind": (0.2, 0.0, 0.0)})
    want = (0.2 - cap) / g.p_pos[0]
    assert state.pos[0, 0] - env.target[0, 0] == pytest.approx(want, abs=0.005)
    env, state, _ = _settle({"wind": (0.05, 0.0, 0.0)}, seconds=25.0)
    assert abs(state.pos[0, 0] - env.target[0, 0]) < 0.005


def test_a_heavier_drone_hovers_at_the_higher_rpm():
    """Thrust = 1.2·m·g at rest: every motor at ω_h·√1.2. The z integral saturates at
    0.15 m·s × 0.05 N/(m·s) = 0.0075 N, so the drone hangs (0.2·m·g − 0.0075 N)/1.25 N/m
    below the target."""
    env, state, rpm = _settle({"mass": 1.2})
    np.testing.assert_allclose(rpm, M.hover_rpm * np.sqrt(1.2), rtol=2e-3)
    sag = (0.2 * M.mass * GRAVITY - 0.15 * 0.05) / 1.25
    assert env.target[0, 2] - state.pos[0, 2] == pytest.approx(sag, abs=0.002)


def test_gusts_are_an_ornstein_uhlenbeck_force_of_the_given_spread():
    """Stationary std σ per axis, correlation e⁻¹ after one time constant (0.5 s), the
    same gusts for the same generator, the steady wind added."""
    from quadgym.envs.quad.sim.perturb import GUST_TAU, Disturbances

    def run(seed):
        d = Disturbances(parse_perturb({"gust": 0.05, "wind": (0.01, 0, 0)}), 200, 1 / 240)
        d.reset(np.random.default_rng(seed), np.arange(200))
        return np.array([d.force() for _ in range(2400)])  # 10 s of 240 Hz

    f = run(1)
    np.testing.assert_array_equal(f, run(1))
    g = f[480:] - [0.01, 0.0, 0.0]  # after 2 s: stationary
    assert np.std(g) == pytest.approx(0.05, rel=0.03)
    lag = round(GUST_TAU * 240)
    corr = np.mean(g[lag:] * g[:-lag]) / np.var(g)
    assert corr == pytest.approx(np.exp(-1), abs=0.03)


def test_a_lagging_motor_approaches_its_command_exponentially():
    """After a step command from ω₀ to ω₁, k substeps later the speed is
    ω₁ + (ω₀ − ω₁)·exp(−k·dt/τ) (the exact discretisation of the first-order lag)."""
    env, _ = hold({"motor_tau": 0.05}, "dyn", 1)  # 1 control step at hover: ω₀ = ω_h
    command = np.float32(0.25)
    env.step(np.array([command], dtype=np.float32))
    w0, w1 = M.hover_rpm, M.hover_rpm * (1 + 0.5 * 0.25)
    want = w1 + (w0 - w1) * np.exp(-8 * DT / 0.05)
    np.testing.assert_allclose(env.world._disturb.speed[0], want, rtol=1e-9)


def test_a_spread_thrust_accelerates_by_the_drawn_factors():
    """Hover RPM, each motor's thrust x(1 + u_i), u_i drawn per episode within ±0.1: the
    vertical acceleration is g·(mean factor − 1) (from the same seed, same factors); over
    one control step, before the unequal torques tilt the drone noticeably."""
    env, states = hold({"kf_spread": 0.1}, "dyn", 1)
    factors = env.world._disturb.factor[0]
    assert np.all(np.abs(factors - 1) <= 0.1) and np.ptp(factors) > 0.01
    env.reset(seed=0)
    np.testing.assert_array_equal(env.world._disturb.factor[0], factors)
    acc = GRAVITY * (factors.mean() - 1)
    z0 = env.world.rest_height + 1.0
    want = acc * DT**2 * SUB * (SUB + 1) / 2
    assert states[-1].pos[0, 2] - z0 == pytest.approx(want, rel=5e-3)  # tilt: ~0.1 %
