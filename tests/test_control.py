"""The cascaded PID: it flies in every physics mode, and pyb and dyn agree on it."""

import gymnasium as gym
import numpy as np
import pytest

from quadgym.envs.quad.control.pid import CascadedPID, PIDGains
from quadgym.envs.quad.sim.models import get_model

PAPER_MODES = ["pyb", "dyn", "pyb_gnd", "pyb_drag", "pyb_dw", "pyb_gnd_drag_dw"]


def fly_to_set_point(physics, model="cf2x", seconds=6.0):
    """Rest on the ground, set-point 1 m away (0.5, 0.5, 0.7 above the start)."""
    env = gym.make(
        "QuadHover-v0",
        drone_model=model,
        physics=physics,
        action_type="pid",
        start_xy_noise=0.0,
        start_yaw_noise=0.0,
        target=[0.5, 0.5, 0.7125],
        episode_seconds=seconds,
    )
    env.reset(seed=0)
    trace = []
    while True:
        _, _, term, trunc, info = env.step(np.zeros(3, dtype=np.float32))
        trace.append(env.unwrapped._state.pos[0].copy())
        assert not term
        if trunc:
            break
    env.close()
    return np.array(trace), info["position_error"]


@pytest.mark.parametrize("physics", PAPER_MODES)
def test_pid_reaches_and_holds_set_point(physics):
    trace, final = fly_to_set_point(physics)
    assert final < 0.05
    # and holds it: the last second stays within 5 cm
    assert np.linalg.norm(trace[-30:] - [0.5, 0.5, 0.7125], axis=1).max() < 0.05


def test_pid_flies_cf2p():
    assert fly_to_set_point("pyb", model="cf2p")[1] < 0.05


def test_pyb_and_dyn_agree_on_a_pid_flight():
    """Free flight without contact: Bullet's integrator and ours are the same scheme,
    so a 5 s PID flight agrees to round-off (measured: 1e-15 m; pinned at 1e-6 m)."""
    a, _ = fly_to_set_point("pyb", seconds=5.0)
    b, _ = fly_to_set_point("dyn", seconds=5.0)
    assert np.abs(a - b).max() < 1e-6


def test_pid_is_batched():
    """Each row of a batched PID equals the same drone controlled alone."""
    from quadgym.envs.quad.sim.dynamics import State

    m = get_model("cf2x")
    rng = np.random.default_rng(1)
    state = State.at_rest(rng.normal(size=(5, 3)))
    state.vel = rng.normal(size=(5, 3))
    target = rng.normal(size=(5, 3))
    batched = CascadedPID(m, 5).compute(state, target, 1 / 30)
    for i in range(5):
        one = State(
            state.pos[i : i + 1],
            state.quat[i : i + 1],
            state.vel[i : i + 1],
            state.ang_vel[i : i + 1],
        )
        np.testing.assert_allclose(
            CascadedPID(m, 1).compute(one, target[i : i + 1], 1 / 30)[0], batched[i]
        )


def test_published_gains_and_pwm_map():
    g = PIDGains.for_model(get_model("cf2x"))
    assert g.p_pos == (0.4, 0.4, 1.25) and g.d_att == (20000.0, 20000.0, 12000.0)
    rpm = CascadedPID(get_model("cf2x")).compute(
        __import__("quadgym.envs.quad.sim.dynamics", fromlist=["State"]).State.at_rest([[0, 0, 1]]),
        np.array([[0, 0, 1]]),
        1 / 30,
    )
    # PWM in [20000, 65535] -> RPM in [0.2685·20000 + 4070.3, 0.2685·65535 + 4070.3]
    assert np.all((rpm >= 9440.3) & (rpm <= 21666.4))


def test_race_has_no_published_gains():
    with pytest.raises(ValueError, match="published gains for cf2x, cf2p only.*'race'"):
        CascadedPID(get_model("race"))
