"""QuadVisualReach-v0: the target is drawn in view (where the camera model puts it), hidden
from the kinematics, reached within 0.2 m for the telescoped reward plus the bonus; the
scene loads once; options are checked; the checkers pass."""

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from quadgym.envs.quad.sim.dynamics import quat_to_rot
from quadgym.envs.quad.sim.scene import SEG_TARGET
from quadgym.envs.quad.tasks.visual_reach import PROGRESS, SUCCESS_BONUS


def _project(env, point):
    """(row, col) where the camera of the drone at its current state sees ``point``,
    in the pixel grid of TinyRenderer's samples (pixel (r, c) at x = 2c/W − 1,
    y = 1 − 2(r + 1)/H), by hand from the camera model."""
    model = env.config.camera
    axes = quat_to_rot(env._state.quat)[0] @ model.mount()  # forward, right, up
    rel = axes.T @ (np.asarray(point) - env._state.pos[0])
    th, tv = model.tan_half
    x, y = rel[1] / rel[0] / th, rel[2] / rel[0] / tv
    return (1 - y) * model.height / 2 - 1, (x + 1) * model.width / 2


def test_the_target_is_drawn_in_view_where_the_camera_model_puts_it():
    env = gym.make("QuadVisualReach-v0", obs_type="kin+seg")
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        task, inner = env.unwrapped.task, env.unwrapped
        dist = np.linalg.norm(task.targets[0] - inner._state.pos[0])
        assert 0.5 <= dist <= 1.5
        rows, cols = np.nonzero(obs["seg"][:, :, 0] == SEG_TARGET)
        assert rows.size >= 9  # a sphere of 0.1 m at <= 1.5 m: at least 3 x 3 pixels
        r, c = _project(inner, task.targets[0])
        assert abs(rows.mean() - r) < 1.0 and abs(cols.mean() - c) < 1.0, seed
        assert 0 < r < 47 and 0 < c < 63
    env.close()


def test_the_target_is_hidden_from_the_kinematics_unless_asked_for():
    hidden = gym.make("QuadVisualReach-v0", obs_type="kin")
    shown = gym.make("QuadVisualReach-v0", obs_type="kin", target_in_obs=True)
    a, _ = hidden.reset(seed=4)
    b, _ = shown.reset(seed=4)
    assert a.shape == (18 + 3,) and b.shape == (18 + 3 + 3,)
    np.testing.assert_array_equal(a, b[:21])  # the same episode, the same kinematics
    np.testing.assert_allclose(a[:3], 0.0)  # start point − position, at the start
    task, state = shown.unwrapped.task, shown.unwrapped._state
    np.testing.assert_allclose(b[21:], task.targets[0] - state.pos[0], atol=1e-6)
    # another seed moves the target, not the hidden kinematics' meaning
    c, _ = hidden.reset(seed=5)
    np.testing.assert_allclose(c[:3], 0.0)
    hidden.close()
    shown.close()


def test_reaching_the_target_pays_the_telescoped_progress_and_the_bonus():
    env = gym.make("QuadVisualReach-v0", obs_type="kin")
    _, first = env.reset(seed=2)
    task = env.unwrapped.task
    start = env.unwrapped._state.pos[0].copy()
    d0 = float(np.linalg.norm(task.targets[0] - start))
    assert first["position_error"] == pytest.approx(d0)  # to the target, as the steps
    setpoint = (task.targets[0] - start) / task.pid_range  # the oracle's constant action
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(setpoint.astype(np.float32))
        total += reward
        steps += 1
        if terminated or truncated:
            break
    assert terminated and not truncated and info["reached"] and not info["crashed"]
    assert info["position_error"] <= 0.2
    assert total == pytest.approx(PROGRESS * (d0 - info["position_error"]) + SUCCESS_BONUS)
    metrics = task.summarize([{**info, "reached": False}] * (steps - 1) + [info])
    assert metrics["reached"] == 1.0 and metrics["time_to_reach"] == pytest.approx(steps / 15)
    env.close()


