"""motors=True: the airframe's first-order motor lag, on every face, its speeds observed."""

import gymnasium as gym
import numpy as np
import pytest
from twins import fly_lane_beside, start_lanes_like

from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.sim.models import get_model

M = get_model("cf2x")
STILL = {"start_height": 1.0, "target": [0, 0, 1.0], "start_xy_noise": 0.0, "start_yaw_noise": 0.0}
DT, SUB = 1 / 240, 8


def test_the_crazyflies_publish_their_motor_time_constant():
    """cf2x and cf2p carry Eschmann et al. 2024's 72 ms; the racer publishes none."""
    assert get_model("cf2x").motor_tau == get_model("cf2p").motor_tau == 0.072
    assert get_model("race").motor_tau is None


@pytest.mark.parametrize("physics", ["dyn", "pyb"])
def test_the_observed_motor_speeds_lag_their_command_by_the_published_constant(physics):
    """Hover, then a step command to ω₁ = 1.25·ω_h: one control step (8 substeps) later
    the observation's motor entries are (ω₁ + (ω_h − ω₁)·exp(−8·dt/τ)) / ω_h − 1, with
    τ = 0.072 s; before any command they read 0; the previous-action entries are kept."""
    env = gym.make("QuadHover-v0", physics=physics, motors=True, **STILL).unwrapped
    obs, _ = env.reset(seed=0)
    assert obs.shape == (26,) and env.observation_space.shape == (26,)
    np.testing.assert_array_equal(obs[22:], 0.0)
    env.step(np.zeros(4, dtype=np.float32))  # hover: the motors take it at once
    obs, *_ = env.step(np.full(4, 0.5, dtype=np.float32))
    w1 = M.hover_rpm * 1.25
    want = (w1 + (M.hover_rpm - w1) * np.exp(-SUB * DT / 0.072)) / M.hover_rpm - 1
    np.testing.assert_allclose(obs[22:], want, rtol=1e-6)
    np.testing.assert_allclose(obs[18:22], 0.5)
    assert 0.05 < want < 0.15  # 63 % of the step still to come: the lag is visible


def test_every_face_flies_the_same_motor_episode():
    """Lane 1 of the vector backend runs the single env's dyn episode with motors, to 1e-12,
    and a swarm's drones observe their four motor speeds too."""
    single = gym.make("QuadHover-v0", physics="dyn", motors=True, **STILL).unwrapped
    envs = gym.make_vec("QuadHover-v0", num_envs=3, physics="dyn", motors=True, **STILL)
    start_lanes_like(single, envs, 3)
    obs, ended = fly_lane_beside(single, envs, 20)
    assert not ended
    assert np.ptp(obs[22:]) > 0.01  # the motors differ: the entries are not a constant
    swarm = quad_swarm_v0.parallel_env(num_drones=2, motors=True, k_neighbors=1)
    plain = quad_swarm_v0.parallel_env(num_drones=2, k_neighbors=1)
    size = swarm.observation_space("drone_0").shape[0]
    assert size == plain.observation_space("drone_0").shape[0] + 4
    assert swarm.config.perturbations.motor_tau == 0.072


def test_motors_are_refused_without_a_time_constant_and_a_perturbed_one_replaces_it():
    with pytest.raises(ValueError, match="drone_model='race' does not publish; allowed: cf2x"):
        gym.make("QuadHover-v0", drone_model="race", motors=True)
    with pytest.raises(TypeError, match="motors"):
        gym.make("QuadHover-v0", motors="yes")
    env = gym.make("QuadHover-v0", physics="dyn", motors=True, perturb="mild").unwrapped
    assert env.config.perturbations.motor_tau == 0.02
    assert gym.make("QuadHover-v0", physics="dyn").unwrapped.world.motor_speeds() is None


@pytest.mark.parametrize(
    "physics, drones",
    [("pyb_gnd_drag", 1), ("pyb_gnd_drag_dw", 2), ("pyb_dw", 2), ("dyn_gnd_drag_dw", 2)],
)
def test_the_air_sees_the_lagging_rotors_not_their_commands(physics, drones):
    """A drone whose motors lag (τ = 0.072 s) and a twin whose instant motors are commanded,
    substep by substep, the speeds the lagging ones reached fly the same flight bit for bit,
    ground effect, drag and downwash included: the aero effects are driven by the rotors'
    actual speeds. (They were driven by the commands, which differ by up to the whole step
    until the lag closes.) Near the ground, moving, stacked where there are two."""
    from quadgym.envs.quad.sim.dynamics import State
    from quadgym.envs.quad.sim.perturb import Perturbations
    from quadgym.envs.quad.sim.world import World

    start = State.at_rest(np.array([[0.0, 0.0, 0.05], [0.03, 0.0, 0.35]])[:drones])
    start.vel[:] = [0.4, -0.2, 0.3]
    rng = np.random.default_rng(5)
    commands = M.hover_rpm * (1 + rng.uniform(-0.3, 0.3, size=(6, drones, 4)))
    lagging = World(M, drones, physics, 240, perturb=Perturbations(motor_tau=0.072))
    instant = World(M, drones, physics, 240)
    try:
        lagging.reset(start)
        instant.reset(start)
        gaps = []
        for command in commands:
            for _ in range(SUB):
                lagging.step(command, 1)
                turning = lagging.motor_speeds()
                instant.step(turning, 1)
                gaps.append(np.abs(turning - command).max() / M.hover_rpm)
        a, b = lagging.get_state(), instant.get_state()
    finally:
        lagging.close()
        instant.close()
    for x, y in ((a.pos, b.pos), (a.quat, b.quat), (a.vel, b.vel), (a.ang_vel, b.ang_vel)):
        np.testing.assert_array_equal(x, y)
    assert max(gaps) > 0.2  # the commands were far from the speeds: the test can tell
