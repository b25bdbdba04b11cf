"""Onboard cameras: the camera looks where the drone looks (hand-computed pixels, depths and
horizon slopes), drones see each other and never themselves, ray casts agree with
getCameraImage, frames are held between captures, and bad camera arguments are refused
before anything is built."""

import math

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import parallel_api_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from quadgym.envs.quad.config import QuadConfig
from quadgym.envs.quad.sensors.camera import CameraModel, Cameras, parse_obs_type
from quadgym.envs.quad.sim.dynamics import State, euler_to_quat
from quadgym.envs.quad.sim.scene import (
    SEG_GROUND,
    SEG_NOTHING,
    SEG_TARGET,
    Scene,
    add_target,
    cylinder_mesh,
    sphere_mesh,
)
from quadgym.envs.quad.sim.world import World
from quadgym.envs.quad.single import QuadHoverEnv
from quadgym.registry import make_parallel_env


def _world(cf2x, poses, target=None, obstacles=None):
    """A world of drones at ``poses`` [(x, y, z, roll, pitch, yaw)], the target sphere
    (radius 0.1 m) at ``target`` and fixed ``obstacles``; returns (world, state)."""
    a = np.array(poses, dtype=float)
    world = World(cf2x, len(a))
    if target is not None:
        body = add_target(world, 0.1)
    if obstacles is not None:
        Scene(world, obstacles)
    state = State.at_rest(a[:, :3])
    state.quat = euler_to_quat(a[:, 3:])
    world.reset(state)
    if target is not None:
        world.place(body, np.array(target, dtype=float))
    return world, state


def _centre(model):
    """The pixel whose ray is the optical axis (TinyRenderer samples a pixel's lower-left
    corner: x = 2c/W − 1 = 0, y = 1 − 2(r + 1)/H = 0)."""
    return model.height // 2 - 1, model.width // 2


@pytest.mark.parametrize("renderer", ["tiny", "rays"])
def test_a_target_straight_ahead_is_at_the_image_centre(cf2x, renderer):
    """Sphere of radius 0.1 m, centre 1.0 m ahead: the centre pixel sees it at depth 0.9 m."""
    world, state = _world(cf2x, [(0, 0, 1, 0, 0, 0)], target=(1.0, 0.0, 1.0))
    model = CameraModel(64, 48)
    images = Cameras(world, model, ("depth", "seg"), renderer).capture(state)
    r, c = _centre(model)
    assert images["seg"][0, r, c, 0] == SEG_TARGET
    assert images["depth"][0, r, c, 0] == pytest.approx(0.9, rel=0.01)
    # the sphere's pixels are centred on the axis: their mean column and row lie
    # within a pixel of the centre sample (c, r + 0.5 between the two middle rows)
    rows, cols = np.nonzero(images["seg"][0, :, :, 0] == SEG_TARGET)
    assert abs(cols.mean() - c) <= 1.0 and abs(rows.mean() - (r + 0.5)) <= 1.0
    # yawed 90° left, the same drone sees it no more; the target moves with the body
    world2, state2 = _world(cf2x, [(0, 0, 1, 0, 0, math.pi / 2)], target=(1.0, 0.0, 1.0))
    assert SEG_TARGET not in Cameras(world2, model, ("seg",), renderer).capture(state2)["seg"]
    world.close()
    world2.close()


@pytest.mark.parametrize("roll", [0.2, -0.35])
def test_rolling_the_drone_rolls_the_horizon(cf2x, roll):
    """The ground's far edge is parallel to the horizon: its slope in the image, rows per
    column, is −tan(roll) (hand-derived in the camera frame; square pixels)."""
    world, state = _world(cf2x, [(0, 0, 1, roll, 0, 0)])
    model = CameraModel(128, 96)
    seg = Cameras(world, model, ("seg",)).capture(state)["seg"][0, :, :, 0]
    first_ground = np.argmax(seg == SEG_GROUND, axis=0)  # first ground row of each column
    cols = np.arange(model.width)
    slope = np.polyfit(cols, first_ground, 1)[0]
    assert slope == pytest.approx(-math.tan(roll), abs=0.02)
    world.close()


