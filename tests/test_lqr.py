"""The LQR: its linear model against hand-computed entries, closed-loop poles, a hover step
that settles as the linear model predicts, and the plugin on the tasks."""

import gymnasium as gym
import numpy as np
import pytest

import quadgym
from quadgym.envs.quad.control.lqr import LQR, from_state
from quadgym.envs.quad.sim.models import get_model
from quadgym.evaluation import score

M = get_model("cf2x")
T = 1 / 30  # the control period: 8 substeps at 240 Hz


@pytest.fixture(scope="module")
def lqr():
    return LQR(M, 1 / 240, 8)


def test_the_linear_model_by_hand(lqr):
    """Position follows velocity over the period (semi-implicit Euler: exactly T); a motor's
    speed-up of 1 RPM adds 2·kf·ω_h/m of vertical acceleration for the period, and the
    velocity after N substeps of dt is N·dt times that."""
    np.testing.assert_allclose(lqr.A[0:3, 3:6], T * np.eye(3), atol=1e-9)
    np.testing.assert_allclose(lqr.A[3:6, 3:6], np.eye(3), atol=1e-9)
    per_rpm = 2 * M.kf * M.hover_rpm / M.mass
    np.testing.assert_allclose(lqr.B[5], np.full(4, per_rpm * T), rtol=1e-6)
    # tilt makes the thrust push sideways: roll φ gives −g·φ along y, pitch θ +g·θ along x
    assert lqr.A[4, 6] == pytest.approx(-9.8 * T, rel=1e-3)
    assert lqr.A[3, 7] == pytest.approx(9.8 * T, rel=1e-3)


def test_the_closed_loop_is_stable(lqr):
    assert np.abs(lqr.poles).max() < 0.99


def test_a_hover_step_settles_as_the_linear_model_predicts(lqr):
    """From 5 cm off the target (dyn physics, rpm actions, no clipping at this size), the
    drone's positions follow the linear closed loop x' = (A − BK)·x within 2 mm."""
    env = gym.make(
        "QuadHover-v0",
        physics="dyn",
        start_height=1.0,
        target=[0.05, -0.05, 1.05],
        start_xy_noise=0.0,
        start_yaw_noise=0.0,
    ).unwrapped
    agent = quadgym.make_algo("lqr", env)
    obs, _ = env.reset(seed=0)
    x = from_state(env.world.get_state())[0] - np.r_[env.target[0], np.zeros(9)]
    closed = lqr.A - lqr.B @ lqr.K
    worst = 0.0
    for _ in range(60):
        action = agent.act(obs)
        assert np.abs(action).max() < 1.0
        obs, *_ = env.step(action)
        x = closed @ x
        real = env.world.get_state().pos[0] - env.target[0]
        worst = max(worst, np.abs(real - x[:3]).max())
    assert worst < 2e-3
    assert np.abs(x[:3]).max() < 0.005  # and it settles: within 5 mm after 2 s


def test_the_lqr_flies_the_tasks():
    """Hover from the ground within 0.10 m in under 1.5 s, track the circle under 0.05 m
    RMS, land under 0.5 m/s (seed 1000 each)."""
    metrics = {}
    for env_id in ("QuadHover-v0", "QuadTrack-v0", "QuadLand-v0"):
        env = gym.make(env_id)
        (episode,) = score(env, quadgym.make_algo("lqr", env), [1000])
        metrics[env_id] = episode.metrics
    assert metrics["QuadHover-v0"]["time_to_target"] < 1.5
    assert metrics["QuadHover-v0"]["final_error"] < 0.01
    assert metrics["QuadTrack-v0"]["rms_error"] < 0.05
    assert metrics["QuadLand-v0"]["landed"] == 1.0


def test_the_lqr_needs_rpm_actions():
    with pytest.raises(ValueError, match="lqr sets motor speeds: it needs action_type='rpm'"):
        quadgym.make_algo("lqr", gym.make("QuadHover-v0", action_type="pid"))
