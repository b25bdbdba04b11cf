"""The task suite beyond hover: QuadTrack-v0 and QuadLand-v0. Each rule against a
hand-built situation, the ecosystem's checkers, the vector lanes against the single
env, bad options, and the PID baseline on each."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import parallel_api_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from twins import start_lanes_like

import quadgym
from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.tasks.land import LandOptions
from quadgym.envs.quad.tasks.track import TRAJECTORIES, TrackOptions

QUIET = {"start_xy_noise": 0.0, "start_yaw_noise": 0.0}


def judge(env, state, steps=10):
    """The task's verdict on ``state`` after ``steps`` steps of the env's episode."""
    u = env.unwrapped
    n = len(state)
    goal = u.task.goal(u.target, np.full(n, steps))
    prev_vz = state.vel[:, 2].copy()
    return u.task.judge(state, goal, prev_vz, u.world.rest_height, np.full(n, steps), u.max_steps)


# ------------------------------------------------------------------ tracking


@pytest.mark.parametrize("trajectory", TRAJECTORIES)
@pytest.mark.parametrize("action_type", ["rpm", "vel", "attitude"])
def test_track_passes_the_checkers(trajectory, action_type):
    kwargs = {"trajectory": trajectory, "action_type": action_type}
    gym_check_env(gym.make("QuadTrack-v0", **kwargs).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make("QuadTrack-v0", **kwargs), warn=False)


def test_circle_and_figure8_by_hand():
    """circle: c + r(cos θ, sin θ, 0); figure8: c + r(sin θ, sin θ cos θ, 0); θ = 2πt/T."""
    c = np.array([[0.0, 0.0, 1.0]])
    for name, at in (
        ("circle", lambda th: [math.cos(th), math.sin(th), 0.0]),
        ("figure8", lambda th: [math.sin(th), math.sin(th) * math.cos(th), 0.0]),
    ):
        task = gym.make("QuadTrack-v0", trajectory=name, radius=0.7, period=5.0).unwrapped.task
        for t in (0.0, 1.3, 2.5, 5.0):
            theta = 2 * math.pi * t / 5.0
            want = c[0] + 0.7 * np.array(at(theta))
            np.testing.assert_allclose(task.reference(c, np.array([t]))[0], want, atol=1e-12)


def test_spline_is_seeded_closed_and_smooth():
    """Same seed, same curve; another seed, another; one lap closes the loop; the
    curve and its velocity are continuous at the knots (a C² B-spline)."""

    def curve(seed, times):
        env = gym.make("QuadTrack-v0", trajectory="spline", knots=5, period=5.0, **QUIET)
        env.reset(seed=seed)
        u = env.unwrapped
        return u.task.reference(
            np.repeat(u.target, len(times), 0), times, np.zeros(len(times), int)
        )

    t = np.linspace(0.0, 5.0, 501)
    a, b, other = curve(3, t), curve(3, t), curve(4, t)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - other).max() > 0.05
    np.testing.assert_allclose(a[0], a[-1], atol=1e-12)
    eps = 1e-7
    for knot in np.arange(1, 5) * 1.0:  # one knot per second
        left, right = curve(3, np.array([knot - eps, knot + eps]))
        assert np.abs(left - right).max() < 1e-5
        v = curve(3, np.array([knot - 2 * eps, knot - eps, knot + eps, knot + 2 * eps]))
        v_left, v_right = (v[1] - v[0]) / eps, (v[3] - v[2]) / eps
        np.testing.assert_allclose(v_left, v_right, atol=1e-3)


def test_track_start_reward_and_lookahead():
    """The drone starts at rest on the reference's start; exactly on the reference it
    gets the maximum reward 1, 0.25 m off it 1 − 0.25/0.5; the observation's extra
    entries are the next reference points relative to the drone."""
    env = gym.make("QuadTrack-v0", radius=0.5, lookahead=2, lookahead_dt=0.5, **QUIET)
    obs, _ = env.reset(seed=0)
    u = env.unwrapped
    np.testing.assert_allclose(u.world.get_state().pos[0], u.target[0] + [0.5, 0, 0], atol=1e-12)
    assert obs.shape == (18 + 4 + 6,)
    for k, seconds in enumerate((0.5, 1.0)):
        theta = 2 * math.pi * seconds / 8.0
        ahead = [0.5 * math.cos(theta) - 0.5, 0.5 * math.sin(theta), 0.0]
        np.testing.assert_allclose(obs[22 + 3 * k : 25 + 3 * k], ahead, atol=1e-6)
    on = State.at_rest(u.task.goal(u.target, np.array([10])))
    reward, ended, info = judge(env, on)
    assert reward[0] == 1.0 and not ended[0] and info["position_error"][0] == 0.0
    off = State.at_rest(on.pos + [0.0, 0.25, 0.0])
    assert judge(env, off)[0][0] == pytest.approx(0.5)
    assert judge(env, State.at_rest(on.pos + [0.0, 2.5, 0.0]))[1][0]  # out of the box


def test_the_pid_tracks_every_curve_within_five_centimetres():
    """The control baseline on one lap of each curve (rpm actions, 5 seeds): RMS
    tracking error under 0.05 m, no crash (measured 0.018-0.040 m)."""
    for trajectory in TRAJECTORIES:
        for seed in range(5):
            env = gym.make("QuadTrack-v0", trajectory=trajectory)
            agent = quadgym.make_algo("pid", env)
            obs, _ = env.reset(seed=seed)
            agent.reset()
            errors = []
            for _ in range(240):
                obs, _, term, _, info = env.step(agent.act(obs))
                assert not term
                errors.append(info["position_error"])
            assert math.sqrt(np.mean(np.square(errors))) < 0.05, (trajectory, seed)


# ------------------------------------------------------------------- landing


@pytest.mark.parametrize("action_type", ["rpm", "one_d_pid", "vel", "attitude"])
def test_land_passes_the_checkers(action_type):
    gym_check_env(
        gym.make("QuadLand-v0", action_type=action_type).unwrapped, skip_render_check=True
    )
    sb3_check_env(gym.make("QuadLand-v0", action_type=action_type), warn=False)


def test_land_start_and_touchdown_rules():
    """Start: height above the pad, within the offset. A slow touchdown on the pad
    lands (and earns the steps left); too fast, or off the pad, fails; faster than
    1 m/s is also a crash."""
    env = gym.make("QuadLand-v0", height=0.8, offset=0.2, **QUIET)
    env.reset(seed=0)
    u = env.unwrapped
    s0 = u.world.get_state()
    rest = u.world.rest_height
    assert s0.pos[0, 2] == pytest.approx(rest + 0.8)
    assert np.abs(s0.pos[0, :2] - u.target[0, :2]).max() <= 0.2
    pad = np.array([[u.target[0, 0], u.target[0, 1], rest]])

    def touch(dx, vz, steps=90):
        s = State.at_rest(pad + [dx, 0.0, 0.001])
        s.vel[:, 2] = vz
        return judge(env, s, steps)

    reward, ended, info = touch(0.05, -0.3)
    assert ended[0] and info["landed"][0] and not info["crashed"][0]
    assert info["touchdown_speed"][0] == pytest.approx(0.3)
    dist = math.hypot(0.05, 0.001)
    assert reward[0] == pytest.approx(1 - dist / 2 + (u.max_steps - 90))
    assert info["credited_steps"][0] == u.max_steps - 90
    reward, ended, info = touch(0.05, -0.7)  # too fast for a landing
    assert ended[0] and not info["landed"][0] and not info["crashed"][0]
    assert reward[0] < 1.0 and info["credited_steps"][0] == 0
    _, ended, info = touch(0.15, -0.2)  # off the pad (radius 0.1 m)
    assert ended[0] and not info["landed"][0]
    _, ended, info = touch(0.0, -1.2)  # an impact
    assert ended[0] and info["crashed"][0] and not info["landed"][0]
    above = State.at_rest(pad + [0.0, 0.0, 0.3])
    _, ended, info = judge(env, above)
    assert not ended[0] and not info["touchdown"][0] and info["touchdown_speed"][0] == 0.0


@pytest.mark.parametrize("action_type", ["rpm", "pid", "vel", "attitude"])
def test_the_pid_lands_softly(action_type):
    """The control baseline lands on every one of 5 seeds, under 0.1 m/s."""
    for seed in range(5):
        env = gym.make("QuadLand-v0", action_type=action_type)
        agent = quadgym.make_algo("pid", env)
        obs, _ = env.reset(seed=seed)
        agent.reset()
        for _ in range(240):
            obs, _, term, trunc, info = env.step(agent.act(obs))
            if term or trunc:
                break
        assert info["landed"] and info["touchdown_speed"] < 0.1, (action_type, seed, info)


# -------------------------------------------------------------- every face


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("QuadTrack-v0", {"trajectory": "spline"}),
        ("QuadTrack-v0", {"trajectory": "figure8", "action_type": "pid"}),
        ("QuadLand-v0", {"action_type": "vel"}),
    ],
)
def test_vector_lanes_equal_the_single_env_in_dyn(env_id, kwargs):
    """Lane 2 of the batched backend, given the single env's start (and its episode's
    draws, for the spline), runs the same episode to 1e-12."""
    single = gym.make(env_id, physics="dyn", **kwargs).unwrapped
    n, lane = 4, 2
    envs = gym.make_vec(env_id, num_envs=n, physics="dyn", **kwargs)
    start_lanes_like(single, envs, n)
    if getattr(single.task, "_knots", None) is not None:  # the spline the single env drew
        envs.unwrapped.task._knots[:] = single.task._knots
    rng = np.random.default_rng(0)
    for _ in range(60):
        act = rng.uniform(-0.3, 0.3, size=(n, single.task.act_dim)).astype(np.float32)
        obs, r, term, _, _ = single.step(act[lane])
        vobs, vr, vterm, _, _ = envs.step(act)
        np.testing.assert_allclose(vobs[lane], obs, rtol=0, atol=1e-12)
        assert vr[lane] == pytest.approx(r, abs=1e-12) and vterm[lane] == term
        if term:
            break


@pytest.mark.parametrize("task", ["track", "land"])
def test_the_swarm_takes_every_task(task):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(quad_swarm_v0.parallel_env(num_drones=3, task=task), num_cycles=40)


@pytest.mark.parametrize(
    "env_id, kwargs, error, message",
    [
        ("QuadTrack-v0", {"trajectory": "square"}, ValueError, "trajectory must be one of"),
        ("QuadTrack-v0", {"radius": float("nan")}, ValueError, "radius"),
        ("QuadTrack-v0", {"radius": 0.0}, ValueError, "radius"),
        ("QuadTrack-v0", {"lookahead": -1}, ValueError, "lookahead"),
        ("QuadTrack-v0", {"periode": 4.0}, ValueError, "did you mean 'period'"),
        ("QuadTrack-v0", {"knots": 2, "trajectory": "spline"}, ValueError, "knots"),
        ("QuadLand-v0", {"max_touchdown_speed": -1.0}, ValueError, "max_touchdown_speed"),
        ("QuadLand-v0", {"height": "high"}, TypeError, "height"),
        ("QuadHover-v0", {"radius": 1.0}, TypeError, "takes no options"),
        ("QuadHover-v0", {"task": "fly"}, ValueError, "task must be one of"),
    ],
)
def test_bad_task_options_are_refused_before_anything_is_built(
    forbid, env_id, kwargs, error, message
):
    import pybullet

    forbid((pybullet, "connect"))
    with pytest.raises(error, match=message):
        gym.make(env_id, **kwargs)


def test_options_are_kept_as_typed_configs():
    env = gym.make("QuadTrack-v0", trajectory="figure8", radius=0.3)
    assert env.unwrapped.task_options == TrackOptions(trajectory="figure8", radius=0.3)
    assert gym.make("QuadLand-v0").unwrapped.task_options == LandOptions()
    assert gym.make("QuadHover-v0").unwrapped.task_options is None


def test_a_pickled_env_is_a_fresh_env_of_the_same_arguments():
    import pickle

    env = gym.make("QuadTrack-v0", trajectory="spline", radius=0.4)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.unwrapped.config == env.unwrapped.config
    assert copy.unwrapped.task_options == env.unwrapped.task_options
    assert copy.unwrapped.world.client != env.unwrapped.world.client
    np.testing.assert_array_equal(copy.reset(seed=2)[0], env.reset(seed=2)[0])


def test_control_effort_is_the_integral_of_the_squared_motor_speeds():
    """Every task's ``effort``: Σ_i (ω_i/ω_h)² dt per drone; hovering in place for 1 s at
    the hover speed scores 4 (four motors), within the LQR's tiny corrections."""
    from quadgym.evaluation import score

    env = gym.make(
        "QuadHover-v0",
        physics="dyn",
        episode_seconds=1.0,
        **QUIET,
        start_height=1.0,
        target=[0, 0, 1.0],
    )
    (episode,) = score(env, quadgym.make_algo("lqr", env), [0])
    assert episode.metrics["effort"] == pytest.approx(4.0, rel=1e-3)
    assert env.unwrapped.task.metric_goals["effort"] == "min"