def test_pitching_down_shows_more_ground_by_the_hand_computed_rows(cf2x):
    """At 1 m, pitched nose-down by θ: the ray of image height v (units of tan) drops
    sin θ − v·cos θ per metre of depth, so it meets the ground iff that is positive, at
    depth 1 / drop; the centre column shows ground where that depth is within the far
    plane. Counted against the seg image, ±1 row."""
    model = CameraModel(64, 48, 60.0, 0.1, 20.0)
    _, tv = model.tan_half
    v = (1 - 2 * (np.arange(model.height) + 1) / model.height) * tv  # each row's sample
    counts = []
    for pitch in (0.0, 0.3):
        world, state = _world(cf2x, [(0, 0, 1, 0, pitch, 0)])
        seg = Cameras(world, model, ("seg",)).capture(state)["seg"][0, :, model.width // 2, 0]
        drop = math.sin(pitch) - v * math.cos(pitch)
        depth = np.where(drop > 0, 1.0 / np.maximum(drop, 1e-12), np.inf)
        expected = int(np.sum((drop > 0) & (depth <= model.far)))
        got = int(np.sum(seg == SEG_GROUND))
        assert abs(got - expected) <= 1, (pitch, got, expected)
        counts.append(got)
        world.close()
    assert counts[1] > counts[0] + 5  # 0.3 rad down: ~7 more rows of ground


def test_a_drone_in_front_shows_with_its_id_and_no_drone_sees_itself(cf2x):
    world, state = _world(cf2x, [(0, 0, 1, 0, 0, 0), (0.5, 0, 1, 0, 0, 0)])
    model = CameraModel(64, 48)
    seg = Cameras(world, model, ("seg",)).capture(state)["seg"][:, :, :, 0]
    r, c = _centre(model)
    assert seg[0, r, c] == 3 + 1  # drone 1, 0.5 m in front of drone 0
    assert 3 not in seg[0] and 3 + 1 not in seg[1]  # neither sees its own body
    assert 3 not in seg[1]  # drone 0 is behind drone 1
    world.close()
    # looking straight down or up, a drone's own body stays beyond its near plane
    world, state = _world(cf2x, [(0, 0, 1, 0, 0, 0)])
    for tilt in (90.0, -90.0, 45.0):
        seg = Cameras(world, CameraModel(32, 24, tilt=tilt), ("seg",)).capture(state)["seg"]
        assert 3 not in seg
    world.close()


def test_the_swarm_gives_each_agent_its_own_view_and_drones_see_each_other():
    env = make_parallel_env(
        "quad_swarm_v0",
        num_drones=2,
        formation=[[0.0, 0.0, 1.0], [0.5, 0.0, 1.0]],
        obs_type="kin+seg",
        start_xy_noise=0.0,
    )
    obs, _ = env.reset(seed=0)
    model = env.config.camera
    r, c = _centre(model)
    # on the ground, level, facing +x: drone_0 sees drone_1 (id 4) straight ahead
    assert obs["drone_0"]["seg"][r, c, 0] == 4
    assert 3 not in obs["drone_0"]["seg"] and 4 not in obs["drone_1"]["seg"]
    assert obs["drone_0"]["kin"].shape == env.observation_space("drone_0")["kin"].shape
    env.close()


def test_ray_casts_agree_with_get_camera_image(cf2x):
    """Depth within 1 % on the pixels both renderers hit (every ground and obstacle pixel,
    and >= 99 % of all: the sphere's silhouette is tessellated), segmentation identical
    on >= 99 % of pixels, at both benchmark sizes, tilted and rolled."""
    obstacles = (
        ("box", (0.2, 0.3, 0.5), (2.0, 0.8)),
        ("cylinder", (0.1, 0.6), (1.5, -0.6)),
        ("box", (0.5, 0.1, 0.2), (4.0, -1.0)),
    )
    world, state = _world(cf2x, [(0, 0, 1, 0.1, 0.15, 0.05)], (1.2, 0.2, 0.8), obstacles)
    for width, height in ((64, 48), (128, 96)):
        model = CameraModel(width, height, tilt=10.0)
        tiny = Cameras(world, model, ("depth", "seg"), "tiny").capture(state)
        rays = Cameras(world, model, ("depth", "seg"), "rays").capture(state)
        sa, sb = tiny["seg"][0, ..., 0], rays["seg"][0, ..., 0]
        assert (sa == sb).mean() >= 0.99
        assert {1, 2, 4, 5, 6} <= set(np.unique(sa))  # ground, target, the three obstacles
        da, db = tiny["depth"][0, ..., 0], rays["depth"][0, ..., 0]
        both = (sa == sb) & (sa != SEG_NOTHING)
        rel = np.abs(da - db) / db
        assert (rel[both] < 0.01).mean() >= 0.99
        flat = both & (sa != SEG_TARGET)  # ground, boxes and the 48-sided cylinder
        assert rel[flat].max() < 0.01
        assert np.all(db[sb == SEG_NOTHING] == model.far)  # far where nothing is hit
    world.close()


def test_same_seed_same_images_and_frames_are_held_between_captures():
    kw = dict(obs_type="rgb+depth", camera_hz=10, start_height=0.5, action_type="pid")
    a, b = gym.make("QuadHover-v0", **kw), gym.make("QuadHover-v0", **kw)
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    frames, fresh = [oa], None
    for k in range(4):
        act = np.array([0.5, 0.0, 0.3], dtype=np.float32)
        oa, *_ = a.step(act)
        ob, *_ = b.step(act)
        for part in ("rgb", "depth"):
            np.testing.assert_array_equal(oa[part], ob[part])
        frames.append(oa)
        if k == 2:  # step 3: what the camera sees now
            fresh = a.unwrapped._observer.cameras.capture(a.unwrapped._state)
    # 30 Hz control, 10 Hz camera: steps 1 and 2 hold the reset's frame, step 3 is new
    for k in (1, 2):
        np.testing.assert_array_equal(frames[k]["rgb"], frames[0]["rgb"])
    np.testing.assert_array_equal(frames[3]["rgb"], fresh["rgb"][0])
    assert not np.array_equal(frames[3]["rgb"], frames[0]["rgb"])  # it flew
    np.testing.assert_array_equal(frames[4]["rgb"], frames[3]["rgb"])
    a.close()
    b.close()


def test_dyn_physics_images_follow_the_drone():
    env = gym.make("QuadHover-v0", physics="dyn", obs_type="depth", start_height=1.0)
    first, _ = env.reset(seed=0)
    for _ in range(10):
        obs, *_ = env.step(np.full(4, 0.3, dtype=np.float32))  # climb
    model = env.unwrapped.config.camera
    # higher up, the ground in the bottom row lies farther along the axis
    assert obs[-1, model.width // 2, 0] > first[-1, model.width // 2, 0] * 1.05
    env.close()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(camera_width=0), "camera_width"),
        (dict(camera_height=5000), "camera_height"),
        (dict(camera_fov=0.0), "camera_fov"),
        (dict(camera_fov=180.0), "camera_fov"),
        (dict(camera_fov=float("nan")), "camera_fov"),
        (dict(camera_near=2.0, camera_far=1.0), "camera_near"),
        (dict(camera_far=5000.0), "camera_far"),
        (dict(camera_near=0.05, obs_type="rgb"), "inside the cf2x's own body"),
        (dict(camera_hz=7), "camera_hz=7 does not divide control_hz=30"),
        (dict(camera_hz=60), "camera_hz"),
        (dict(camera_tilt=91.0), "camera_tilt"),
        (dict(obs_type="kin+lidar"), "obs_type"),
        (dict(obs_type="rgb+rgb"), "obs_type"),
        (dict(camera_renderer="opengl"), "camera_renderer"),
    ],
)
def test_bad_camera_arguments_are_refused_before_anything_is_built(kwargs, match, forbid):
    forbid((pybullet, "connect"))
    with pytest.raises(ValueError, match=match):
        QuadHoverEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        make_parallel_env("quad_swarm_v0", **kwargs)