def test_hovering_at_the_start_runs_out_the_clock_and_leaving_the_box_ends_it():
    env = gym.make("QuadVisualReach-v0", obs_type="kin")
    env.reset(seed=1)
    truncations = []
    for _ in range(60):  # 4 s at 15 Hz, holding the start point
        _, _, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        assert not terminated
        truncations.append(truncated)
    assert truncations == [False] * 59 + [True] and not info["reached"]
    env.close()
    env = gym.make("QuadVisualReach-v0", obs_type="kin", box=0.3)
    env.reset(seed=1)
    for _ in range(60):  # a set-point 2 m behind: out of the 0.3 m box
        _, _, terminated, truncated, info = env.step(np.array([-1, 0, 0], dtype=np.float32))
        if terminated or truncated:
            break
    assert terminated and info["crashed"] and not info["reached"]
    env.close()


def test_the_scene_loads_once_and_presets_stand_off_the_heading(monkeypatch):
    env = gym.make("QuadVisualReach-v0", obs_type="kin", obstacles="pillars")
    loads = []
    real = pybullet.createMultiBody
    monkeypatch.setattr(
        pybullet, "createMultiBody", lambda *a, **k: loads.append(1) or real(*a, **k)
    )
    inner = env.unwrapped
    cid = inner.world.client
    placed = []
    for seed in (0, 1, 0):
        env.reset(seed=seed)
        start = inner._state.pos[0]
        heading = np.arctan2(*quat_to_rot(inner._state.quat)[0, [1, 0], 0])
        spots = []
        for body in inner.task.scene.bodies:
            pos, _ = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
            rel = np.asarray(pos[:2]) - start[:2]
            bearing = (np.arctan2(rel[1], rel[0]) - heading) % (2 * np.pi)
            assert 2.0 - 1e-9 <= np.hypot(*rel) <= 3.5 + 1e-9
            assert np.pi / 3 - 1e-9 <= bearing <= 5 * np.pi / 3 + 1e-9  # never ahead
            spots.append(pos)
        placed.append(spots)
    np.testing.assert_allclose(placed[2], placed[0])  # seed 0 again: the same places
    assert np.abs(np.subtract(placed[1], placed[0])).max() > 0.1  # seed 1: elsewhere
    assert loads == []  # target and 4 pillars made with the env, never again
    env.close()


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(distance=(0.05, 1.0)), "inside the target"),
        (dict(distance=(1.5, 0.5)), "distance"),
        (dict(spread=1.0), "spread"),
        (dict(obstacles="forest"), "unknown obstacles preset 'forest'"),
        (dict(obstacles=[("cone", (1, 1), (0, 0))]), "unknown kind 'cone'"),
        (dict(obstacles=[("box", (1, 1), (0, 0))]), "half extents"),
        (dict(num_drones=2), "one drone"),
        (dict(dstance=(0.5, 1.0)), "did you mean 'distance'"),
    ],
)
def test_bad_options_are_refused_before_anything_is_built(options, match, forbid):
    forbid((pybullet, "connect"))
    with pytest.raises(ValueError, match=match):
        gym.make("QuadVisualReach-v0", **options)


def test_fixed_obstacles_stand_where_given():
    env = gym.make(
        "QuadVisualReach-v0",
        obs_type="kin",
        obstacles=[("box", (0.2, 0.2, 0.5), (3.0, 1.0)), ("cylinder", (0.1, 1.0), (-2, 0))],
    )
    env.reset(seed=0)
    inner = env.unwrapped
    where = [
        pybullet.getBasePositionAndOrientation(b, physicsClientId=inner.world.client)[0]
        for b in inner.task.scene.bodies
    ]
    np.testing.assert_allclose(where, [(3.0, 1.0, 0.0), (-2.0, 0.0, 0.0)])
    assert sorted(inner.world.labels[b] for b in inner.task.scene.bodies) == [4, 5]
    env.close()


@pytest.mark.parametrize("kwargs", [{}, dict(obs_type="kin", target_in_obs=True)])
def test_visual_reach_passes_the_checkers(kwargs):
    gym_check_env(gym.make("QuadVisualReach-v0", **kwargs).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make("QuadVisualReach-v0", **kwargs), warn=False)
