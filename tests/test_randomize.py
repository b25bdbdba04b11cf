"""randomize=: per-episode draws of the perturbations, each drone or lane its own, seeded."""

import gymnasium as gym
import numpy as np
import pytest

from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.sim.models import GRAVITY, get_model
from quadgym.envs.quad.sim.perturb import RANDOM_PRESETS, parse_randomize

M = get_model("cf2x")
STILL = {"start_height": 1.0, "target": [0, 0, 1.0], "start_xy_noise": 0.0, "start_yaw_noise": 0.0}
DT, SUB = 1 / 240, 8


def draws(envs):
    d = envs._disturb
    return np.c_[d.mass, d.inertia, d._lag, d.spread, d.wind, d._kick, d.factor]


def test_same_seed_same_draws_each_lane_its_own_within_the_ranges():
    """Two vector envs reset with one seed draw the same per-lane values (and autoreset
    lanes the same next draws); another seed draws others; every draw lies in its range."""
    kw = {"num_envs": 8, "randomize": "mild", "action_type": "one_d_rpm"}
    a, b, c = (gym.make_vec("QuadHover-v0", **kw).unwrapped for _ in range(3))
    a.reset(seed=5), b.reset(seed=5), c.reset(seed=6)
    np.testing.assert_array_equal(draws(a), draws(b))
    assert not np.allclose(draws(a), draws(c))
    mass = a._disturb.mass[:, 0].copy()
    assert np.all((mass >= 0.9) & (mass <= 1.2)) and np.ptp(mass) > 0.05  # each lane its own
    assert np.all(np.abs(a._disturb.wind[:, :2]) <= 0.015) and not a._disturb.wind[:, 2].any()
    std = a.task._noise_std[:, 0]
    assert np.all((std >= 0) & (std <= 0.01)) and np.ptp(std) > 0
    for _ in range(300):  # lanes end (crash, truncation) and redraw: the same in both
        act = np.full((8, 1), 0.3, dtype=np.float32)
        a.step(act), b.step(act)
    np.testing.assert_array_equal(draws(a), draws(b))
    assert not np.array_equal(draws(a)[:, 0], mass)


@pytest.mark.parametrize("physics", ["dyn", "pyb"])
def test_a_drawn_mass_sinks_at_hover_rpm_as_its_factor_says(physics):
    """The single env (either integrator) flies the mass it drew: at the URDF's hover
    speed, z falls by (1/k − 1)·g·dt²·N(N+1)/2 after N substeps for the drawn factor k."""
    env = gym.make(
        "QuadHover-v0",
        physics=physics,
        action_type="one_d_rpm",
        randomize="mass=(0.8,1.25)",
        **STILL,
    ).unwrapped
    env.reset(seed=1)
    k = env.world._disturb.mass[0, 0]
    assert 0.8 <= k <= 1.25 and abs(k - 1) > 0.01
    for _ in range(5):
        env.step(np.zeros(1, dtype=np.float32))
    n = 5 * SUB
    want = (1 / k - 1) * GRAVITY * DT**2 * n * (n + 1) / 2
    z = env.world.get_state().pos[0, 2] - (env.world.rest_height + 1.0)
    assert z == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_each_drone_reads_its_own_drawn_action_delay():
    """action_delay=(0, 2): a constant command reaches each drone after its own drawn
    number of steps (zero action before); the swarm draws per drone."""
    env = quad_swarm_v0.parallel_env(
        num_drones=6, action_type="one_d_rpm", physics="dyn", randomize="action_delay=(0,2)"
    )
    env.reset(seed=0)
    delays = env.task._delays.copy()
    assert set(delays) <= {0, 1, 2} and len(set(delays)) > 1
    seen = []
    for _ in range(3):
        _, _, _, _, infos = env.step({a: np.array([0.2], np.float32) for a in env.agents})
        seen.append([infos[a]["rpm"][0] for a in env.possible_agents])
    seen = np.array(seen)  # (steps, drones)
    for i, d in enumerate(delays):
        np.testing.assert_allclose(seen[:d, i], M.hover_rpm)
        np.testing.assert_allclose(seen[d:, i], M.hover_rpm * 1.1)


def test_bad_ranges_are_refused_by_name():
    assert set(RANDOM_PRESETS) == {"none", "mild", "motors"}
    with pytest.raises(ValueError, match="unknown key 'mas'; did you mean 'mass'"):
        gym.make("QuadHover-v0", randomize="mas=(1,2)")
    with pytest.raises(ValueError, match="randomize mass must be a .low, high. range"):
        gym.make("QuadHover-v0", randomize={"mass": (1.2, 0.9)})
    with pytest.raises(ValueError, match="randomize mass: mass must be > 0.0"):
        parse_randomize("mass=(0,2)")
    with pytest.raises(
        ValueError, match="unknown randomize preset 'wild'; allowed: none, mild, motors"
    ):
        gym.make_vec("QuadHover-v0", num_envs=2, randomize="wild")
    with pytest.raises(TypeError, match="randomize must be"):
        parse_randomize(3)