def test_the_camera_model_refuses_what_the_config_would():
    for bad in (dict(width=0), dict(fov=180.0), dict(near=1.0, far=1.0), dict(tilt=-91.0)):
        with pytest.raises(ValueError, match="camera"):
            CameraModel(**bad)
    assert parse_obs_type("obs_type", "seg+kin+rgb") == "kin+rgb+seg"
    assert QuadConfig(obs_type="depth+kin").image_parts == ("depth",)
    with pytest.raises(TypeError, match="obs_type"):
        parse_obs_type("obs_type", 3)


def test_the_vector_backend_refuses_images_naming_the_envs_that_have_them():
    with pytest.raises(ValueError, match="QuadHover-v0.*quad_swarm_v0"):
        gym.make_vec("QuadHover-v0", num_envs=2, obs_type="kin+rgb")


def test_the_projection_and_depth_are_pybullets():
    model = CameraModel(80, 40, 75.0, 0.2, 30.0)
    client = pybullet.connect(pybullet.DIRECT)
    ref = pybullet.computeProjectionMatrixFOV(75.0, 2.0, 0.2, 30.0, physicsClientId=client)
    view = pybullet.computeViewMatrix([1, 2, 3], [2, 2, 3], [0, 0, 1], physicsClientId=client)
    pybullet.disconnect(client)
    np.testing.assert_allclose(model.projection(), ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.views(np.array([[1.0, 2, 3]]), np.eye(3)[None])[0], view)
    # z-buffer 0 is the near plane, 1 the far plane
    np.testing.assert_allclose(model.linear_depth(np.array([0.0, 1.0])), [0.2, 30.0], rtol=1e-6)


@pytest.mark.parametrize("obs_type", ["rgb", "kin+depth", "seg", "kin+rgb+depth+seg"])
def test_image_observations_pass_the_checkers(obs_type):
    gym_check_env(gym.make("QuadHover-v0", obs_type=obs_type).unwrapped, skip_render_check=True)
    sb3_check_env(gym.make("QuadHover-v0", obs_type=obs_type), warn=False)


def test_the_swarm_with_images_passes_the_pettingzoo_api_test():
    parallel_api_test(
        make_parallel_env("quad_swarm_v0", num_drones=2, obs_type="kin+rgb"), num_cycles=20
    )


def test_the_egl_renderer_where_this_machine_has_egl(cf2x):
    """EGL (PyBullet's hardware OpenGL plugin) is for machines with a GPU; here it may run
    on Mesa's software rasteriser or not at all. Where it loads, its segmentation matches
    TinyRenderer's on most pixels (OpenGL samples pixel centres, TinyRenderer corners)."""
    world, state = _world(cf2x, [(0, 0, 1, 0, 0.2, 0)], target=(1.0, 0.0, 0.8))
    model = CameraModel(32, 24)
    try:
        egl = Cameras(world, model, ("seg",), "egl").capture(state)["seg"]
    except RuntimeError as err:
        world.close()
        pytest.skip(f"no EGL here: {err}")
    tiny = Cameras(world, model, ("seg",), "tiny").capture(state)["seg"]
    assert (egl == tiny).mean() >= 0.9
    world.close()


def test_round_visuals_are_fine_meshes_within_their_stated_error(cf2x):
    """Vertices on the surface; flat faces at most 1.8 % (sphere, 320 triangles) and
    1 − cos(π/48) = 0.214 % (cylinder side) of the radius inside it."""
    v, idx, n = (np.array(x, dtype=float) for x in sphere_mesh(2.0))
    tri = idx.astype(int).reshape(-1, 3)
    assert len(tri) == 320
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 2.0)
    np.testing.assert_allclose(n, v / 2.0)
    inner = np.linalg.norm(v[tri].mean(axis=1), axis=1) / 2.0  # face centroids
    assert 1 - 0.018 <= inner.min() < 1 - 0.015  # the claim is tight
    v, idx, _ = (np.array(x, dtype=float) for x in cylinder_mesh(0.5, 1.0))
    side = np.hypot(v[:, 0], v[:, 1])
    assert side.max() == pytest.approx(0.5) and np.abs(v[:, 2]).max() == pytest.approx(1.0)
    tri = idx.astype(int).reshape(-1, 3)
    mids = (v[tri[:, 0]] + v[tri[:, 1]]) / 2  # side triangles' first edge: a rim chord
    rim = np.hypot(mids[:96, 0], mids[:96, 1])
    assert rim.min() == pytest.approx(0.5 * math.cos(math.pi / 48), rel=1e-9)
    world = World(cf2x, 1)
    for bad in ([("cone", (1.0,), (0, 0, 0))], [("box", (1, 1), (0, 0, 0))]):
        with pytest.raises(ValueError, match="kinds and sizes"):
            world.add_body(bad)
    with pytest.raises(ValueError, match="that one shape"):
        world.add_body([("sphere", (0.1,), (0, 0, 0)), ("box", (1, 1, 1), (0, 0, 0))])
    world.close()
